import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import {
    backupGtid,
    backupOptionFile,
    backupUserSql,
    checkGtid,
    copyBackCommand,
    optionValue,
    parseBinlogInfo,
    parseMariadbSlaveInfo,
    physicalBackupCommand,
    prepareCommand,
    reseedMasterSql,
    reseedReplicaSql,
} from "../../../tools/backup/physical";

// What Debian's mariadb-backup 1:10.11.19 wrote for a copy taken on a GTID replica with --slave-info
// (tests/daemons/physicalBackup.test.ts printed them).
const MARIADB_BINLOG_INFO = "binlog.000002\t1620018\t0-1-34\n";
const MARIADB_SLAVE_INFO = "SET GLOBAL gtid_slave_pos = '0-1-34';\nCHANGE MASTER TO master_use_gtid = slave_pos;\n";
// Percona XtraBackup 8.0's xtrabackup_binlog_info as create-gtid-replica.html shows it
// (https://docs.percona.com/percona-xtrabackup/8.0/create-gtid-replica.html), and a two-UUID set the way MySQL
// prints gtid_executed (a line break after each comma).
const UUID = "c777888a-b6df-11e2-a604-080027635ef5";
const UUID2 = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
const PERCONA_BINLOG_INFO = `mysql-bin.000002\t1232\t${UUID}:1-4\n`;
const PERCONA_BINLOG_INFO_2 = `mysql-bin.000007\t157\t${UUID2}:1-57,\n${UUID}:1-4:6-9\n`;

const OPTS = { optionFile: "/run/backup/login.cnf" };

describe("physical backup commands", () => {
    it("takes the copy on a replica with --slave-info and --safe-slave-backup, the login in an option file", () => {
        assert.deepEqual(physicalBackupCommand("mariadb", "/var/backups/db/2026-12-02", OPTS), [
            "mariadb-backup",
            "--defaults-extra-file=/run/backup/login.cnf",
            "--backup",
            "--target-dir=/var/backups/db/2026-12-02",
            "--slave-info",
            "--safe-slave-backup",
        ]);
        assert.deepEqual(physicalBackupCommand("percona", "/var/backups/db/x/", { ...OPTS, parallel: 4, safeSlaveBackupTimeout: 600 }), [
            "xtrabackup",
            "--defaults-extra-file=/run/backup/login.cnf",
            "--backup",
            "--target-dir=/var/backups/db/x",
            "--slave-info",
            "--safe-slave-backup",
            "--safe-slave-backup-timeout=600",
            "--parallel=4",
        ]);
    });

    it("prepares and copies back, per engine", () => {
        assert.deepEqual(prepareCommand("mariadb", "/b/c"), ["mariadb-backup", "--prepare", "--target-dir=/b/c"]);
        assert.deepEqual(prepareCommand("percona", "/b/c"), ["xtrabackup", "--prepare", "--target-dir=/b/c"]);
        assert.deepEqual(copyBackCommand("mariadb", "/b/c", "/var/lib/mysql"), [
            "mariadb-backup",
            "--copy-back",
            "--target-dir=/b/c",
            "--datadir=/var/lib/mysql",
        ]);
        assert.deepEqual(copyBackCommand("percona", "/b/c", "/var/lib/mysql/", { move: true }), [
            "xtrabackup",
            "--move-back",
            "--target-dir=/b/c",
            "--datadir=/var/lib/mysql",
        ]);
    });

    it("refuses relative, root, multi-line or identical directories and bad counts", () => {
        assert.throws(() => physicalBackupCommand("mariadb", "backups/x", OPTS), /targetDir must be an absolute path, got "backups\/x"/);
        assert.throws(() => physicalBackupCommand("mariadb", "/b", { optionFile: "login.cnf" }), /optionFile must be an absolute path/);
        assert.throws(() => physicalBackupCommand("mariadb", "/", OPTS), /targetDir must not be the root directory/);
        assert.throws(() => physicalBackupCommand("mariadb", "/b/x\n--no-lock", OPTS), /must not contain NUL or line breaks/);
        assert.throws(
            () => physicalBackupCommand("mariadb", "/b", { ...OPTS, parallel: 0 }),
            /parallel must be an integer from 1 to 65535/,
        );
        assert.throws(() => prepareCommand("percona", "./c"), /dir must be an absolute path/);
        assert.throws(() => copyBackCommand("mariadb", "/b/c", "var/lib/mysql"), /datadir must be an absolute path/);
        assert.throws(() => copyBackCommand("mariadb", "/b/c", "/b/c/"), /the copy and the data directory must differ/);
    });
});

