/**
 * Physical backups of the database layer, as data (pure, unit-tested): the copy taken on a replica with MariaDB's
 * mariadb-backup or Percona XtraBackup 8.0, its prepare and copy-back, the GTID position it is consistent with (read
 * from the files the tool writes beside the copy), and the SQL that re-seeds a server started on the copy, as the new
 * master or as a replica of a given master.
 *
 * Sources: `mariadb-backup --help` of Debian 12's mariadb-backup 1:10.11.19 (the flags, the option groups it reads)
 * and what that tool wrote in tests/daemons/physicalBackup.test.ts; for Percona XtraBackup 8.0 the pxb-docs pages
 * https://docs.percona.com/percona-xtrabackup/8.0/make-backup-in-replication-env.html (--slave-info,
 * --safe-slave-backup), .../create-gtid-replica.html (xtrabackup_binlog_info, RESET MASTER + gtid_purged +
 * SOURCE_AUTO_POSITION), .../restore-a-backup.html (--copy-back/--move-back, an empty datadir) and
 * .../configure-xtrabackup.html (the [xtrabackup] option group).
 */
import * as path from "path";
import { replicaInitSql, sqlIdent, sqlString } from "../../components/database/initSql";
import type { Engine } from "./plan";

/** The backup tool of each engine (MariaDB 10.11 still installs `mariabackup` as a link to the same binary). */
export const PHYSICAL_TOOL: Record<Engine, string> = { mariadb: "mariadb-backup", percona: "xtrabackup" };

/**
 * Option-file group the tool reads its login from: mariadb-backup 10.11 reads [mariadb-backup] (its --help lists
 * "xtrabackup mariabackup mariadb-backup mysqld server … client-server galera"); xtrabackup 8.0 reads [mysqld] then
 * [xtrabackup] (configure-xtrabackup.html).
 */
export const OPTION_GROUP: Record<Engine, string> = { mariadb: "mariadb-backup", percona: "xtrabackup" };

/**
 * Files the tool writes beside the copy, newest name first. Debian's mariadb-backup 10.11.19 writes the xtrabackup_*
 * names (captured by the daemon test); later MariaDB releases name them mariadb_backup_* (MariaDB's documentation of
 * --slave-info for 23.08 ES), so both are read. Percona XtraBackup 8.0 writes xtrabackup_*.
 */
export const INFO_FILES: Record<Engine, { binlog: string[]; slave: string[] }> = {
    mariadb: {
        binlog: ["mariadb_backup_binlog_info", "xtrabackup_binlog_info"],
        slave: ["mariadb_backup_slave_info", "xtrabackup_slave_info"],
    },
    percona: { binlog: ["xtrabackup_binlog_info"], slave: ["xtrabackup_slave_info"] },
};

export interface BackupLogin {
    user: string;
    password: string;
    /** Unix socket of the server to copy (the replica); else host and port. */
    socket?: string;
    host?: string;
    port?: number;
}

export interface PhysicalBackupOptions {
    /**
     * Option file (mode 0600, from {@link backupOptionFile}) with the login: the password never appears in argv,
     * where `ps` and /proc/<pid>/cmdline would show it for the whole copy.
     */
    optionFile: string;
    /** Data files copied in parallel. @default 1 (the tool's own default) */
    parallel?: number;
    /** Seconds --safe-slave-backup waits for the replica's open temporary tables to reach zero. @default 300 (the tools' default) */
    safeSlaveBackupTimeout?: number;
    /**
     * The server's data directory, where the tool runs without the server's my.cnf (XtraBackup in its own container:
     * Percona's docker.html passes `--datadir=/var/lib/mysql` the same way). @default none: the tool reads it from
     * the server's option files
     */
    datadir?: string;
}

