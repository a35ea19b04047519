import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { masterInitSql, replicaInitSql, sqlIdent, sqlString } from "../../../components/database/initSql";

describe("sql quoting", () => {
    it("escapes quotes and backslashes in string literals", () => {
        assert.equal(sqlString("a'b\\c"), "'a''b\\\\c'");
        assert.equal(sqlIdent("we`ird"), "`we``ird`");
    });
});

describe("masterInitSql", () => {
    const sql = masterInitSql({
        engine: "percona",
        database: "bitrix",
        appUser: "bitrix",
        appPassword: "s3'cr",
        replicationUser: "replicator",
        replicationPassword: "rp",
    });
    const maria = masterInitSql({
        engine: "mariadb",
        database: "bitrix",
        appUser: "bitrix",
        appPassword: "x",
        replicationUser: "r",
        replicationPassword: "r",
    });

    it("creates the application database in utf8mb4 and its user with rights on it, plus reading replication status", () => {
        assert.match(sql, /CREATE DATABASE IF NOT EXISTS `bitrix` CHARACTER SET utf8mb4/);
        assert.match(sql, /CREATE USER IF NOT EXISTS 'bitrix'@'%' IDENTIFIED BY 's3''cr';/);
        const grants = sql.split("\n").filter((l) => l.startsWith("GRANT") && l.includes("'bitrix'@"));
        // The cluster module checks each replica's SHOW SLAVE STATUS with the application login.
        assert.deepEqual(grants, [
            "GRANT ALL PRIVILEGES ON `bitrix`.* TO 'bitrix'@'%';",
            "GRANT REPLICATION CLIENT ON *.* TO 'bitrix'@'%';",
        ]);
        assert.match(maria, /^GRANT SLAVE MONITOR, BINLOG MONITOR ON \*\.\* TO 'bitrix'@'%';$/m);
    });

    it("gives the replication user the replication grant and nothing else", () => {
        const grants = sql.split("\n").filter((l) => l.startsWith("GRANT") && l.includes("'replicator'"));
        assert.deepEqual(grants, ["GRANT REPLICATION SLAVE ON *.* TO 'replicator'@'%';"]);
    });

    it("adds BINLOG MONITOR on MariaDB only, for the binlog stream's lag (SHOW BINARY LOGS)", () => {
        const grants = maria.split("\n").filter((l) => l.startsWith("GRANT") && l.includes("'r'@"));
        assert.deepEqual(grants, ["GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'r'@'%';"]);
    });
});

describe("replicaInitSql", () => {
    const percona = replicaInitSql({
        engine: "percona",
        masterHost: "bx-db-master",
        masterPort: 3306,
        replicationUser: "replicator",
        replicationPassword: "p'w",
    });
    const mariadb = replicaInitSql({
        engine: "mariadb",
        masterHost: "bx-db-master",
        masterPort: 3306,
        replicationUser: "replicator",
        replicationPassword: "pw",
    });

    it("Percona: drops its own GTIDs, attaches by auto-position with the source's public key, then goes read-only", () => {
        assert.ok(percona.indexOf("RESET MASTER;") < percona.indexOf("CHANGE REPLICATION SOURCE TO"));
        assert.match(percona, /SOURCE_HOST = 'bx-db-master', SOURCE_PORT = 3306/);
        assert.match(percona, /SOURCE_PASSWORD = 'p''w'/);
        assert.match(percona, /SOURCE_AUTO_POSITION = 1/);
        assert.match(percona, /GET_SOURCE_PUBLIC_KEY = 1/);
        assert.match(percona, /START REPLICA;/);
        assert.match(percona, /SET PERSIST super_read_only = ON;/);
        assert.doesNotMatch(percona, /MASTER_USE_GTID|CHANGE MASTER/);
    });

    it("MariaDB: clears its GTID state without binlogging and attaches with MASTER_USE_GTID=slave_pos", () => {
        assert.match(mariadb, /SET SESSION sql_log_bin = 0;/);
        assert.match(mariadb, /SET GLOBAL gtid_slave_pos = '';/);
        assert.match(mariadb, /CHANGE MASTER TO\n\s+MASTER_HOST = 'bx-db-master', MASTER_PORT = 3306,/);
        assert.match(mariadb, /MASTER_USE_GTID = slave_pos/);
        assert.match(mariadb, /START SLAVE;/);
        assert.doesNotMatch(mariadb, /SOURCE_AUTO_POSITION|super_read_only|GET_SOURCE_PUBLIC_KEY/);
    });
});