describe("backup login", () => {
    it("writes only the tool's own option group, values quoted as the option-file reader expects", () => {
        assert.equal(
            backupOptionFile("mariadb", { user: "physbackup", password: `b"k p#w'd\\x `, socket: "/run/mysqld/mysqld.sock" }),
            '[mariadb-backup]\nuser = "physbackup"\npassword = "b\\"k p#w\'d\\\\x "\nsocket = "/run/mysqld/mysqld.sock"\n',
        );
        assert.equal(
            backupOptionFile("percona", { user: "bkp", password: "tab\there\nnl", host: "127.0.0.1", port: 3306 }),
            '[xtrabackup]\nuser = "bkp"\npassword = "tab\\there\\nnl"\nhost = "127.0.0.1"\nport = 3306\n',
        );
        assert.throws(() => backupOptionFile("mariadb", { user: "a b", password: "x" }), /unusable backup user name "a b"/);
        assert.throws(() => backupOptionFile("mariadb", { user: "a", password: "x", port: 70000 }), /port must be 1-65535/);
        assert.throws(() => optionValue("a\0b"), /must not contain NUL/);
    });

    it("grants the backup login what each tool needs, on the local socket only", () => {
        assert.equal(
            backupUserSql("mariadb", "physbackup", "it's"),
            "CREATE USER IF NOT EXISTS 'physbackup'@'localhost' IDENTIFIED BY 'it''s';\n" +
                "GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR, SLAVE MONITOR, REPLICATION SLAVE ADMIN ON *.* TO 'physbackup'@'localhost';\n",
        );
        assert.equal(
            backupUserSql("percona", "physbackup", "pw"),
            "CREATE USER IF NOT EXISTS 'physbackup'@'localhost' IDENTIFIED BY 'pw';\n" +
                "GRANT BACKUP_ADMIN, PROCESS, RELOAD, LOCK TABLES, REPLICATION CLIENT, SUPER ON *.* TO 'physbackup'@'localhost';\n" +
                "GRANT SELECT ON `performance_schema`.`log_status` TO 'physbackup'@'localhost';\n" +
                "GRANT SELECT ON `performance_schema`.`keyring_component_status` TO 'physbackup'@'localhost';\n" +
                "GRANT SELECT ON `performance_schema`.`replication_group_members` TO 'physbackup'@'localhost';\n",
        );
        assert.throws(() => backupUserSql("mariadb", "x'@'%", "pw"), /unusable backup user name/);
    });
});