/** An absolute, normalised directory that fits in one option value (no NUL or line break; never "/"). */
export function checkDir(what: string, dir: string): string {
    if (typeof dir !== "string" || !path.isAbsolute(dir))
        throw new Error(`physical backup: ${what} must be an absolute path, got ${JSON.stringify(dir)}`);
    if (/[\0\r\n]/.test(dir)) throw new Error(`physical backup: ${what} must not contain NUL or line breaks: ${JSON.stringify(dir)}`);
    const norm = path.normalize(dir).replace(/(.)\/+$/, "$1");
    if (norm === "/") throw new Error(`physical backup: ${what} must not be the root directory`);
    return norm;
}

function checkCount(what: string, n: number | undefined): void {
    if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 65535))
        throw new Error(`physical backup: ${what} must be an integer from 1 to 65535, got ${n}`);
}

/** One option-file value: double-quoted, with the escapes MariaDB's and MySQL's option-file reader undo. */
export function optionValue(value: string): string {
    if (value.includes("\0")) throw new Error("physical backup: an option value must not contain NUL");
    const esc: Record<string, string> = { "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t" };
    return `"${value.replace(/[\\"\n\r\t]/g, (c) => esc[c])}"`;
}

/**
 * The option file that carries the backup login (write it mode 0600 and pass its path as `optionFile`). Only the
 * tool's own group, so neither the server nor the other clients read it.
 */
export function backupOptionFile(engine: Engine, login: BackupLogin): string {
    if (!/^[A-Za-z0-9_]{1,32}$/.test(login.user))
        throw new Error(`physical backup: unusable backup user name ${JSON.stringify(login.user)}`);
    if (login.port !== undefined && (!Number.isInteger(login.port) || login.port < 1 || login.port > 65535))
        throw new Error(`physical backup: port must be 1-65535, got ${login.port}`);
    return [
        `[${OPTION_GROUP[engine]}]`,
        `user = ${optionValue(login.user)}`,
        `password = ${optionValue(login.password)}`,
        ...(login.socket !== undefined ? [`socket = ${optionValue(checkDir("socket", login.socket))}`] : []),
        ...(login.host !== undefined ? [`host = ${optionValue(login.host)}`] : []),
        ...(login.port !== undefined ? [`port = ${login.port}`] : []),
        "",
    ].join("\n");
}

/**
 * The backup login, created on the master (its binlog carries it to the replicas, where the copy is taken), for the
 * local socket only. MariaDB 10.11: RELOAD, PROCESS, LOCK TABLES and BINLOG MONITOR for the copy's locks and binlog
 * position, SLAVE MONITOR for --slave-info, REPLICATION SLAVE ADMIN for --safe-slave-backup's STOP/START SLAVE
 * SQL_THREAD (the daemon test asserts mariadb-backup reports no missing privilege). Percona 8.0: the minimal grant of
 * privileges.md plus SUPER, which that page names for starting and stopping the replication threads.
 */
export function backupUserSql(engine: Engine, user: string, password: string): string {
    if (!/^[A-Za-z0-9_]{1,32}$/.test(user)) throw new Error(`physical backup: unusable backup user name ${JSON.stringify(user)}`);
    const who = `${sqlString(user)}@'localhost'`;
    const grants =
        engine === "mariadb"
            ? [`GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR, SLAVE MONITOR, REPLICATION SLAVE ADMIN ON *.* TO ${who};`]
            : [
                  `GRANT BACKUP_ADMIN, PROCESS, RELOAD, LOCK TABLES, REPLICATION CLIENT, SUPER ON *.* TO ${who};`,
                  ...["log_status", "keyring_component_status", "replication_group_members"].map(
                      (t) => `GRANT SELECT ON ${sqlIdent("performance_schema")}.${sqlIdent(t)} TO ${who};`,
                  ),
              ];
    return [`CREATE USER IF NOT EXISTS ${who} IDENTIFIED BY ${sqlString(password)};`, ...grants, ""].join("\n");
}

