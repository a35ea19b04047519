/**
 * First-start SQL of the database nodes: the master creates the application database, its user and a
 * replication user with nothing but the replication grant; a replica discards any GTIDs of its own
 * initialisation (they would be errant transactions) and attaches to the master by GTID.
 */
import { DbEngine } from "../config/types";

export interface MasterSqlInput {
    engine: DbEngine;
    database: string;
    appUser: string;
    appPassword: string;
    replicationUser: string;
    replicationPassword: string;
    /** The monitoring exporter's login (read-only status grants); none without monitoring. */
    monitor?: { user: string; password: string };
    /** The failover manager's login (read_only and replication control); none without failover. */
    failover?: { user: string; password: string };
}

export interface ReplicaSqlInput {
    engine: DbEngine;
    masterHost: string;
    masterPort: number;
    replicationUser: string;
    replicationPassword: string;
    /**
     * GTID position to start from (a server restored from a physical copy: MariaDB gtid_slave_pos, Percona the set
     * it has executed, as gtid_purged). Validated by the caller. @default none: a fresh replica starts empty
     */
    startAt?: string;
}

/** Where both engines' entrypoints pick up first-start SQL. */
export const INIT_SQL_DIR = "/docker-entrypoint-initdb.d";

/** A MySQL/MariaDB single-quoted string literal. */
export function sqlString(value: string): string {
    return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "''").replace(/\0/g, "\\0")}'`;
}

/** A backquoted identifier (names are validated identifiers; quoting keeps reserved words safe). */
export function sqlIdent(value: string): string {
    return `\`${value.replace(/`/g, "``")}\``;
}

export function masterInitSql(input: MasterSqlInput): string {
    const db = sqlIdent(input.database);
    return [
        "-- Master first start: application database and users. Written to the binlog, so replicas get them by GTID.",
        `CREATE DATABASE IF NOT EXISTS ${db} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;`,
        `CREATE USER IF NOT EXISTS ${sqlString(input.appUser)}@'%' IDENTIFIED BY ${sqlString(input.appPassword)};`,
        `GRANT ALL PRIVILEGES ON ${db}.* TO ${sqlString(input.appUser)}@'%';`,
        // Bitrix's cluster module reads each replica's SHOW SLAVE STATUS (lag, errors) with this login before it reads
        // from it; MariaDB 10.5.9+ asks SLAVE MONITOR for that, MySQL/Percona REPLICATION CLIENT.
        // The cluster module's status check also runs SHOW MASTER STATUS on a node it believes has replicas (one cached
        // flag for all nodes): MariaDB asks BINLOG MONITOR for that, MySQL/Percona's REPLICATION CLIENT covers both.
        `GRANT ${input.engine === "mariadb" ? "SLAVE MONITOR, BINLOG MONITOR" : "REPLICATION CLIENT"} ON *.* TO ${sqlString(input.appUser)}@'%';`,
        `CREATE USER IF NOT EXISTS ${sqlString(input.replicationUser)}@'%' IDENTIFIED BY ${sqlString(input.replicationPassword)};`,
        // MariaDB: the binlog-stream service (binlogStreamScript.ts) logs in as this user and measures its lag with SHOW
        // BINARY LOGS, which asks BINLOG MONITOR; REPLICATION SLAVE already reads the whole binlog, so it reveals nothing more.
        `GRANT REPLICATION SLAVE${input.engine === "mariadb" ? ", BINLOG MONITOR" : ""} ON *.* TO ${sqlString(input.replicationUser)}@'%';`,
        ...(input.monitor
            ? [
                  // mysqld-exporter's grants; MariaDB 10.5+ wants SLAVE MONITOR for SHOW SLAVE STATUS.
                  `CREATE USER IF NOT EXISTS ${sqlString(input.monitor.user)}@'%' IDENTIFIED BY ${sqlString(input.monitor.password)} WITH MAX_USER_CONNECTIONS 3;`,
                  `GRANT PROCESS, REPLICATION CLIENT, ${input.engine === "mariadb" ? "SLAVE MONITOR, " : ""}SELECT ON *.* TO ${sqlString(input.monitor.user)}@'%';`,
              ]
            : []),
        ...(input.failover
            ? [
                  // What the manager does: read status, set read_only, semi-sync and replication (Orchestrator's grant set,
                  // plus MariaDB 10.11's split privileges and MySQL 8's dynamic ones).
                  `CREATE USER IF NOT EXISTS ${sqlString(input.failover.user)}@'%' IDENTIFIED BY ${sqlString(input.failover.password)} WITH MAX_USER_CONNECTIONS 10;`,
                  input.engine === "mariadb"
                      ? `GRANT SUPER, PROCESS, RELOAD, REPLICATION SLAVE, BINLOG MONITOR, SLAVE MONITOR, REPLICATION SLAVE ADMIN, READ_ONLY ADMIN, REPLICATION MASTER ADMIN ON *.* TO ${sqlString(input.failover.user)}@'%';`
                      : `GRANT SUPER, PROCESS, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT, SYSTEM_VARIABLES_ADMIN, REPLICATION_SLAVE_ADMIN ON *.* TO ${sqlString(input.failover.user)}@'%';`,
              ]
            : []),
        "FLUSH PRIVILEGES;",
        "",
    ].join("\n");
}

export function replicaInitSql(input: ReplicaSqlInput): string {
    const host = sqlString(input.masterHost);
    const user = sqlString(input.replicationUser);
    const password = sqlString(input.replicationPassword);
    if (input.engine === "percona") {
        return [
            "-- Replica first start: drop GTIDs written by the image's initialisation, then follow the master.",
            "RESET MASTER;",
            ...(input.startAt !== undefined ? [`SET GLOBAL gtid_purged = ${sqlString(input.startAt)};`] : []),
            "CHANGE REPLICATION SOURCE TO",
            `  SOURCE_HOST = ${host}, SOURCE_PORT = ${input.masterPort},`,
            `  SOURCE_USER = ${user}, SOURCE_PASSWORD = ${password},`,
            "  SOURCE_AUTO_POSITION = 1,",
            "  -- caching_sha2_password without TLS needs the source's RSA key (else MY-002061).",
            "  GET_SOURCE_PUBLIC_KEY = 1,",
            "  -- A heartbeat every second: a dead source is noticed in replica_net_timeout (4 s), not 60 s.",
            "  SOURCE_CONNECT_RETRY = 1, SOURCE_RETRY_COUNT = 86400, SOURCE_HEARTBEAT_PERIOD = 1;",
            "START REPLICA;",
            "SET PERSIST read_only = ON;",
            "SET PERSIST super_read_only = ON;",
            "",
        ].join("\n");
    }
    return [
        "-- Replica first start: nothing of its own in the binlog or GTID state, then follow the master by GTID.",
        "SET SESSION sql_log_bin = 0;",
        "RESET MASTER;",
        `SET GLOBAL gtid_slave_pos = ${sqlString(input.startAt ?? "")};`,
        "CHANGE MASTER TO",
        `  MASTER_HOST = ${host}, MASTER_PORT = ${input.masterPort},`,
        `  MASTER_USER = ${user}, MASTER_PASSWORD = ${password},`,
        "  MASTER_USE_GTID = slave_pos,",
        "  -- A heartbeat every second: a dead master is noticed in slave_net_timeout (4 s), not 60 s.",
        "  MASTER_CONNECT_RETRY = 1, MASTER_HEARTBEAT_PERIOD = 1;",
        "START SLAVE;",
        "",
    ].join("\n");
}
