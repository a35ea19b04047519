/**
 * A whole web node on loopback from its generated files: nginx + PHP-FPM 8.2 serving the health endpoint and
 * the probe app, with a MariaDB master and replica, a Redis master behind the node-local proxy, and the
 * shared-storage watchdog. Checks the files the daemons accept, and what they do.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { masterInitSql, replicaInitSql } from "../../components/database/initSql";
import { bitrixSettings } from "../../components/web/bitrixSettings";
import { CACHE_ENGINE_REQUIRED_FILE, cacheEngineClass } from "../../components/web/cacheEngine";
import { healthEndpoint } from "../../components/web/healthEndpoint";
import { webNginxConfig } from "../../components/web/nginxConfig";
import { fpmPool, phpIni } from "../../components/web/phpConfig";
import { probeApp } from "../../components/web/probeApp";
import { phpValue } from "../../components/web/phpValue";
import { watchdogScript } from "../../components/web/watchdog";
import { Daemons, portOpen, requireBinary, run, tmpDir, waitFor, write } from "../helpers/daemons";
import { request } from "../helpers/http";
import {
    CLUSTER_MODULE_SQL,
    HOST,
    MariadbNode,
    mariadbSql,
    redisCli,
    startMariadb,
    startRedisNode,
    startRedisProxy,
} from "../helpers/stack";

// Below the kernel's ephemeral range (32768-60999): a client socket of another test can never hold one of them.
const PORTS = { web: 32080, master: 32316, replica: 32317, redis: 32379, proxy: 32390 };
const DB = { database: "bitrix", user: "bitrix", password: "web'pw" };
const REDIS_PASSWORD = "redis-web-pw";
const base = `http://${HOST}:${PORTS.web}`;

/**
 * .settings.php as this program generated it before issue 18 (commit afc3f70): a `slave` connection, the kernel's own
 * CacheEngineRedis with the password and serializer inside `redis`, and the kernel's own Redis session handler.
 */
function oldSettings(redis: { host: string; port: number; password: string }, master: number, replica: number): string {
    const connection = (port: number, readonly: boolean) => ({
        className: "\\Bitrix\\Main\\DB\\MysqliConnection",
        host: `${HOST}:${port}`,
        database: DB.database,
        login: DB.user,
        password: DB.password,
        options: 2,
        ...(readonly ? { readonly: true } : {}),
    });
    const r = { host: redis.host, port: String(redis.port), password: redis.password };
    return `<?php\nreturn ${phpValue({
        utf_mode: { value: true, readonly: true },
        connections: { value: { default: connection(master, false), slave: connection(replica, true) }, readonly: true },
        cache: {
            value: {
                type: { class_name: "\\Bitrix\\Main\\Data\\CacheEngineRedis", extension: "redis" },
                redis: { ...r, serializer: 1, persistent: true },
                sid: "test",
            },
            readonly: false,
        },
        session: { value: { mode: "default", handlers: { general: { type: "redis", ...r } } }, readonly: true },
    })};\n`;
}