/**
 * The copy, taken on a replica: `--slave-info` records the master's GTID position the copy is consistent with
 * (xtrabackup_slave_info), `--safe-slave-backup` stops the replica's SQL thread while the copy is locked so that
 * position cannot move, and restarts it at the end (both flags in mariadb-backup 10.11's --help and in XtraBackup
 * 8.0's make-backup-in-replication-env.html). `--defaults-extra-file` must be the first argument.
 */
export function physicalBackupCommand(engine: Engine, targetDir: string, opts: PhysicalBackupOptions): string[] {
    checkCount("parallel", opts.parallel);
    checkCount("safeSlaveBackupTimeout", opts.safeSlaveBackupTimeout);
    return [
        PHYSICAL_TOOL[engine],
        `--defaults-extra-file=${checkDir("optionFile", opts.optionFile)}`,
        "--backup",
        ...(opts.datadir !== undefined ? [`--datadir=${checkDir("datadir", opts.datadir)}`] : []),
        `--target-dir=${checkDir("targetDir", targetDir)}`,
        "--slave-info",
        "--safe-slave-backup",
        ...(opts.safeSlaveBackupTimeout !== undefined ? [`--safe-slave-backup-timeout=${opts.safeSlaveBackupTimeout}`] : []),
        ...(opts.parallel !== undefined ? [`--parallel=${opts.parallel}`] : []),
    ];
}

/** Applies the redo log copied with the data files, so the copy is consistent and a server can start on it. */
export function prepareCommand(engine: Engine, dir: string): string[] {
    return [PHYSICAL_TOOL[engine], "--prepare", `--target-dir=${checkDir("dir", dir)}`];
}

/**
 * Puts a prepared copy into a server's (stopped, empty) data directory: `--copy-back` keeps the copy,
 * `--move-back` moves its files (faster, same filesystem; the copy is gone). The files belong to whoever runs it:
 * chown them to the server's user before starting it.
 */
export function copyBackCommand(engine: Engine, dir: string, datadir: string, opts: { move?: boolean } = {}): string[] {
    const from = checkDir("dir", dir);
    const to = checkDir("datadir", datadir);
    if (from === to) throw new Error("physical backup: the copy and the data directory must differ");
    return [PHYSICAL_TOOL[engine], opts.move ? "--move-back" : "--copy-back", `--target-dir=${from}`, `--datadir=${to}`];
}

const MARIADB_GTID = /^(\d{1,10})-(\d{1,10})-(\d{1,20})$/;
const UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
const MYSQL_GTID_SET_ITEM = new RegExp(`^${UUID}(?::\\d{1,19}(?:-\\d{1,19})?)+$`);

/**
 * A MariaDB GTID position ("0-1-42", several domains comma-separated), normalised; throws on anything else: a
 * malformed GTID, a number out of range, a domain twice, or an empty position.
 */
export function checkMariadbGtidPos(pos: string): string {
    const items = pos
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
    if (items.length === 0) throw new Error("physical backup: empty MariaDB GTID position");
    const domains = new Set<string>();
    for (const item of items) {
        const m = MARIADB_GTID.exec(item);
        if (!m || Number(m[1]) > 0xffffffff || Number(m[2]) > 0xffffffff || BigInt(m[3]) > 0xffffffffffffffffn)
            throw new Error(`physical backup: ${JSON.stringify(item)} is not a MariaDB GTID (domain-server-sequence)`);
        if (domains.has(m[1])) throw new Error(`physical backup: GTID position ${JSON.stringify(pos)} names domain ${m[1]} twice`);
        domains.add(m[1]);
    }
    return items.join(",");
}

/**
 * A MySQL/Percona GTID set ("uuid:1-42,uuid2:1-7"; MySQL prints a line break after each comma), normalised to one
 * line; throws on anything else or on an empty set.
 */
