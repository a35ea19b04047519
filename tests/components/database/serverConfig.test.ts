import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { dbServerConfig, DbServerInput } from "../../../components/database/serverConfig";

const input = (over: Partial<DbServerInput>): DbServerInput => ({
    engine: "percona",
    role: "master",
    serverId: 1,
    reportHost: "bx-db-master",
    port: 3306,
    redoLogMb: 1024,
    bufferPoolMb: 512,
    semiSyncTimeoutMs: 1000,
    ...over,
});
const has = (cfg: string, line: string) => assert.match(cfg, new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"), line);

describe("dbServerConfig: Percona Server 8.0", () => {
    const master = dbServerConfig(input({}));
    const replica = dbServerConfig(input({ role: "replica", serverId: 2, reportHost: "bx-db-replica-1" }));

    it("has the durable, GTID, ROW settings of seed 002 on every node", () => {
        for (const cfg of [master, replica]) {
            for (const line of [
                "[mysqld]",
                "gtid_mode = ON",
                "enforce_gtid_consistency = ON",
                "binlog_format = ROW",
                "sync_binlog = 1",
                "innodb_flush_log_at_trx_commit = 1",
                "log_replica_updates = ON",
                "local_infile = 0",
                "relay_log = relay-bin",
            ]) {
                has(cfg, line);
            }
        }
    });

    it("gives every node its own server_id", () => {
        has(master, "server_id = 1");
        has(replica, "server_id = 2");
        has(replica, "report_host = bx-db-replica-1");
    });

    it("sizes the redo log with the 8.0.30+ variable", () => {
        has(master, "innodb_redo_log_capacity = 1024M");
        has(dbServerConfig(input({ redoLogMb: 2048 })), "innodb_redo_log_capacity = 2048M");
    });

    it("loads both semi-sync plugins and enables the source side on the master, the replica side on replicas", () => {
        for (const cfg of [master, replica]) {
            has(cfg, "plugin_load_add = semisync_source.so");
            has(cfg, "plugin_load_add = semisync_replica.so");
        }
        has(master, "loose_rpl_semi_sync_source_enabled = ON");
        has(master, "loose_rpl_semi_sync_replica_enabled = OFF");
        has(master, "loose_rpl_semi_sync_source_timeout = 1000");
        has(replica, "loose_rpl_semi_sync_source_enabled = OFF");
        has(replica, "loose_rpl_semi_sync_replica_enabled = ON");
    });

    it("uses no MariaDB-only variables", () => {
        assert.doesNotMatch(master, /gtid_strict_mode|rpl_semi_sync_master|log_slave_updates|\[mariadbd\]/);
    });
});

describe("dbServerConfig: MariaDB stand-in", () => {
    const master = dbServerConfig(input({ engine: "mariadb" }));
    const replica = dbServerConfig(input({ engine: "mariadb", role: "replica", serverId: 3 }));

    it("uses MariaDB's GTID dialect", () => {
        has(master, "[mariadbd]");
        has(master, "gtid_strict_mode = ON");
        has(master, "log_slave_updates = ON");
        assert.doesNotMatch(master, /^(gtid_mode|enforce_gtid_consistency|super_read_only|plugin_load_add|innodb_redo_log_capacity)\b/m);
    });

    it("keeps the durable settings and sizes the redo log with innodb_log_file_size", () => {
        for (const line of [
            "binlog_format = ROW",
            "sync_binlog = 1",
            "innodb_flush_log_at_trx_commit = 1",
            "local_infile = 0",
            "innodb_log_file_size = 1024M",
        ]) {
            has(master, line);
        }
    });

    it("turns semi-sync on under the built-in master/slave names and makes replicas read-only", () => {
        has(master, "rpl_semi_sync_master_enabled = ON");
        has(master, "read_only = OFF");
        has(replica, "rpl_semi_sync_slave_enabled = ON");
        has(replica, "rpl_semi_sync_master_enabled = OFF");
        has(replica, "read_only = ON");
        has(replica, "server_id = 3");
    });
});