describe("web node: generated nginx, PHP-FPM and PHP files", () => {
    const daemons = new Daemons();
    const root = tmpDir("web");
    const docroot = path.join(root, "www");
    const settingsPath = path.join(docroot, "bitrix", ".settings.php");
    const heartbeat = path.join(root, "run", "shared-ok");
    const drainFile = path.join(root, "run", "draining");
    const shared = [path.join(docroot, "upload"), path.join(docroot, "bitrix", "cache")];
    const fpmSocket = path.join(root, "run", "php-fpm.sock");
    const files: Record<string, string> = {};
    const db: Record<string, MariadbNode> = {};
    /** A probe request; its JSON answer with the status. */
    const probe = async (query: string, headers: Record<string, string> = {}, page = "index.php") => {
        // Long enough for a request that waits out the whole session lock wait (10 s).
        const r = await request(`${base}/probe/${page}?${query}`, { headers, timeoutMs: 20_000 });
        return { status: r.status, headers: r.headers, ...JSON.parse(r.body) };
    };

    before(async () => {
        for (const b of ["nginx", "php-fpm8.2", "php8.2", "mariadbd", "redis-server", "haproxy"]) requireBinary(b);
        fs.chmodSync(root, 0o755);
        const master = await startMariadb(daemons, root, "master", {
            role: "master",
            serverId: 1,
            port: PORTS.master,
            initSql: masterInitSql({
                engine: "mariadb",
                database: DB.database,
                appUser: DB.user,
                appPassword: DB.password,
                replicationUser: "replicator",
                replicationPassword: "r",
            }),
        });
        assert.ok(master);
        db.master = master;
        db.replica = await startMariadb(daemons, root, "replica", {
            role: "replica",
            serverId: 2,
            port: PORTS.replica,
            initSql: replicaInitSql({
                engine: "mariadb",
                masterHost: HOST,
                masterPort: PORTS.master,
                replicationUser: "replicator",
                replicationPassword: "r",
            }),
        });
        startRedisNode(daemons, root, { port: PORTS.redis, password: REDIS_PASSWORD, sentinels: [] });
        startRedisProxy(daemons, root, { port: PORTS.proxy, password: REDIS_PASSWORD, nodes: [PORTS.redis] });

        for (const dir of shared) fs.mkdirSync(dir, { recursive: true });
        fs.mkdirSync(path.join(root, "run"), { recursive: true });
        files.settings = write(
            settingsPath,
            bitrixSettings({
                database: DB.database,
                user: DB.user,
                password: DB.password,
                master: { host: HOST, port: PORTS.master },
                redis: { host: HOST, port: PORTS.proxy, password: REDIS_PASSWORD },
                cacheSid: "test",
            }),
        );
        files.health = write(
            path.join(docroot, "healthz.php"),
            healthEndpoint({ settingsPath, heartbeatFile: heartbeat, heartbeatMaxAgeS: 10, checkTimeoutS: 0.2, drainFile }),
        );
        files.probe = write(
            path.join(docroot, "probe", "index.php"),
            probeApp({ settingsPath, uploadDir: path.join(docroot, "upload", "probe"), replicaWaitS: 5, docroot }),
        );
        files.cacheEngine = write(path.join(docroot, "bitrix", CACHE_ENGINE_REQUIRED_FILE), cacheEngineClass());
        // The same probe reading the settings file this program generated before issue 18.
        const oldPath = path.join(root, "old-settings.php");
        write(oldPath, oldSettings({ host: HOST, port: PORTS.proxy, password: REDIS_PASSWORD }, PORTS.master, PORTS.replica));
        write(
            path.join(docroot, "probe", "old.php"),
            probeApp({ settingsPath: oldPath, uploadDir: path.join(docroot, "upload", "probe"), replicaWaitS: 1, docroot }),
        );
        write(path.join(docroot, "upload", "evil.php"), "<?php echo 'executed';");
        write(path.join(docroot, "upload", "photo.txt"), "public");
        write(path.join(docroot, "upload", ".htaccess"), "hidden");
        write(path.join(docroot, "bitrix", "backup", "daily", "dump.sql"), "secret rows");
        write(path.join(docroot, "bitrix", "backup", "full.tar"), "secret archive");
        write(path.join(docroot, "broken.php"), "<?php undefined_function_of_a_broken_page();");
        run("chown", ["-R", "www-data:www-data", docroot]);

        const site = write(
            path.join(root, "nginx", "site.conf"),
            webNginxConfig({
                listenPort: PORTS.web,
                docroot,
                fpmSocket,
                uploadMaxMb: 8,
                trustedProxies: ["127.0.0.0/8"],
                healthPath: "/healthz.php",
                fpmStatusPath: "/fpm-status",
                fpmPingPath: "/fpm-ping",
                // A denied tree and a path inside it as shared paths too: nginx must start, and still refuse them.
                sharedPaths: ["upload", "bitrix/cache", "bitrix/backup", "bitrix/backup/daily"],
            }),
        );
        files.nginx = write(
            path.join(root, "nginx", "nginx.conf"),
            [
                `pid ${root}/run/nginx.pid;`,
                "error_log stderr;",
                "daemon off;",
                "user www-data;",
                "events {}",
                "http {",
                "    include /etc/nginx/mime.types;",
                "    access_log off;",
                `    client_body_temp_path ${root}/run/body;`,
                `    fastcgi_temp_path ${root}/run/fastcgi;`,
                `    include ${site};`,
                "}",
                "",
            ].join("\n"),
        );
        const iniDir = path.join(root, "php", "conf.d");
        write(
            path.join(iniDir, "99-bitrix.ini"),
            phpIni({
                memoryLimitMb: 128,
                maxExecutionS: 30,
                uploadMaxMb: 8,
                timezone: "Europe/Moscow",
                redis: { host: HOST, port: PORTS.proxy, password: REDIS_PASSWORD },
            }),
        );
        const pool = write(
            path.join(root, "php", "pool.conf"),
            fpmPool({
                socket: fpmSocket,
                maxChildren: 4,
                maxExecutionS: 30,
                statusPath: "/fpm-status",
                pingPath: "/fpm-ping",
                slowlogPath: path.join(root, "run", "slow.log"),
            }),
        );
        files.fpm = write(
            path.join(root, "php", "php-fpm.conf"),
            ["[global]", `pid = ${root}/run/php-fpm.pid`, `error_log = ${root}/run/php-fpm.log`, `include = ${pool}`, ""].join("\n"),
        );
        const phpEnv = { PHP_INI_SCAN_DIR: `/etc/php/8.2/fpm/conf.d:${iniDir}` };
        files.phpEnv = JSON.stringify(phpEnv);

        const watchdog = write(
            path.join(root, "watchdog.sh"),
            watchdogScript({ directories: shared, heartbeatFile: heartbeat, intervalS: 1, probeTimeoutS: 2, probeUser: "www-data" }),
            0o755,
        );
        daemons.start("watchdog", watchdog, []);
        daemons.start("php-fpm", "php-fpm8.2", ["-F", "-y", files.fpm], phpEnv);
        daemons.start("nginx", "nginx", ["-c", files.nginx]);
        await waitFor("nginx", () => portOpen(PORTS.web), 20000);
        await waitFor("php-fpm", () => fs.existsSync(fpmSocket), 20000).catch((e) => {
            throw new Error(`${e}\n${daemons.log("php-fpm")}`);
        });
        await waitFor("watchdog heartbeat", () => fs.existsSync(heartbeat), 10000);
        await waitFor("redis proxy", () => redisCli(PORTS.proxy, REDIS_PASSWORD, "PING") === "PONG", 10000);
    });

    after(() => daemons.stopAll());

    it("nginx, PHP-FPM and PHP accept every generated file", () => {
        run("nginx", ["-t", "-q", "-c", files.nginx]);
        run("php-fpm8.2", ["-t", "-y", files.fpm], { env: JSON.parse(files.phpEnv) });
        for (const f of [files.settings, files.health, files.probe, files.cacheEngine])
            assert.match(run("php8.2", ["-l", f]), /No syntax errors/);
        const settings = JSON.parse(run("php8.2", ["-r", `echo json_encode(include '${files.settings}');`]));
        assert.equal(settings.connections.value.default.host, `${HOST}:${PORTS.master}`);
        assert.deepEqual(Object.keys(settings.connections.value), ["default"]);
        assert.deepEqual(settings.session.value, { mode: "default" });
        assert.deepEqual(settings.cache.value.type, {
            class_name: "\\BitrixCluster\\AuthenticatedRedisCache",
            extension: "redis",
            required_file: CACHE_ENGINE_REQUIRED_FILE,
        });
        assert.equal(settings.cache.value.serializer, 1);
    });

    it("runs PHP with the hardened settings: no error display, no version header", async () => {
        const r = await request(`${base}/broken.php`);
        assert.equal(r.status, 500);
        assert.doesNotMatch(r.body, /undefined_function|Fatal error|Stack trace/);
        assert.equal(r.headers["x-powered-by"], undefined);
    });

    it("the health endpoint answers 200 OK when the database, Redis and shared storage are up", async () => {
        const started = Date.now();
        const r = await request(`${base}/healthz.php`);
        console.log(`# health endpoint answered ${r.status} in ${Date.now() - started} ms`);
        assert.equal(r.status, 200);
        assert.equal(r.body, "OK\n");
        assert.equal(r.headers["cache-control"], "no-store");
    });

    it("prints the health endpoint's latency over 200 sequential checks (figures, not a timed assertion)", async () => {
        const times: number[] = [];
        for (let i = 0; i < 200; i++) {
            const started = process.hrtime.bigint();
            const r = await request(`${base}/healthz.php`);
            times.push(Number(process.hrtime.bigint() - started) / 1e6);
            assert.equal(r.status, 200);
        }
        times.sort((a, b) => a - b);
        const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(1);
        console.log(
            `# health endpoint latency over ${times.length} checks: p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms (budget 500 ms)`,
        );
    });

    it("keeps a PHP session in Redis through the proxy", async () => {
        const first = await request(`${base}/probe/?action=session`);
        const cookie = String(first.headers["set-cookie"]).split(";")[0];
        assert.match(String(first.headers["set-cookie"]), /; secure(;|$)/i, "the session cookie is HTTPS-only");
        assert.equal(JSON.parse(first.body).count, 1);
        const second = await request(`${base}/probe/?action=session`, { headers: { Cookie: cookie } });
        assert.equal(JSON.parse(second.body).count, 2);
        const id = cookie.split("=")[1];
        assert.match(redisCli(PORTS.redis, REDIS_PASSWORD, "GET", `PHPREDIS_SESSION:${id}`), /count\|i:2;/);
    });

    it("locks the session: a second request of the same session waits for the first (phpredis, php.ini)", async () => {
        const first = await probe("action=session");
        const cookie = { Cookie: String(first.headers["set-cookie"]).split(";")[0] };
        const started = Date.now();
        const holding = probe("action=session&hold=1500", cookie);
        await new Promise((r) => setTimeout(r, 200));
        const id = cookie.Cookie.split("=")[1];
        // The lock is phpredis' (SET NX PX) and lapses after max_execution_time (30 s here) if its holder dies.
        const ttl = Number(redisCli(PORTS.redis, REDIS_PASSWORD, "PTTL", `PHPREDIS_SESSION:${id}_LOCK`));
        assert.ok(ttl > 28000 && ttl <= 30000, `lock TTL ${ttl} ms`);
        const second = await probe("action=session", cookie);
        const secondDone = Date.now() - started;
        const held = await holding;
        console.log(`# session lock: the second request finished ${secondDone} ms after the holder started (held 1500 ms)`);
        assert.ok(secondDone >= 1500, `second request did not wait: ${secondDone} ms`);
        assert.deepEqual([held.count, second.count], [2, 3], "the second request saw the first one's write");
    });

    it("a crashed request's session lock lapses: the next request waits for its expiry, not forever", async () => {
        const first = await probe("action=session");
        const cookie = { Cookie: String(first.headers["set-cookie"]).split(";")[0] };
        const id = cookie.Cookie.split("=")[1];
        // What a killed worker leaves behind: its lock, with the rest of its lifetime (here 2 s).
        redisCli(PORTS.redis, REDIS_PASSWORD, "SET", `PHPREDIS_SESSION:${id}_LOCK`, "crashed-worker", "PX", "2000");
        const started = Date.now();
        const next = await probe("action=session", cookie);
        const waited = Date.now() - started;
        console.log(`# session lock left by a crashed request: the next request answered after ${waited} ms`);
        assert.equal(next.status, 200, JSON.stringify(next));
        assert.equal(next.count, 2);
        assert.ok(waited >= 1500 && waited < 10000, `waited ${waited} ms`);
    });

    it("a lock that outlasts the lock wait: the request waits it out, then answers 503, never a silently lost write", async () => {
        const first = await probe("action=session");
        const cookie = { Cookie: String(first.headers["set-cookie"]).split(";")[0] };
        const id = cookie.Cookie.split("=")[1];
        // What a Redis failover can leave on the promoted replica: the lock of a request whose master died.
        redisCli(PORTS.redis, REDIS_PASSWORD, "SET", `PHPREDIS_SESSION:${id}_LOCK`, "dead-master-client", "PX", "30000");
        const started = Date.now();
        const next = await probe("action=session", cookie);
        const waited = Date.now() - started;
        console.log(`# session lock held past the lock wait: answered ${next.status} after ${waited} ms`);
        // phpredis gives up after lock_wait_time × lock_retries (10 s), reads, and refuses the write with a warning.
        assert.equal(next.status, 503, JSON.stringify(next));
        assert.match(String(next.error), /session not saved: .*Failed to write session data/);
        assert.ok(waited >= 9500 && waited < 15000, `waited ${waited} ms`);
        redisCli(PORTS.redis, REDIS_PASSWORD, "DEL", `PHPREDIS_SESSION:${id}_LOCK`);
        const after = await probe("action=session", cookie);
        assert.equal(after.count, 2, "the refused write did not count");
    });

    it("caches through the engine class the kernel loads (AUTH, top-level serializer, sid), on the Redis master", async () => {
        const r = await probe("action=cache&key=k1&value=v1");
        assert.equal(r.status, 200, JSON.stringify(r));
        assert.equal(r.cached, true);
        // Stored under the sid with PHP's serializer (cache.value.serializer = 1).
        assert.equal(redisCli(PORTS.redis, REDIS_PASSWORD, "GET", "test|probe|k1"), 's:2:"v1";');
    });

    it("the probe fed the .settings.php of afc3f70 fails the way the kernel would: sessions, cache, replica", async () => {
        const session = await probe("action=session", {}, "old.php");
        assert.equal(session.status, 503);
        assert.match(session.error, /^RedisException: NOAUTH/, "the kernel's own session handler sends no password");
        const cache = await probe("action=cache&key=old", {}, "old.php");
        assert.equal(cache.status, 503);
        assert.match(cache.error, /^RedisException: NOAUTH/, "CacheEngineRedis sends no password");
        const read = await probe("action=db&value=old-settings", {}, "old.php");
        assert.equal(read.replica, null, "the slave connection is never read");
        assert.match(read.cluster, /b_cluster_dbnode absent/);
    });

    it("reads from no replica while b_cluster_dbnode is absent, and says so", async () => {
        const r = await probe("action=db&value=no-cluster-module");
        assert.ok(r.id > 0, JSON.stringify(r));
        assert.equal(r.replica, null);
        assert.equal(r.cluster, "b_cluster_dbnode absent (cluster module not installed): reads go to the master");
        assert.equal(r.replicated, true, "read back from the master");
    });

    it("reads through the replica registered in b_cluster_dbnode, and skips it while it lags past max_slave_delay", async () => {
        const app = (sql: string) => mariadbSql(db.master, `USE ${DB.database}; ${sql}`);
        app(CLUSTER_MODULE_SQL);
        app(
            `INSERT INTO b_cluster_dbnode (ROLE_ID, NAME, DB_HOST, DB_NAME, DB_LOGIN, DB_PASSWORD, MASTER_ID, STATUS, SELECTABLE, WEIGHT) VALUES ` +
                `('SLAVE', 'replica', '${HOST}:${PORTS.replica}', '${DB.database}', '${DB.user}', '${DB.password.replace(/'/g, "''")}', 1, 'ONLINE', 'Y', 100)`,
        );
        app("CREATE TABLE b_option (MODULE_ID VARCHAR(50), NAME VARCHAR(50), VALUE TEXT)");
        const r = await probe("action=db&value=via-replica");
        assert.equal(r.replicaHost, `${HOST}:${PORTS.replica}`, JSON.stringify(r));
        assert.equal(r.replicated, true);
        // The replica applies the master's events 60 s late; with max_slave_delay = 2 it is skipped once 2 s behind.
        app("INSERT INTO b_option VALUES ('cluster', 'max_slave_delay', '2')");
        mariadbSql(db.replica, "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 60; START SLAVE");
        try {
            app(
                "CREATE TABLE IF NOT EXISTS probe_rows (id BIGINT AUTO_INCREMENT PRIMARY KEY, node VARCHAR(64) NOT NULL, value VARCHAR(255) NOT NULL, created TIMESTAMP DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB",
            );
            app("INSERT INTO probe_rows (node, value) VALUES ('test', 'lag-start')");
            await waitFor(
                "the replica 3 s behind",
                () =>
                    Number(
                        run("mariadb", ["--socket", db.replica.socket, "-e", "SHOW SLAVE STATUS\\G"]).match(
                            /Seconds_Behind_Master: (\d+)/,
                        )?.[1] ?? 0,
                    ) >= 3,
                20000,
                250,
            );
            const lagging = await probe("action=db&value=while-lagging");
            assert.equal(lagging.replicaHost, null, JSON.stringify(lagging));
            assert.match(
                lagging.cluster,
                /^no selectable replica \(127\.0\.0\.1:\d+: lag \d+ s over 2 or replication error\): reads go to the master$/,
            );
        } finally {
            mariadbSql(db.replica, "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 0; START SLAVE");
        }
        await waitFor(
            "the replica caught up",
            async () => (await probe("action=db&value=caught-up")).replicaHost === `${HOST}:${PORTS.replica}`,
            20000,
            500,
        );
    });

    it("stores a file under upload/ as www-data and reads it back", async () => {
        const put = await request(`${base}/probe/?action=file&name=note.txt`, { method: "POST", body: "shared file" });
        assert.equal(put.status, 200, put.body);
        const get = JSON.parse((await request(`${base}/probe/?action=file&name=note.txt`)).body);
        assert.equal(get.content, "shared file");
        assert.equal(fs.statSync(path.join(docroot, "upload", "probe", "note.txt")).uid, 33);
        assert.equal((await request(`${base}/probe/?action=file&name=../../etc/passwd`)).status, 400);
    });

    it("joins a chunked upload whose parts all reached this node, and names the parts another node holds", async () => {
        const id = `t${Date.now()}`;
        const parts = ["alpha-", "beta-", "gamma"];
        const send = (i: number, upload = id) =>
            request(`${base}/probe/?action=chunk&upload=${upload}&part=${i}&parts=${parts.length}`, { method: "POST", body: parts[i] });
        for (const i of [0, 1]) assert.equal(JSON.parse((await send(i)).body).part, i);
        const last = JSON.parse((await send(2)).body);
        assert.equal(last.size, "alpha-beta-gamma".length);
        assert.equal(fs.readFileSync(path.join(docroot, "upload", "probe", "chunked", id), "utf8"), "alpha-beta-gamma");
        // Parts 0 and 1 "went to another node": only the last arrives here.
        const lost = await send(2, `${id}x`);
        assert.equal(lost.status, 409);
        assert.match(JSON.parse(lost.body).error, /Could not resume file transfer \(BXU346\.5\): parts 0,1 are not on this node/);
        assert.equal((await request(`${base}/probe/?action=chunk&upload=../x&part=0&parts=1`, { method: "POST", body: "x" })).status, 400);
    });

    it("never executes PHP from upload/ and never serves .settings.php", async () => {
        const evil = await request(`${base}/upload/evil.php`);
        assert.equal(evil.status, 403);
        assert.doesNotMatch(evil.body, /executed/);
        assert.equal((await request(`${base}/bitrix/.settings.php`)).status, 403);
    });

    it("refuses backups and dotfiles inside shared paths while serving their other files", async () => {
        assert.equal((await request(`${base}/upload/photo.txt`)).body, "public");
        assert.notEqual((await request(`${base}/.well-known/acme-challenge/x`)).status, 403);
        for (const p of [
            "/upload/.htaccess",
            "/bitrix/backup/daily/dump.sql",
            "/bitrix/backup/full.tar",
            "/bitrix/%2Esettings.php",
            "/bitrix//backup/full.tar",
        ]) {
            const r = await request(`${base}${p}`);
            assert.equal(r.status, 403, p);
            assert.doesNotMatch(r.body, /secret|hidden/, p);
        }
    });

    it("answers the PHP-FPM status page to the node itself", async () => {
        const r = await request(`${base}/fpm-status`);
        assert.equal(r.status, 200);
        assert.match(r.body, /pool:\s+www/);
        assert.equal((await request(`${base}/fpm-ping`)).body, "pong");
    });

    it("answers 503 DRAINING while the node drains, and 200 again when it no longer does", async () => {
        fs.writeFileSync(drainFile, "");
        const r = await request(`${base}/healthz.php`);
        assert.equal(r.status, 503);
        assert.equal(r.body, "DRAINING\n");
        // Only the health check: the node still serves requests in flight and any the balancer still sends.
        assert.equal((await request(`${base}/probe/?action=node`)).status, 200);
        fs.rmSync(drainFile);
        assert.equal((await request(`${base}/healthz.php`)).body, "OK\n");
    });

    it("turns 503 when the shared storage stops answering, without touching the mount", async () => {
        await daemons.stop("watchdog");
        const stale = new Date(Date.now() - 60_000);
        fs.utimesSync(heartbeat, stale, stale);
        const r = await request(`${base}/healthz.php`);
        assert.equal(r.status, 503);
        assert.equal(r.body, "FAIL shared-storage\n");
    });

    it("turns 503 when Redis is unreachable, and when the database master is down, each within its budget", async () => {
        fs.utimesSync(heartbeat, new Date(), new Date());
        await daemons.stop("redis-proxy");
        let started = Date.now();
        let r = await request(`${base}/healthz.php`);
        console.log(`# health endpoint with Redis down answered ${r.status} in ${Date.now() - started} ms`);
        assert.equal(r.status, 503);
        assert.equal(r.body, "FAIL redis\n");
        // The probe's session fails loudly instead of handing out a fresh, empty session.
        const session = await request(`${base}/probe/?action=session`);
        assert.equal(session.status, 503, session.body);
        assert.match(JSON.parse(session.body).error, /^session store unavailable: /);
        await daemons.stop("master");
        started = Date.now();
        r = await request(`${base}/healthz.php`);
        console.log(`# health endpoint with Redis and the DB master down answered ${r.status} in ${Date.now() - started} ms`);
        assert.equal(r.status, 503);
        assert.equal(r.body, "FAIL db,redis\n");
    });
});