export function checkMysqlGtidSet(set: string): string {
    const items = set
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
    if (items.length === 0) throw new Error("physical backup: empty GTID set");
    for (const item of items) {
        if (!MYSQL_GTID_SET_ITEM.test(item))
            throw new Error(`physical backup: ${JSON.stringify(item)} is not a GTID set item (uuid:first-last)`);
        for (const iv of item.split(":").slice(1)) {
            const [a, b] = iv.split("-").map((n) => BigInt(n));
            if (a < 1n || (b !== undefined && b < a))
                throw new Error(`physical backup: bad GTID interval ${JSON.stringify(iv)} in ${JSON.stringify(item)}`);
        }
    }
    return items.join(",");
}

/** A GTID position or set of the engine, normalised (see {@link checkMariadbGtidPos}, {@link checkMysqlGtidSet}). */
export function checkGtid(engine: Engine, gtid: string): string {
    return engine === "mariadb" ? checkMariadbGtidPos(gtid) : checkMysqlGtidSet(gtid);
}

export interface BinlogInfo {
    file: string;
    position: number;
    /** The copied server's own GTID state (MariaDB gtid_current_pos; Percona gtid_executed). */
    gtid: string;
}

/**
 * xtrabackup_binlog_info: the copied server's binlog file, position and GTID state, tab-separated. MariaDB 10.11
 * wrote `binlog.000002\t1908\t0-1-9\n`; XtraBackup 8.0's is `mysql-bin.000002\t1232\tc777888a-…:1-4`
 * (create-gtid-replica.html) and a set of several UUIDs continues on following lines, as MySQL prints gtid_executed.
 */
export function parseBinlogInfo(engine: Engine, text: string): BinlogInfo {
    const m = /^([^\t\n]+)\t(\d+)\t([\s\S]*)$/.exec(text.replace(/\s+$/, ""));
    if (!m) throw new Error(`physical backup: binlog info ${JSON.stringify(text.slice(0, 200))} is not "file<TAB>position<TAB>gtid"`);
    return { file: m[1], position: Number(m[2]), gtid: checkGtid(engine, m[3]) };
}

/**
 * The master's GTID position in xtrabackup_slave_info of a copy taken on a replica with --slave-info. MariaDB 10.11
 * wrote `SET GLOBAL gtid_slave_pos = '0-1-9';\nCHANGE MASTER TO master_use_gtid = slave_pos;\n` for a replica that
 * uses GTIDs (a replica by file and position gets `CHANGE MASTER TO MASTER_LOG_FILE=…`, which has none: an error).
 */
export function parseMariadbSlaveInfo(text: string): string {
    const m = /SET GLOBAL gtid_slave_pos\s*=\s*'([^']*)'/i.exec(text);
    if (!m)
        throw new Error(
            `physical backup: the slave info ${JSON.stringify(text.slice(0, 200))} records no gtid_slave_pos; was the copy taken on a replica attached by GTID?`,
        );
    return checkMariadbGtidPos(m[1]);
}

/**
 * The GTID position a copy is consistent with, from the files beside it (by name; absent files undefined).
 * MariaDB: the master's position from the slave info (the replica's gtid_slave_pos while its SQL thread was stopped);
 * the binlog info holds the replica's own GTID state ("GTID of the last change"), which must be the same position:
 * a GTID with the replica's server id there is a transaction of its own (an errant GTID, shown by the daemon test)
 * and the copy is refused. Percona: the GTID set of the binlog info (the replica's gtid_executed, whose GTIDs carry
 * the source's UUID; what create-gtid-replica.html sets as gtid_purged). Not checked for errant GTIDs: that needs
 * the source's UUID, which the files do not name.
 */
