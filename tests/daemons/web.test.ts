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
import { healthEndpoint } from "../../components/web/healthEndpoint";
import { webNginxConfig } from "../../components/web/nginxConfig";
import { fpmPool, phpIni } from "../../components/web/phpConfig";
import { probeApp } from "../../components/web/probeApp";
import { watchdogScript } from "../../components/web/watchdog";
import { Daemons, portOpen, requireBinary, run, tmpDir, waitFor, write } from "../helpers/daemons";
import { request } from "../helpers/http";
import { HOST, redisCli, startMariadb, startRedisNode, startRedisProxy } from "../helpers/stack";

// Below the kernel's ephemeral range (32768-60999): a client socket of another test can never hold one of them.
const PORTS = { web: 32080, master: 32316, replica: 32317, redis: 32379, proxy: 32390 };
const DB = { database: "bitrix", user: "bitrix", password: "web'pw" };
const REDIS_PASSWORD = "redis-web-pw";
const base = `http://${HOST}:${PORTS.web}`;

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

    before(async () => {
        for (const b of ["nginx", "php-fpm8.2", "php8.2", "mariadbd", "redis-server", "haproxy"]) requireBinary(b);
        fs.chmodSync(root, 0o755);
        const master = await startMariadb(daemons, root, "master", {
            role: "master", serverId: 1, port: PORTS.master,
            initSql: masterInitSql({ engine: "mariadb", database: DB.database, appUser: DB.user, appPassword: DB.password, replicationUser: "replicator", replicationPassword: "r" }),
        });
        assert.ok(master);
        await startMariadb(daemons, root, "replica", {
            role: "replica", serverId: 2, port: PORTS.replica,
            initSql: replicaInitSql({ engine: "mariadb", masterHost: HOST, masterPort: PORTS.master, replicationUser: "replicator", replicationPassword: "r" }),
        });
        startRedisNode(daemons, root, { port: PORTS.redis, password: REDIS_PASSWORD, sentinels: [] });
        startRedisProxy(daemons, root, { port: PORTS.proxy, password: REDIS_PASSWORD, nodes: [PORTS.redis] });

        for (const dir of shared) fs.mkdirSync(dir, { recursive: true });
        fs.mkdirSync(path.join(root, "run"), { recursive: true });
        files.settings = write(settingsPath, bitrixSettings({
            database: DB.database, user: DB.user, password: DB.password, master: { host: HOST, port: PORTS.master },
            redis: { host: HOST, port: PORTS.proxy, password: REDIS_PASSWORD }, cacheSid: "test",
        }));
        files.health = write(path.join(docroot, "healthz.php"), healthEndpoint({ settingsPath, heartbeatFile: heartbeat, heartbeatMaxAgeS: 10, checkTimeoutS: 0.2, drainFile }));
        files.probe = write(path.join(docroot, "probe", "index.php"), probeApp({ settingsPath, uploadDir: path.join(docroot, "upload", "probe"), replicaWaitS: 5, docroot }));
        write(path.join(docroot, "upload", "evil.php"), "<?php echo 'executed';");
        write(path.join(docroot, "broken.php"), "<?php undefined_function_of_a_broken_page();");
        run("chown", ["-R", "www-data:www-data", docroot]);

        const site = write(path.join(root, "nginx", "site.conf"), webNginxConfig({
            listenPort: PORTS.web, docroot, fpmSocket, uploadMaxMb: 8, trustedProxies: ["127.0.0.0/8"], healthPath: "/healthz.php",
            fpmStatusPath: "/fpm-status", fpmPingPath: "/fpm-ping", sharedPaths: ["upload", "bitrix/cache"],
        }));
        files.nginx = write(path.join(root, "nginx", "nginx.conf"), [
            `pid ${root}/run/nginx.pid;`, "error_log stderr;", "daemon off;", "user www-data;", "events {}",
            "http {", "    include /etc/nginx/mime.types;", "    access_log off;", `    client_body_temp_path ${root}/run/body;`,
            `    fastcgi_temp_path ${root}/run/fastcgi;`, `    include ${site};`, "}", "",
        ].join("\n"));
        const iniDir = path.join(root, "php", "conf.d");
        write(path.join(iniDir, "99-bitrix.ini"), phpIni({
            memoryLimitMb: 128, maxExecutionS: 30, uploadMaxMb: 8, timezone: "Europe/Moscow", redis: { host: HOST, port: PORTS.proxy, password: REDIS_PASSWORD },
        }));
        const pool = write(path.join(root, "php", "pool.conf"), fpmPool({ socket: fpmSocket, maxChildren: 4, maxExecutionS: 30, statusPath: "/fpm-status", pingPath: "/fpm-ping", slowlogPath: path.join(root, "run", "slow.log") }));
        files.fpm = write(path.join(root, "php", "php-fpm.conf"), ["[global]", `pid = ${root}/run/php-fpm.pid`, `error_log = ${root}/run/php-fpm.log`, `include = ${pool}`, ""].join("\n"));
        const phpEnv = { PHP_INI_SCAN_DIR: `/etc/php/8.2/fpm/conf.d:${iniDir}` };
        files.phpEnv = JSON.stringify(phpEnv);

        const watchdog = write(path.join(root, "watchdog.sh"), watchdogScript({ directories: shared, heartbeatFile: heartbeat, intervalS: 1, probeTimeoutS: 2 }), 0o755);
        daemons.start("watchdog", watchdog, []);
        daemons.start("php-fpm", "php-fpm8.2", ["-F", "-y", files.fpm], phpEnv);
        daemons.start("nginx", "nginx", ["-c", files.nginx]);
        await waitFor("nginx", () => portOpen(PORTS.web), 20000);
        await waitFor("php-fpm", () => fs.existsSync(fpmSocket), 20000).catch((e) => { throw new Error(`${e}\n${daemons.log("php-fpm")}`); });
        await waitFor("watchdog heartbeat", () => fs.existsSync(heartbeat), 10000);
        await waitFor("redis proxy", () => redisCli(PORTS.proxy, REDIS_PASSWORD, "PING") === "PONG", 10000);
    });

    after(() => daemons.stopAll());

    it("nginx, PHP-FPM and PHP accept every generated file", () => {
        run("nginx", ["-t", "-q", "-c", files.nginx]);
        run("php-fpm8.2", ["-t", "-y", files.fpm], { env: JSON.parse(files.phpEnv) });
        for (const f of [files.settings, files.health, files.probe]) assert.match(run("php8.2", ["-l", f]), /No syntax errors/);
        const settings = JSON.parse(run("php8.2", ["-r", `echo json_encode(include '${files.settings}');`]));
        assert.equal(settings.connections.value.default.host, `${HOST}:${PORTS.master}`);
        assert.equal(settings.connections.value.slave.readonly, true);
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
        console.log(`# health endpoint latency over ${times.length} checks: p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms (budget 500 ms)`);
    });

    it("keeps a PHP session in Redis through the proxy", async () => {
        const first = await request(`${base}/probe/?action=session`);
        const cookie = String(first.headers["set-cookie"]).split(";")[0];
        assert.equal(JSON.parse(first.body).count, 1);
        const second = await request(`${base}/probe/?action=session`, { headers: { Cookie: cookie } });
        assert.equal(JSON.parse(second.body).count, 2);
        const id = cookie.split("=")[1];
        assert.match(redisCli(PORTS.redis, REDIS_PASSWORD, "GET", `PHPREDIS_SESSION:${id}`), /count\|i:2;/);
    });

    it("writes a row through the master and reads it back through the replica", async () => {
        const r = JSON.parse((await request(`${base}/probe/?action=db&value=web-test`)).body);
        assert.ok(r.id > 0, JSON.stringify(r));
        assert.equal(r.replicated, true, JSON.stringify(r));
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
        const send = (i: number, upload = id) => request(`${base}/probe/?action=chunk&upload=${upload}&part=${i}&parts=${parts.length}`, { method: "POST", body: parts[i] });
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
