/**
 * my.cnf of a database node, for Percona Server 8.0 (the product's engine) and MariaDB 10.11 (the local
 * stand-in). Both get GTID replication, ROW binlogs, semi-sync and the durable settings of seed 002; each in
 * its own dialect.
 */
import { DbEngine } from "../config/types";

export interface DbServerInput {
    engine: DbEngine;
    role: "master" | "replica";
    /** Unique per node: 1 for the first master, 2.. for replicas. */
    serverId: number;
    /** Host name this node reports to its master. */
    reportHost: string;
    port: number;
    redoLogMb: number;
    bufferPoolMb: number;
    semiSyncTimeoutMs: number;
    /**
     * A failover manager decides which server is writable: every server, the master too, starts read-only and the
     * manager opens one (so a crashed master that comes back can never take writes beside the promoted one).
     * @default false
     */
    managed?: boolean;
}

/** Where each engine reads extra config files from. */
export const DB_CONFIG_PATH: Record<DbEngine, string> = {
    percona: "/etc/my.cnf.d/90-bitrix.cnf",
    mariadb: "/etc/mysql/mariadb.conf.d/90-bitrix.cnf",
};

function common(input: DbServerInput): string[] {
    return [
        `server_id = ${input.serverId}`,
        `report_host = ${input.reportHost}`,
        `port = ${input.port}`,
        "bind_address = 0.0.0.0",
        "skip_name_resolve = ON",
        "character_set_server = utf8mb4",
        "collation_server = utf8mb4_unicode_ci",
        "transaction_isolation = READ-COMMITTED",
        "sql_mode = NO_ENGINE_SUBSTITUTION",
        "max_connections = 500",
        "# Security hardening (seed 002).",
        "local_infile = 0",
        "# Durability: every commit is on disk in the redo log and the binlog (seed 002).",
        "innodb_flush_log_at_trx_commit = 1",
        "sync_binlog = 1",
        `innodb_buffer_pool_size = ${input.bufferPoolMb}M`,
        "innodb_file_per_table = ON",
        "# Row-based binlogs, required by Bitrix replication (seed 002).",
        "log_bin = binlog",
        "binlog_format = ROW",
        "binlog_row_image = FULL",
        "relay_log = relay-bin",
        "relay_log_recovery = ON",
        ...(input.managed ? ["# The failover manager opens one server for writes; every server starts read-only.", "read_only = ON"] : []),
    ];
}

function percona(input: DbServerInput): string[] {
    const master = input.role === "master";
    return [
        "[mysqld]",
        ...common(input),
        "binlog_expire_logs_seconds = 604800",
        `innodb_redo_log_capacity = ${input.redoLogMb}M`,
        "# GTID replication: replicas attach with SOURCE_AUTO_POSITION=1.",
        "gtid_mode = ON",
        "enforce_gtid_consistency = ON",
        "log_replica_updates = ON",
        "replica_parallel_workers = 4",
        "replica_preserve_commit_order = ON",
        "# With a heartbeat every second a dead source is noticed after 4 s (default 60 s).",
        "replica_net_timeout = 4",
        "# Semi-sync: both plugins on every node so any node can be promoted.",
        "plugin_load_add = semisync_source.so",
        "plugin_load_add = semisync_replica.so",
        `loose_rpl_semi_sync_source_enabled = ${master ? "ON" : "OFF"}`,
        `loose_rpl_semi_sync_source_timeout = ${input.semiSyncTimeoutMs}`,
        "loose_rpl_semi_sync_source_wait_point = AFTER_SYNC",
        `loose_rpl_semi_sync_replica_enabled = ${master ? "OFF" : "ON"}`,
        ...(master
            ? []
            : [
                  "# read_only and super_read_only are set by the replica's init SQL with SET PERSIST once the",
                  "# image's first-start initialisation has written its users (it could not under super_read_only).",
              ]),
        "",
    ];
}

function mariadb(input: DbServerInput): string[] {
    const master = input.role === "master";
    return [
        "[mariadbd]",
        ...common(input),
        "expire_logs_days = 7",
        `innodb_log_file_size = ${input.redoLogMb}M`,
        "# MariaDB GTIDs: strict mode, one domain; replicas attach with MASTER_USE_GTID=slave_pos.",
        "gtid_strict_mode = ON",
        "gtid_domain_id = 0",
        "log_slave_updates = ON",
        "slave_parallel_threads = 4",
        "slave_parallel_mode = optimistic",
        "# With a heartbeat every second a dead master is noticed after 4 s (default 60 s).",
        "slave_net_timeout = 4",
        "# Semi-sync is built into MariaDB under the master/slave names.",
        `rpl_semi_sync_master_enabled = ${master ? "ON" : "OFF"}`,
        `rpl_semi_sync_master_timeout = ${input.semiSyncTimeoutMs}`,
        "rpl_semi_sync_master_wait_point = AFTER_SYNC",
        ...(input.managed
            ? [
                  "# Every server starts as a replica (the manager opens one). A crashed master restarting so truncates the",
                  "# binlog transactions no replica acknowledged (MDEV-21117; since MDEV-33465 only with init_rpl_role =",
                  "# SLAVE), so it can rejoin the promoted replica without errant GTIDs; if it restarts before a failover",
                  "# and a replica received more than it kept, the manager promotes that replica.",
                  "rpl_semi_sync_slave_enabled = ON",
                  "init_rpl_role = SLAVE",
              ]
            : [`rpl_semi_sync_slave_enabled = ${master ? "OFF" : "ON"}`]),
        "# MariaDB has no super_read_only; read_only stops every user without READ_ONLY ADMIN.",
        ...(input.managed ? [] : [`read_only = ${master ? "OFF" : "ON"}`]),
        "",
    ];
}

export function dbServerConfig(input: DbServerInput): string {
    return (input.engine === "percona" ? percona(input) : mariadb(input)).join("\n");
}