describe("the copy's GTID position", () => {
    it("parses the binlog info both tools write", () => {
        assert.deepEqual(parseBinlogInfo("mariadb", MARIADB_BINLOG_INFO), { file: "binlog.000002", position: 1620018, gtid: "0-1-34" });
        assert.deepEqual(parseBinlogInfo("percona", PERCONA_BINLOG_INFO), {
            file: "mysql-bin.000002",
            position: 1232,
            gtid: `${UUID}:1-4`,
        });
        assert.deepEqual(parseBinlogInfo("percona", PERCONA_BINLOG_INFO_2), {
            file: "mysql-bin.000007",
            position: 157,
            gtid: `${UUID2}:1-57,${UUID}:1-4:6-9`,
        });
    });

    it("takes MariaDB's position from the slave info, and refuses a replica with transactions of its own", () => {
        assert.equal(parseMariadbSlaveInfo(MARIADB_SLAVE_INFO), "0-1-34");
        assert.equal(
            backupGtid("mariadb", { xtrabackup_binlog_info: MARIADB_BINLOG_INFO, xtrabackup_slave_info: MARIADB_SLAVE_INFO }),
            "0-1-34",
        );
        // Later MariaDB releases' names are read first.
        assert.equal(
            backupGtid("mariadb", {
                mariadb_backup_slave_info: "SET GLOBAL gtid_slave_pos = '0-1-40';\n",
                mariadb_backup_binlog_info: "binlog.000003\t99\t0-1-40\n",
                xtrabackup_slave_info: MARIADB_SLAVE_INFO,
            }),
            "0-1-40",
        );
        assert.throws(
            () =>
                backupGtid("mariadb", {
                    xtrabackup_binlog_info: "binlog.000002\t1620018\t0-2-35\n",
                    xtrabackup_slave_info: MARIADB_SLAVE_INFO,
                }),
            /own GTID state 0-2-35 differs from its master position 0-1-34: it has transactions of its own \(errant GTIDs\)/,
        );
        // Several domains: the same position in another order is the same position.
        assert.equal(
            backupGtid("mariadb", {
                xtrabackup_binlog_info: "binlog.000002\t1620018\t1-1-3,0-1-34\n",
                xtrabackup_slave_info: "SET GLOBAL gtid_slave_pos = '0-1-34,1-1-3';\n",
            }),
            "0-1-34,1-1-3",
        );
        assert.throws(
            () => backupGtid("mariadb", { xtrabackup_binlog_info: MARIADB_BINLOG_INFO }),
            /take it on a replica with --slave-info/,
        );
        assert.throws(
            () => parseMariadbSlaveInfo("CHANGE MASTER TO MASTER_LOG_FILE='binlog.000002', MASTER_LOG_POS=1908;\n"),
            /records no gtid_slave_pos; was the copy taken on a replica attached by GTID\?/,
        );
    });

    it("takes Percona's set from the binlog info", () => {
        assert.equal(backupGtid("percona", { xtrabackup_binlog_info: PERCONA_BINLOG_INFO_2 }), `${UUID2}:1-57,${UUID}:1-4:6-9`);
        assert.throws(() => backupGtid("percona", {}), /no xtrabackup_binlog_info/);
    });

    it("refuses positions that do not parse", () => {
        assert.equal(checkGtid("mariadb", " 0-1-5, 1-1-7 "), "0-1-5,1-1-7");
        for (const bad of ["", "0-1", "0-1-x", "0-1-5;DROP", "0-1-5,0-2-6", "4294967296-1-1", "0-1-18446744073709551616", "'0-1-5'"])
            assert.throws(() => checkGtid("mariadb", bad), /MariaDB GTID|GTID position|names domain 0 twice/, bad);
        for (const bad of ["", `${UUID}`, `${UUID}:0-4`, `${UUID}:5-4`, `${UUID}:1-4'`, "not-a-uuid:1-4", `${UUID}:1-4,,x`])
            assert.throws(() => checkGtid("percona", bad), /GTID set|bad GTID interval/, bad);
        assert.throws(() => parseBinlogInfo("mariadb", "binlog.000002 1908 0-1-9"), /is not "file<TAB>position<TAB>gtid"/);
        assert.throws(() => parseBinlogInfo("mariadb", "binlog.000002\t1908\t\n"), /is not "file<TAB>position<TAB>gtid"/);
        assert.throws(() => parseBinlogInfo("mariadb", "binlog.000002\t1908\t,\n"), /empty MariaDB GTID position/);
    });
});

