/**
 * The database failover manager (images/mariadb/db-failover.py) against three real mariadbd servers on loopback,
 * started through the image's entrypoint with the generated managed config: it opens the master, promotes the most
 * advanced replica after the master is killed (SIGKILL) without losing an acknowledged row, points the other replica
 * at it, and makes the old master a replica again when it comes back, with one consistent GTID history. Once the
 * application database has Bitrix's b_cluster_dbnode (the cluster module's table), it keeps one row per replica of the
 * current master through every step, and drops the kernel's cached copy of the rows from the Redis cache.
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { failoverManagerConfig } from "../../components/database/failoverManager";
import { masterInitSql, replicaInitSql } from "../../components/database/initSql";
import { redisProxyConfig } from "../../components/redis/proxyConfig";
import { bitrixSettings } from "../../components/web/bitrixSettings";
import { dbWriterCheckScript, dbWriterCredentials, dbWriterSection, EXTERNAL_CHECK_GLOBALS } from "../../components/web/dbWriterRoute";
import { probeApp } from "../../components/web/probeApp";
import { Daemons, requireBinary, run, tmpDir, waitFor, write } from "../helpers/daemons";
import {
    CLUSTER_DBNODE_DDL,
    CLUSTER_MAIN_ROW,
    HOST,
    MariadbNode,
    mariadbSlaveStatus,
    mariadbSql,
    redisCli,
    startMariadb,
    startRedisNode,
} from "../helpers/stack";

const MANAGER = path.join(__dirname, "..", "..", "..", "images", "mariadb", "db-failover.py");
const PORTS = { master: 32316, r1: 32317, r2: 32318, route: 32319, redis: 32320 };
const APP = { user: "bitrix", password: "app pw", database: "bitrix" };
const REPL = { user: "replicator", password: "repl pw" };
const FAILOVER = { user: "failover", password: "fail'over pw" };
/** The web nodes' Redis cache, where the kernel keeps its managed cache of b_cluster_dbnode. */
const CACHE = { port: 32322, password: "cache-pw", sid: "t" };