export function backupGtid(engine: Engine, files: Record<string, string | undefined>): string {
    const first = (names: string[]) => names.map((n) => files[n]).find((t) => t !== undefined);
    const binlog = first(INFO_FILES[engine].binlog);
    if (engine === "percona") {
        if (binlog === undefined) throw new Error("physical backup: the copy has no xtrabackup_binlog_info (binary logging off?)");
        return parseBinlogInfo(engine, binlog).gtid;
    }
    const slave = first(INFO_FILES.mariadb.slave);
    if (slave === undefined)
        throw new Error(
            "physical backup: the copy has no xtrabackup_slave_info / mariadb_backup_slave_info; take it on a replica with --slave-info",
        );
    const pos = parseMariadbSlaveInfo(slave);
    if (binlog !== undefined) {
        const own = parseBinlogInfo(engine, binlog).gtid;
        const sorted = (p: string) => p.split(",").sort().join(",");
        if (sorted(own) !== sorted(pos))
            throw new Error(
                `physical backup: the replica's own GTID state ${own} differs from its master position ${pos}: it has transactions of its own (errant GTIDs)`,
            );
    }
    return pos;
}

/** A server restored from a copy, re-seeded as a replica of `master`. */
export interface ReseedReplicaInput {
    engine: Engine;
    /** The copy's GTID position (from {@link backupGtid}). */
    gtid: string;
    masterHost: string;
    masterPort: number;
    replicationUser: string;
    replicationPassword: string;
}

/**
 * SQL that makes a server started on a restored copy a replica of the master from the copy's GTID position: the
 * replicas' own first-start SQL (components/database/initSql.ts) with the position instead of an empty one —
 * MariaDB `SET GLOBAL gtid_slave_pos = '<pos>'`, CHANGE MASTER … MASTER_USE_GTID = slave_pos, START SLAVE; Percona
 * RESET MASTER, `SET GLOBAL gtid_purged = '<set>'`, CHANGE REPLICATION SOURCE … SOURCE_AUTO_POSITION = 1,
 * START REPLICA (create-gtid-replica.html).
 */
export function reseedReplicaSql(input: ReseedReplicaInput): string {
    const gtid = checkGtid(input.engine, input.gtid);
    if (!Number.isInteger(input.masterPort) || input.masterPort < 1 || input.masterPort > 65535)
        throw new Error(`physical backup: master port must be 1-65535, got ${input.masterPort}`);
    return [
        "-- Restored from a physical copy: follow the master from the copy's GTID position.",
        ...(input.engine === "mariadb" ? ["STOP SLAVE;", "RESET SLAVE ALL;"] : ["STOP REPLICA;", "RESET REPLICA ALL;"]),
        replicaInitSql({
            engine: input.engine,
            masterHost: input.masterHost,
            masterPort: input.masterPort,
            replicationUser: input.replicationUser,
            replicationPassword: input.replicationPassword,
            startAt: gtid,
        }),
    ].join("\n");
}

/**
 * SQL that makes a server started on a restored copy the new master: no replication of its own, the copy's GTID
 * position as its binlog state (MariaDB gtid_binlog_state, so replicas at that position can attach and its next
 * transaction follows it; Percona gtid_purged after RESET MASTER), then writable. MariaDB's read_only is set for
 * the running server only: its config (role master, or the failover manager) decides it at the next start.
 */
export function reseedMasterSql(engine: Engine, gtid: string): string {
    const pos = sqlString(checkGtid(engine, gtid));
    if (engine === "percona") {
        return [
            "-- Restored from a physical copy: the new master, with the copy's transactions as its executed set.",
            "STOP REPLICA;",
            "RESET REPLICA ALL;",
            "RESET MASTER;",
            `SET GLOBAL gtid_purged = ${pos};`,
            "SET PERSIST super_read_only = OFF;",
            "SET PERSIST read_only = OFF;",
            "",
        ].join("\n");
    }
    return [
        "-- Restored from a physical copy: the new master, continuing the copy's GTID sequence.",
        "STOP SLAVE;",
        "RESET SLAVE ALL;",
        "SET SESSION sql_log_bin = 0;",
        "RESET MASTER;",
        `SET GLOBAL gtid_binlog_state = ${pos};`,
        `SET GLOBAL gtid_slave_pos = ${pos};`,
        "SET GLOBAL read_only = OFF;",
        "",
    ].join("\n");
}