describe("re-seeding a server restored from a copy", () => {
    const master = { masterHost: "10.0.0.5", masterPort: 3306, replicationUser: "replicator", replicationPassword: "re'pl" };

    it("MariaDB: follows the master from the copy's gtid_slave_pos", () => {
        assert.equal(
            reseedReplicaSql({ engine: "mariadb", gtid: "0-1-34", ...master }),
            [
                "-- Restored from a physical copy: follow the master from the copy's GTID position.",
                "STOP SLAVE;",
                "RESET SLAVE ALL;",
                "-- Replica first start: nothing of its own in the binlog or GTID state, then follow the master by GTID.",
                "SET SESSION sql_log_bin = 0;",
                "RESET MASTER;",
                "SET GLOBAL gtid_slave_pos = '0-1-34';",
                "CHANGE MASTER TO",
                "  MASTER_HOST = '10.0.0.5', MASTER_PORT = 3306,",
                "  MASTER_USER = 'replicator', MASTER_PASSWORD = 're''pl',",
                "  MASTER_USE_GTID = slave_pos,",
                "  -- A heartbeat every second: a dead master is noticed in slave_net_timeout (4 s), not 60 s.",
                "  MASTER_CONNECT_RETRY = 1, MASTER_HEARTBEAT_PERIOD = 1;",
                "START SLAVE;",
                "",
            ].join("\n"),
        );
    });

    it("Percona: RESET MASTER, gtid_purged, auto-position", () => {
        assert.equal(
            reseedReplicaSql({ engine: "percona", gtid: `${UUID2}:1-57,\n${UUID}:1-4`, ...master }),
            [
                "-- Restored from a physical copy: follow the master from the copy's GTID position.",
                "STOP REPLICA;",
                "RESET REPLICA ALL;",
                "-- Replica first start: drop GTIDs written by the image's initialisation, then follow the master.",
                "RESET MASTER;",
                `SET GLOBAL gtid_purged = '${UUID2}:1-57,${UUID}:1-4';`,
                "CHANGE REPLICATION SOURCE TO",
                "  SOURCE_HOST = '10.0.0.5', SOURCE_PORT = 3306,",
                "  SOURCE_USER = 'replicator', SOURCE_PASSWORD = 're''pl',",
                "  SOURCE_AUTO_POSITION = 1,",
                "  -- caching_sha2_password without TLS needs the source's RSA key (else MY-002061).",
                "  GET_SOURCE_PUBLIC_KEY = 1,",
                "  -- A heartbeat every second: a dead source is noticed in replica_net_timeout (4 s), not 60 s.",
                "  SOURCE_CONNECT_RETRY = 1, SOURCE_RETRY_COUNT = 86400, SOURCE_HEARTBEAT_PERIOD = 1;",
                "START REPLICA;",
                "SET PERSIST read_only = ON;",
                "SET PERSIST super_read_only = ON;",
                "",
            ].join("\n"),
        );
    });

    it("as the new master: no replication, the copy's position as binlog state, writable", () => {
        assert.equal(
            reseedMasterSql("mariadb", "0-1-34"),
            [
                "-- Restored from a physical copy: the new master, continuing the copy's GTID sequence.",
                "STOP SLAVE;",
                "RESET SLAVE ALL;",
                "SET SESSION sql_log_bin = 0;",
                "RESET MASTER;",
                "SET GLOBAL gtid_binlog_state = '0-1-34';",
                "SET GLOBAL gtid_slave_pos = '0-1-34';",
                "SET GLOBAL read_only = OFF;",
                "",
            ].join("\n"),
        );
        assert.equal(
            reseedMasterSql("percona", `${UUID}:1-4`),
            [
                "-- Restored from a physical copy: the new master, with the copy's transactions as its executed set.",
                "STOP REPLICA;",
                "RESET REPLICA ALL;",
                "RESET MASTER;",
                `SET GLOBAL gtid_purged = '${UUID}:1-4';`,
                "SET PERSIST super_read_only = OFF;",
                "SET PERSIST read_only = OFF;",
                "",
            ].join("\n"),
        );
    });

    it("refuses positions that do not parse and bad ports before writing any SQL", () => {
        assert.throws(
            () => reseedReplicaSql({ engine: "mariadb", gtid: "0-1-34'; DROP DATABASE bitrix; --", ...master }),
            /is not a MariaDB GTID/,
        );
        assert.throws(() => reseedReplicaSql({ engine: "percona", gtid: "0-1-34", ...master }), /is not a GTID set item/);
        assert.throws(
            () => reseedReplicaSql({ engine: "mariadb", gtid: "0-1-34", ...master, masterPort: 0 }),
            /master port must be 1-65535/,
        );
        assert.throws(() => reseedMasterSql("mariadb", ""), /empty MariaDB GTID position/);
    });
});