describe("db-failover: the manager against mariadbd", () => {
    const daemons = new Daemons();
    const root = tmpDir("dbfailover");
    const nodes: Record<string, MariadbNode> = {};
    const sql = (node: string, query: string) => mariadbSql(nodes[node], query);
    const app = (port: number, query: string) =>
        run("mariadb", [
            "--protocol=tcp",
            "-h",
            HOST,
            "-P",
            String(port),
            "-u",
            APP.user,
            `-p${APP.password}`,
            APP.database,
            "-N",
            "-B",
            "-e",
            query,
        ]).trim();
    const readOnly = (node: string) => {
        try {
            return sql(node, "SELECT @@global.read_only");
        } catch {
            return "down";
        }
    };
    const slave = (node: string) => mariadbSlaveStatus(nodes[node]);
    const masterInit = masterInitSql({
        engine: "mariadb",
        database: APP.database,
        appUser: APP.user,
        appPassword: APP.password,
        replicationUser: REPL.user,
        replicationPassword: REPL.password,
        failover: FAILOVER,
    });
    const replicaInit = replicaInitSql({
        engine: "mariadb",
        masterHost: HOST,
        masterPort: PORTS.master,
        replicationUser: REPL.user,
        replicationPassword: REPL.password,
    });
    const startMaster = () =>
        startMariadb(daemons, root, "master", { role: "master", serverId: 1, port: PORTS.master, initSql: masterInit, managed: true });
    /** Which server a new connection through the web node's writer route lands on (its port), or "" when refused. */
    const routed = () => {
        try {
            return app(PORTS.route, "SELECT @@port");
        } catch {
            return "";
        }
    };
    let killedAt = 0;
    let routePid = 0;
    const probeFile = path.join(root, "probe.php");
    /** The probe's `db` action (write through the route, read through the replica the kernel would pick). */
    const probeDb = (value: string) =>
        JSON.parse(run("php8.2", ["-r", `$_GET = ['action' => 'db', 'value' => '${value}']; include '${probeFile}';`]));
    /** b_cluster_dbnode as the kernel's GetRandomNode would select it, read on the server at `port`. */
    const dbnodeRows = (port: number) =>
        app(
            port,
            "SELECT DB_HOST, ROLE_ID, ACTIVE, STATUS, SELECTABLE, WEIGHT, MASTER_ID, DB_NAME, DB_LOGIN, DB_PASSWORD " +
                "FROM b_cluster_dbnode WHERE ROLE_ID = 'SLAVE' ORDER BY DB_HOST",
        )
            .split("\n")
            .filter(Boolean);
    const row = (port: number) => `${HOST}:${port}\tSLAVE\tY\tONLINE\tY\t100\t1\t${APP.database}\t${APP.user}\t${APP.password}`;
    /**
     * What the kernel's Redis cache engine (main 24.0+ CacheEngine, sid "t", PHP serializer) holds for the managed
     * cache directory MYSQL/b_cluster_dbnode: the base-dir version and the directory's listing set. Returns the set's key.
     */
    const seedKernelCache = () => {
        const sha1 = (t: string) => createHash("sha1").update(t).digest("hex");
        const sid = `${CACHE.sid}|v1|`;
        const base = "/bitrix/managed_cache/";
        const version = sha1(`seed${Date.now()}`);
        redisCli(CACHE.port, CACHE.password, "SET", `${sid}|base_dir|${sha1(base)}`, `s:${version.length}:"${version}";`);
        const listing = `${sid}|${sha1(`${version}|${sha1(`${base}|MYSQL/b_cluster_dbnode`)}`)}|bx_dir_list|`;
        redisCli(CACHE.port, CACHE.password, "SADD", listing, "|ab12|");
        redisCli(CACHE.port, CACHE.password, "SADD", `${listing}|ab12|`, "/0f/0f00.php");
        return listing;
    };
    const cached = (listing: string) => redisCli(CACHE.port, CACHE.password, "EXISTS", listing, `${listing}|ab12|`);
    const acknowledged: number[] = [];

    before(async () => {
        requireBinary("mariadbd");
        // The manager's shebang: Debian's Python with Debian's PyMySQL (python3-pymysql), as in the image.
        run("/usr/bin/python3", ["-c", "import pymysql"]);
        nodes.master = await startMaster();
        nodes.r1 = await startMariadb(daemons, root, "r1", {
            role: "replica",
            serverId: 2,
            port: PORTS.r1,
            initSql: replicaInit,
            managed: true,
        });
        nodes.r2 = await startMariadb(daemons, root, "r2", {
            role: "replica",
            serverId: 3,
            port: PORTS.r2,
            initSql: replicaInit,
            managed: true,
        });
        const config = write(
            path.join(root, "failover.json"),
            failoverManagerConfig({
                engine: "mariadb",
                user: FAILOVER.user,
                replicationUser: REPL.user,
                nodes: [
                    ["db-master", PORTS.master],
                    ["db-replica-1", PORTS.r1],
                    ["db-replica-2", PORTS.r2],
                ].map(([name, port]) => ({ name: name as string, host: HOST, port: port as number })),
                bitrix: { database: APP.database, user: APP.user, cache: { nodes: [{ host: HOST, port: CACHE.port }], sid: CACHE.sid } },
            }),
        );
        startRedisNode(daemons, root, { port: CACHE.port, password: CACHE.password, sentinels: [] });
        // A web node's local HAProxy with the generated writer route and check, reading the generated login file as
        // on a host (root:haproxy 0640); HAProxy runs the check as its own user, so the directory must let it in.
        fs.chmodSync(root, 0o711);
        const credentials = write(
            path.join(root, "db-writer.json"),
            dbWriterCredentials({ user: APP.user, password: APP.password }),
            0o640,
        );
        fs.chownSync(credentials, 0, Number(run("getent", ["group", "haproxy"]).split(":")[2]));
        const check = write(path.join(root, "db-writer-check"), dbWriterCheckScript(credentials), 0o755);
        // The probe app reading a generated .settings.php as the kernel would: which replica does a read go to?
        const settings = write(
            path.join(root, "settings.php"),
            bitrixSettings({
                database: APP.database,
                user: APP.user,
                password: APP.password,
                master: { host: HOST, port: PORTS.route },
                redis: { host: HOST, port: PORTS.redis, password: "x" },
                cacheSid: "t",
            }),
        );
        write(probeFile, probeApp({ settingsPath: settings, uploadDir: path.join(root, "upload"), replicaWaitS: 5, docroot: root }));
        const proxyCfg = write(
            path.join(root, "proxy.cfg"),
            redisProxyConfig({
                nodes: [{ name: "redis-1", host: HOST, port: PORTS.redis }],
                password: "x",
                listen: { address: HOST, port: PORTS.redis + 1 },
                checkIntervalMs: 1000,
                adminSocket: path.join(root, "proxy.sock"),
                extra: {
                    globals: EXTERNAL_CHECK_GLOBALS,
                    runsPrograms: true,
                    sections: [
                        dbWriterSection({
                            listen: { address: HOST, port: PORTS.route },
                            checkCommand: check,
                            nodes: [
                                ["db-master", PORTS.master],
                                ["db-replica-1", PORTS.r1],
                                ["db-replica-2", PORTS.r2],
                            ].map(([name, port]) => ({ name: name as string, host: HOST, port: port as number })),
                        }),
                    ],
                },
            }),
        );
        assert.match(run("haproxy", ["-c", "-f", proxyCfg]), /Configuration file is valid/);
        routePid = daemons.start("route", "haproxy", ["-W", "-db", "-f", proxyCfg]).pid!;
        daemons.start("manager", MANAGER, [config], {
            DB_FAILOVER_PASSWORD: FAILOVER.password,
            DB_REPLICATION_PASSWORD: REPL.password,
            DB_FAILOVER_BEAT: path.join(root, "beat"),
            DB_APP_PASSWORD: APP.password,
            REDIS_PASSWORD: CACHE.password,
        });
    });

    after(() => daemons.stopAll());

    it("starts every server read-only, then opens the master only", async () => {
        await waitFor("master opened", () => readOnly("master") === "0", 20000, 200).catch((e) => {
            throw new Error(`${e}\n${daemons.log("manager")}`);
        });
        assert.equal(readOnly("r1"), "1");
        assert.equal(readOnly("r2"), "1");
        await waitFor("the manager's log line", () => /db-master opened for writes/.test(daemons.log("manager")), 5000, 50);
        // Writes go where the application's route sends them: the opened master.
        await waitFor("the route to the master", () => routed() === String(PORTS.master), 10000, 200);
        app(PORTS.route, "CREATE TABLE acked (id INT PRIMARY KEY) ENGINE=InnoDB");
    });

    it("runs the route's worker, and so its external check, as the haproxy user (the master alone stays root, to reload)", async () => {
        const uid = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
        const workers = await waitFor(
            "the route's worker",
            () => {
                const kids = fs.readFileSync(`/proc/${routePid}/task/${routePid}/children`, "utf8").trim();
                return kids ? kids.split(/\s+/).map(Number) : undefined;
            },
            5000,
            100,
        );
        const haproxy = Number(run("id", ["-u", "haproxy"]).trim());
        assert.deepEqual(
            workers.map(uid),
            workers.map(() => haproxy),
        );
        assert.equal(uid(routePid), 0);
    });

    it("says b_cluster_dbnode is absent until the cluster module creates it, then registers both replicas and clears the kernel's cache", async () => {
        await waitFor(
            "the manager's note that the table is absent",
            () => /b_cluster_dbnode absent: the cluster module is not installed/.test(fs.readFileSync(path.join(root, "beat"), "utf8")),
            15000,
            200,
        );
        assert.match(daemons.log("manager"), /b_cluster_dbnode absent/);
        const listing = seedKernelCache();
        assert.equal(cached(listing), "2");
        // A table without the module's row 1 (the main database): a replica would take ID 1 and be read as the
        // master, so the manager registers nothing and says why.
        app(PORTS.route, CLUSTER_DBNODE_DDL);
        await waitFor(
            "the manager's note that row 1 is missing",
            () => /b_cluster_dbnode has no row 1/.test(fs.readFileSync(path.join(root, "beat"), "utf8")),
            15000,
            200,
        );
        assert.deepEqual(dbnodeRows(PORTS.master), []);
        app(PORTS.route, CLUSTER_MAIN_ROW);
        await waitFor("two replica rows", () => dbnodeRows(PORTS.master).length === 2, 20000, 200).catch((e) => {
            throw new Error(`${e}\n${daemons.log("manager")}`);
        });
        assert.deepEqual(dbnodeRows(PORTS.master), [row(PORTS.r1), row(PORTS.r2)]);
        await waitFor("the kernel's cached rows dropped", () => cached(listing) === "0", 5000, 100).catch((e) => {
            throw new Error(`${e}\n${daemons.log("manager")}`);
        });
        await waitFor(
            "the manager's account of it",
            () => /b_cluster_dbnode changed; kernel cache of it: cleared \(1 partitions\)/.test(daemons.log("manager")),
            5000,
            50,
        );
        // The rows replicate like any other: the kernel reads the same table on every server.
        await waitFor("rows on the replicas", () => dbnodeRows(PORTS.r1).length === 2 && dbnodeRows(PORTS.r2).length === 2, 10000, 200);
    });

    it("promotes the most advanced replica after the master is killed, with every acknowledged row", async () => {
        // Writes until the kill; each one that returned is acknowledged (semi-sync: on a replica's relay log too).
        let writing = true;
        const writer = (async () => {
            for (let i = 1; writing; i++) {
                try {
                    await promisify(execFile)("mariadb", [
                        "--protocol=tcp",
                        "-h",
                        HOST,
                        "-P",
                        String(PORTS.master),
                        "-u",
                        APP.user,
                        `-p${APP.password}`,
                        APP.database,
                        "-e",
                        `INSERT INTO acked VALUES (${i})`,
                    ]);
                    acknowledged.push(i);
                } catch {
                    break;
                }
            }
        })();
        await waitFor("200 writes", () => acknowledged.length >= 200, 60000, 50);
        const listing = seedKernelCache();
        killedAt = performance.now();
        await daemons.stop("master", "SIGKILL");
        writing = false;
        await writer;
        const promoted = await waitFor("a replica promoted", () => ["r1", "r2"].find((n) => readOnly(n) === "0"), 30000, 100).catch((e) => {
            throw new Error(`${e}\n${daemons.log("manager")}`);
        });
        const seconds = (performance.now() - killedAt) / 1000;
        console.log(`# db-failover: ${promoted} writable ${seconds.toFixed(2)} s after the kill; ${acknowledged.length} acknowledged rows`);
        assert.ok(seconds < 30, `promotion took ${seconds} s`);
        const other = promoted === "r1" ? "r2" : "r1";
        const port = promoted === "r1" ? PORTS.r1 : PORTS.r2;
        const rows = new Set(app(port, "SELECT id FROM acked").split("\n").map(Number));
        const lost = acknowledged.filter((i) => !rows.has(i));
        assert.deepEqual(lost, [], `${lost.length} acknowledged rows lost`);
        // The application's route follows: new connections land on the promoted server, and writes work.
        await waitFor("the route to the promoted server", () => routed() === String(port), 10000, 100);
        console.log(`# db-failover: writes through the route again ${((performance.now() - killedAt) / 1000).toFixed(2)} s after the kill`);
        app(PORTS.route, "INSERT INTO acked VALUES (1000000)");
        await waitFor(
            `${other} follows ${promoted}`,
            () => {
                const s = slave(other);
                return (
                    s.Master_Port === String(port) &&
                    s.Slave_IO_Running === "Yes" &&
                    s.Slave_SQL_Running === "Yes" &&
                    sql(other, "SELECT COUNT(*) FROM bitrix.acked WHERE id = 1000000") === "1"
                );
            },
            20000,
            200,
        );
        assert.equal(readOnly(other), "1");
        // The log arrives through a pipe while the test's synchronous client calls block the event loop: wait for it.
        await waitFor(
            "the manager's account of the failover",
            () => /failing over[\s\S]*promoted db-replica-\d/.test(daemons.log("manager")),
            5000,
            50,
        );
        // b_cluster_dbnode: the promoted server is no replica any more; the other one is, of the promoted server.
        await waitFor("only the other replica's row", () => dbnodeRows(port).length === 1, 20000, 200).catch((e) => {
            throw new Error(`${e}\n${daemons.log("manager")}`);
        });
        assert.deepEqual(dbnodeRows(port), [row(promoted === "r1" ? PORTS.r2 : PORTS.r1)]);
        assert.equal(
            app(port, "SELECT CONCAT(MASTER_HOST, ':', MASTER_PORT) FROM b_cluster_dbnode WHERE ROLE_ID = 'SLAVE'"),
            `${HOST}:${port}`,
        );
        assert.equal(
            app(port, "SELECT GROUP_CONCAT(ID) FROM b_cluster_dbnode WHERE ROLE_ID = 'MAIN'"),
            "1",
            "the module's main-database row is left alone",
        );
        // A kernel-style read now goes to the remaining replica: never the promoted server, never the dead master.
        const read = probeDb("after-db-failover");
        assert.equal(read.replicaHost, `${HOST}:${promoted === "r1" ? PORTS.r2 : PORTS.r1}`, JSON.stringify(read));
        assert.equal(read.replicated, true);
        await waitFor("the kernel's cached rows dropped", () => cached(listing) === "0", 5000, 100);
    });

    it("makes the old master a replica of the promoted one when it comes back, with one GTID history", async () => {
        nodes.master = await startMaster();
        const promotedPort = readOnly("r1") === "0" ? PORTS.r1 : PORTS.r2;
        await waitFor(
            "old master replicates",
            () => {
                const s = slave("master");
                return s.Master_Port === String(promotedPort) && s.Slave_IO_Running === "Yes" && s.Slave_SQL_Running === "Yes";
            },
            30000,
            200,
        ).catch((e) => {
            throw new Error(`${e}\n${daemons.log("manager")}`);
        });
        assert.equal(readOnly("master"), "1", "the old master comes back read-only and stays so");
        const promoted = promotedPort === PORTS.r1 ? "r1" : "r2";
        app(promotedPort, "INSERT INTO acked VALUES (1000001)");
        await waitFor(
            "the old master has the new row",
            () => sql("master", "SELECT COUNT(*) FROM bitrix.acked WHERE id = 1000001") === "1",
            10000,
            100,
        );
        // Same rows and the same GTID position on all three: nothing errant, nothing missing.
        const pos = await waitFor(
            "positions equal",
            () => {
                const p = ["master", "r1", "r2"].map((n) => sql(n, "SELECT @@global.gtid_current_pos"));
                return p.every((x) => x === p[0]) ? p[0] : undefined;
            },
            10000,
            100,
        );
        assert.match(pos, /^0-\d+-\d+$/);
        const counts = ["master", "r1", "r2"].map((n) => sql(n, "SELECT COUNT(*) FROM bitrix.acked"));
        assert.deepEqual(counts, [counts[0], counts[0], counts[0]]);
        assert.equal(sql(promoted, "SELECT @@global.read_only"), "0");
        assert.equal(routed(), String(promotedPort), "the returning old master (read-only) gets no writes");
        // The old master is a replica again: back in b_cluster_dbnode beside the other replica.
        const other = promoted === "r1" ? PORTS.r2 : PORTS.r1;
        await waitFor("the old master's row", () => dbnodeRows(promotedPort).length === 2, 20000, 200).catch((e) => {
            throw new Error(`${e}\n${daemons.log("manager")}`);
        });
        assert.deepEqual(dbnodeRows(promotedPort), [row(PORTS.master), row(other)].sort());
        const reads = Array.from({ length: 6 }, (_, i) => probeDb(`after-rejoin-${i}`));
        for (const r of reads)
            assert.ok([`${HOST}:${PORTS.master}`, `${HOST}:${other}`].includes(r.replicaHost) && r.replicated, JSON.stringify(r));
    });
});
