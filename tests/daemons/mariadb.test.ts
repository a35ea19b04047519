/**
 * The generated MariaDB config and init SQL in Debian's mariadbd on loopback, started through the image's own
 * entrypoint: a master and a replica attached by GTID with semi-sync, durable settings, read-only replica,
 * the replication user limited to replication, and no errant transactions on the replica.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { masterInitSql, replicaInitSql } from "../../components/database/initSql";
import { Daemons, requireBinary, run, tmpDir, waitFor } from "../helpers/daemons";
import { entrypointOf, MariadbNode, mariadbSlaveStatus, mariadbSql, startMariadb } from "../helpers/stack";

const ENTRYPOINT = entrypointOf("mariadb");

// Below the kernel's ephemeral range (32768-60999), like every fixed port of the daemon tests.
const PORTS = { master: 32306, replica: 32307 };
const APP = { user: "bitrix", password: "app'pa\\ss", database: "bitrix" };
const REPL = { user: "replicator", password: "repl pass" };

describe("mariadb: generated config and SQL in mariadbd", () => {
    const daemons = new Daemons();
    const root = tmpDir("mariadb");
    const nodes: Record<string, MariadbNode> = {};
    const sql = (node: string, query: string) => mariadbSql(nodes[node], query);
    const appSql = (port: number, query: string) =>
        run("mariadb", [
            "--protocol=tcp",
            "-h",
            "127.0.0.1",
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
    const status = (node: string) => mariadbSlaveStatus(nodes[node]);

    before(async () => {
        requireBinary("mariadbd");
        requireBinary("mariadb-install-db");
        nodes.master = await startMariadb(daemons, root, "master", {
            role: "master",
            serverId: 1,
            port: PORTS.master,
            initSql: masterInitSql({
                engine: "mariadb",
                database: APP.database,
                appUser: APP.user,
                appPassword: APP.password,
                replicationUser: REPL.user,
                replicationPassword: REPL.password,
            }),
        });
        nodes.replica = await startMariadb(daemons, root, "replica", {
            role: "replica",
            serverId: 2,
            port: PORTS.replica,
            initSql: replicaInitSql({
                engine: "mariadb",
                masterHost: "127.0.0.1",
                masterPort: PORTS.master,
                replicationUser: REPL.user,
                replicationPassword: REPL.password,
            }),
        });
    });

    after(() => daemons.stopAll());

    it("runs with the durable, ROW and GTID settings", () => {
        for (const node of ["master", "replica"]) {
            assert.equal(
                sql(
                    node,
                    "SELECT @@binlog_format, @@sync_binlog, @@innodb_flush_log_at_trx_commit, @@gtid_strict_mode, @@log_slave_updates, @@local_infile",
                ),
                "ROW\t1\t1\t1\t1\t0",
            );
        }
        assert.equal(sql("master", "SELECT @@server_id"), "1");
        assert.equal(sql("replica", "SELECT @@server_id"), "2");
        assert.equal(sql("master", "SELECT @@innodb_log_file_size"), String(64 * 1024 * 1024));
    });

    it("attaches the replica by GTID and both replication threads run", async () => {
        const s = await waitFor(
            "replication threads running",
            () => {
                const st = status("replica");
                return st.Slave_IO_Running === "Yes" && st.Slave_SQL_Running === "Yes" ? st : undefined;
            },
            30000,
        );
        assert.equal(s.Using_Gtid, "Slave_Pos");
        assert.equal(s.Master_Port, String(PORTS.master));
        assert.equal(s.Master_User, REPL.user);
    });

    it("turns semi-sync on: the master counts the replica as a semi-sync client", async () => {
        await waitFor("semi-sync client", () => sql("master", "SHOW STATUS LIKE 'Rpl_semi_sync_master_clients'").endsWith("\t1"), 20000);
        assert.match(sql("master", "SHOW STATUS LIKE 'Rpl_semi_sync_master_status'"), /\tON$/);
        assert.match(sql("replica", "SHOW STATUS LIKE 'Rpl_semi_sync_slave_status'"), /\tON$/);
    });

    it("replicates the app user, and a row written on the master is read back on the replica", async () => {
        appSql(
            PORTS.master,
            "CREATE TABLE probe (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB; INSERT INTO probe VALUES (1, 'from-master')",
        );
        const v = await waitFor("the row on the replica", () => appSql(PORTS.replica, "SELECT v FROM probe WHERE id = 1"), 10000);
        assert.equal(v, "from-master");
        await waitFor(
            "GTID positions equal",
            () => sql("master", "SELECT @@gtid_binlog_pos") === sql("replica", "SELECT @@gtid_slave_pos"),
            10000,
        );
    });

    it("keeps the replica read-only for the application", () => {
        assert.equal(sql("replica", "SELECT @@read_only"), "1");
        assert.throws(() => appSql(PORTS.replica, "INSERT INTO probe VALUES (2, 'nope')"), /read-only|READ ONLY|1290/i);
    });

    it("has no transactions of the replica's own in its GTID state (no errant GTIDs)", () => {
        const pos = sql("replica", "SELECT @@gtid_binlog_pos");
        for (const gtid of pos.split(",").filter(Boolean))
            assert.match(gtid.trim(), /^0-1-\d+$/, `replica GTID ${gtid} not from the master`);
    });

    it("refuses to start on a data directory whose first start did not finish", () => {
        const dir = path.join(root, "interrupted");
        fs.mkdirSync(path.join(dir, "data", "mysql"), { recursive: true });
        const env = {
            MARIADB_ROOT_PASSWORD: "x",
            MARIADB_DATADIR: path.join(dir, "data"),
            MARIADB_RUN_DIR: path.join(dir, "run"),
            MARIADB_INITDB_DIR: path.join(dir, "initdb"),
        };
        assert.throws(() => run("bash", [ENTRYPOINT, "mariadbd", "--version"], { env }), /first start did not finish/);
        // Emptied by a physical restore whose copy-back failed: refused, never initialised empty.
        const failed = path.join(root, "restore-failed");
        fs.mkdirSync(path.join(failed, "data"), { recursive: true });
        fs.writeFileSync(path.join(failed, "data", ".bitrix-cluster-restore-failed"), "");
        const failedEnv = { ...env, MARIADB_DATADIR: path.join(failed, "data"), MARIADB_RUN_DIR: path.join(failed, "run") };
        assert.throws(
            () => run("bash", [ENTRYPOINT, "mariadbd", "--version"], { env: failedEnv }),
            /a physical restore into .* failed; run the restore again/,
        );
        assert.deepEqual(fs.readdirSync(path.join(failed, "data")), [".bitrix-cluster-restore-failed"]);
        // Any other command (the failover manager runs from this image) leaves the data directory alone.
        assert.equal(run("bash", [ENTRYPOINT, "echo", "manager"], { env }).trim(), "manager");
        assert.ok(fs.existsSync(path.join(nodes.master.dir, "data", ".bitrix-cluster-initialized")), "a finished first start is marked");
    });

    it("grants the replication user replication and BINLOG MONITOR (the binlog stream's lag), nothing else", () => {
        const grants = sql("master", `SHOW GRANTS FOR '${REPL.user}'@'%'`);
        assert.match(grants, /^GRANT REPLICATION SLAVE, BINLOG MONITOR ON \*\.\* TO `replicator`@`%`/);
        assert.equal(grants.split("\n").length, 1);
    });
});
