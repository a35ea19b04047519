/**
 * The database failover manager (images/mariadb/db-failover.py) against three real mariadbd servers on loopback,
 * started through the image's entrypoint with the generated managed config: it opens the master, promotes the most
 * advanced replica after the master is killed (SIGKILL) without losing an acknowledged row, points the other replica
 * at it, and makes the old master a replica again when it comes back, with one consistent GTID history.
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { failoverManagerConfig } from "../../components/database/failoverManager";
import { masterInitSql, replicaInitSql } from "../../components/database/initSql";
import { redisProxyConfig } from "../../components/redis/proxyConfig";
import { bitrixSettings } from "../../components/web/bitrixSettings";
import { dbWriterCheckScript, dbWriterSection, EXTERNAL_CHECK_GLOBALS } from "../../components/web/dbWriterRoute";
import { Daemons, requireBinary, run, tmpDir, waitFor, write } from "../helpers/daemons";
import { HOST, MariadbNode, mariadbSql, startMariadb } from "../helpers/stack";

const MANAGER = path.join(__dirname, "..", "..", "..", "images", "mariadb", "db-failover.py");
const PORTS = { master: 32316, r1: 32317, r2: 32318, route: 32319, redis: 32320 };
const APP = { user: "bitrix", password: "app pw", database: "bitrix" };
const REPL = { user: "replicator", password: "repl pw" };
const FAILOVER = { user: "failover", password: "fail'over pw" };

describe("db-failover: the manager against mariadbd", () => {
    const daemons = new Daemons();
    const root = tmpDir("dbfailover");
    const nodes: Record<string, MariadbNode> = {};
    const sql = (node: string, query: string) => mariadbSql(nodes[node], query);
    const app = (port: number, query: string) =>
        run("mariadb", ["--protocol=tcp", "-h", HOST, "-P", String(port), "-u", APP.user, `-p${APP.password}`, APP.database, "-N", "-B", "-e", query]).trim();
    const readOnly = (node: string) => { try { return sql(node, "SELECT @@global.read_only"); } catch { return "down"; } };
    const slave = (node: string) => {
        const out = run("mariadb", ["--socket", nodes[node].socket, "-e", "SHOW SLAVE STATUS\\G"]);
        return Object.fromEntries(out.split("\n").map((l) => /^\s*(\w+): ?(.*)$/.exec(l)).filter((m): m is RegExpExecArray => !!m).map((m) => [m[1], m[2]]));
    };
    const masterInit = masterInitSql({
        engine: "mariadb", database: APP.database, appUser: APP.user, appPassword: APP.password, replicationUser: REPL.user,
        replicationPassword: REPL.password, failover: FAILOVER,
    });
    const replicaInit = replicaInitSql({ engine: "mariadb", masterHost: HOST, masterPort: PORTS.master, replicationUser: REPL.user, replicationPassword: REPL.password });
    const startMaster = () => startMariadb(daemons, root, "master", { role: "master", serverId: 1, port: PORTS.master, initSql: masterInit, managed: true });
    /** Which server a new connection through the web node's writer route lands on (its port), or "" when refused. */
    const routed = () => { try { return app(PORTS.route, "SELECT @@port"); } catch { return ""; } };
    let killedAt = 0;
    const acknowledged: number[] = [];

    before(async () => {
        requireBinary("mariadbd");
        // The manager's shebang: Debian's Python with Debian's PyMySQL (python3-pymysql), as in the image.
        run("/usr/bin/python3", ["-c", "import pymysql"]);
        nodes.master = await startMaster();
        nodes.r1 = await startMariadb(daemons, root, "r1", { role: "replica", serverId: 2, port: PORTS.r1, initSql: replicaInit, managed: true });
        nodes.r2 = await startMariadb(daemons, root, "r2", { role: "replica", serverId: 3, port: PORTS.r2, initSql: replicaInit, managed: true });
        const config = write(path.join(root, "failover.json"), failoverManagerConfig({
            engine: "mariadb", user: FAILOVER.user, replicationUser: REPL.user,
            nodes: [["db-master", PORTS.master], ["db-replica-1", PORTS.r1], ["db-replica-2", PORTS.r2]].map(([name, port]) => ({ name: name as string, host: HOST, port: port as number })),
        }));
        // A web node's local HAProxy with the generated writer route and check, reading a generated .settings.php.
        const settings = write(path.join(root, "settings.php"), bitrixSettings({
            database: APP.database, user: APP.user, password: APP.password, master: { host: HOST, port: PORTS.route },
            redis: { host: HOST, port: PORTS.redis, password: "x" }, cacheSid: "t",
        }));
        const check = write(path.join(root, "db-writer-check"), dbWriterCheckScript(settings), 0o755);
        const proxyCfg = write(path.join(root, "proxy.cfg"), redisProxyConfig({
            nodes: [{ name: "redis-1", host: HOST, port: PORTS.redis }], password: "x", listen: { address: HOST, port: PORTS.redis + 1 },
            checkIntervalMs: 1000, adminSocket: path.join(root, "proxy.sock"),
            extra: {
                globals: EXTERNAL_CHECK_GLOBALS,
                sections: [dbWriterSection({
                    listen: { address: HOST, port: PORTS.route }, checkCommand: check,
                    nodes: [["db-master", PORTS.master], ["db-replica-1", PORTS.r1], ["db-replica-2", PORTS.r2]].map(([name, port]) => ({ name: name as string, host: HOST, port: port as number })),
                })],
            },
        }));
        assert.match(run("haproxy", ["-c", "-f", proxyCfg]), /Configuration file is valid/);
        daemons.start("route", "haproxy", ["-W", "-db", "-f", proxyCfg]);
        daemons.start("manager", MANAGER, [config], {
            DB_FAILOVER_PASSWORD: FAILOVER.password, DB_REPLICATION_PASSWORD: REPL.password, DB_FAILOVER_BEAT: path.join(root, "beat"),
        });
    });

    after(() => daemons.stopAll());

    it("starts every server read-only, then opens the master only", async () => {
        await waitFor("master opened", () => readOnly("master") === "0", 20000, 200).catch((e) => { throw new Error(`${e}\n${daemons.log("manager")}`); });
        assert.equal(readOnly("r1"), "1");
        assert.equal(readOnly("r2"), "1");
        await waitFor("the manager's log line", () => /db-master opened for writes/.test(daemons.log("manager")), 5000, 50);
        // Writes go where the application's route sends them: the opened master.
        await waitFor("the route to the master", () => routed() === String(PORTS.master), 10000, 200);
        app(PORTS.route, "CREATE TABLE acked (id INT PRIMARY KEY) ENGINE=InnoDB");
    });

    it("promotes the most advanced replica after the master is killed, with every acknowledged row", async () => {
        // Writes until the kill; each one that returned is acknowledged (semi-sync: on a replica's relay log too).
        let writing = true;
        const writer = (async () => {
            for (let i = 1; writing; i++) {
                try {
                    await promisify(execFile)("mariadb", ["--protocol=tcp", "-h", HOST, "-P", String(PORTS.master), "-u", APP.user, `-p${APP.password}`,
                        APP.database, "-e", `INSERT INTO acked VALUES (${i})`]);
                    acknowledged.push(i);
                } catch { break; }
            }
        })();
        await waitFor("200 writes", () => acknowledged.length >= 200, 60000, 50);
        killedAt = performance.now();
        await daemons.stop("master", "SIGKILL");
        writing = false;
        await writer;
        const promoted = await waitFor("a replica promoted", () => ["r1", "r2"].find((n) => readOnly(n) === "0"), 30000, 100)
            .catch((e) => { throw new Error(`${e}\n${daemons.log("manager")}`); });
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
        await waitFor(`${other} follows ${promoted}`, () => {
            const s = slave(other);
            return s.Master_Port === String(port) && s.Slave_IO_Running === "Yes" && s.Slave_SQL_Running === "Yes"
                && sql(other, "SELECT COUNT(*) FROM bitrix.acked WHERE id = 1000000") === "1";
        }, 20000, 200);
        assert.equal(readOnly(other), "1");
        // The log arrives through a pipe while the test's synchronous client calls block the event loop: wait for it.
        await waitFor("the manager's account of the failover", () => /failing over[\s\S]*promoted db-replica-\d/.test(daemons.log("manager")), 5000, 50);
    });

    it("makes the old master a replica of the promoted one when it comes back, with one GTID history", async () => {
        nodes.master = await startMaster();
        const promotedPort = readOnly("r1") === "0" ? PORTS.r1 : PORTS.r2;
        await waitFor("old master replicates", () => {
            const s = slave("master");
            return s.Master_Port === String(promotedPort) && s.Slave_IO_Running === "Yes" && s.Slave_SQL_Running === "Yes";
        }, 30000, 200).catch((e) => { throw new Error(`${e}\n${daemons.log("manager")}`); });
        assert.equal(readOnly("master"), "1", "the old master comes back read-only and stays so");
        const promoted = promotedPort === PORTS.r1 ? "r1" : "r2";
        app(promotedPort, "INSERT INTO acked VALUES (1000001)");
        await waitFor("the old master has the new row", () => sql("master", "SELECT COUNT(*) FROM bitrix.acked WHERE id = 1000001") === "1", 10000, 100);
        // Same rows and the same GTID position on all three: nothing errant, nothing missing.
        const pos = await waitFor("positions equal", () => {
            const p = ["master", "r1", "r2"].map((n) => sql(n, "SELECT @@global.gtid_current_pos"));
            return p.every((x) => x === p[0]) ? p[0] : undefined;
        }, 10000, 100);
        assert.match(pos, /^0-\d+-\d+$/);
        const counts = ["master", "r1", "r2"].map((n) => sql(n, "SELECT COUNT(*) FROM bitrix.acked"));
        assert.deepEqual(counts, [counts[0], counts[0], counts[0]]);
        assert.equal(sql(promoted, "SELECT @@global.read_only"), "0");
        assert.equal(routed(), String(promotedPort), "the returning old master (read-only) gets no writes");
    });
});
