import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { failoverManagerConfig } from "../../../components/database/failoverManager";
import { dbServerConfig } from "../../../components/database/serverConfig";
import { masterInitSql } from "../../../components/database/initSql";

const nodes = [
    { name: "db-master", host: "m", port: 3306 },
    { name: "db-replica-1", host: "r1", port: 3306 },
];

describe("failover manager config", () => {
    it("lists the servers master first with the default timings, and no password", () => {
        const c = JSON.parse(failoverManagerConfig({ engine: "mariadb", nodes, user: "failover", replicationUser: "replicator" }));
        assert.deepEqual(c, {
            engine: "mariadb",
            nodes,
            user: "failover",
            replicationUser: "replicator",
            checkIntervalS: 1,
            failAfter: 3,
            connectTimeoutS: 1,
        });
    });

    it("carries Bitrix's replica-row settings (database, login, the cache's Redis nodes and sid), and no password", () => {
        const c = JSON.parse(
            failoverManagerConfig({
                engine: "mariadb",
                nodes,
                user: "failover",
                replicationUser: "replicator",
                bitrix: { database: "bitrix", user: "bitrix", cache: { nodes: [{ host: "redis-1", port: 6379 }], sid: "bx" } },
            }),
        );
        assert.deepEqual(c.bitrix, {
            database: "bitrix",
            user: "bitrix",
            cache: { nodes: [{ host: "redis-1", port: 6379 }], sid: "bx" },
            weight: 100,
            syncEveryS: 10,
        });
        assert.doesNotMatch(JSON.stringify(c), /password/i);
    });

    it("refuses a cluster without a replica to promote", () => {
        assert.throws(
            () => failoverManagerConfig({ engine: "percona", nodes: nodes.slice(0, 1), user: "f", replicationUser: "r" }),
            /at least one replica/,
        );
    });

    it("starts every managed server read-only with a 4 s dead-source timeout; unmanaged keeps the fixed roles", () => {
        const base = { serverId: 1, reportHost: "m", port: 3306, redoLogMb: 64, bufferPoolMb: 64, semiSyncTimeoutMs: 1000 };
        for (const engine of ["mariadb", "percona"] as const) {
            const master = dbServerConfig({ ...base, engine, role: "master", managed: true });
            assert.equal(master.match(/^read_only = ON$/gm)?.length, 1, engine);
            assert.match(master, engine === "mariadb" ? /^slave_net_timeout = 4$/m : /^replica_net_timeout = 4$/m);
        }
        const mariaMaster = dbServerConfig({ ...base, engine: "mariadb", role: "master", managed: true });
        assert.match(mariaMaster, /^rpl_semi_sync_slave_enabled = ON$/m, "a restarted master truncates unacknowledged binlog transactions");
        // MariaDB 10.11.8+ (MDEV-33465) truncates only when the server starts in the replica role.
        assert.match(mariaMaster, /^rpl_semi_sync_slave_enabled = ON\ninit_rpl_role = SLAVE$/m);
        assert.match(dbServerConfig({ ...base, engine: "mariadb", role: "master" }), /^read_only = OFF$/m);
        assert.doesNotMatch(dbServerConfig({ ...base, engine: "percona", role: "master" }), /^read_only/m);
    });

    it("creates the manager's login with replication control on each engine, only when asked", () => {
        const input = { database: "bitrix", appUser: "bitrix", appPassword: "a", replicationUser: "replicator", replicationPassword: "r" };
        const maria = masterInitSql({ ...input, engine: "mariadb", failover: { user: "failover", password: "p'w" } });
        assert.match(maria, /CREATE USER IF NOT EXISTS 'failover'@'%' IDENTIFIED BY 'p''w'/);
        assert.match(maria, /GRANT SUPER, .*READ_ONLY ADMIN, REPLICATION MASTER ADMIN ON \*\.\* TO 'failover'@'%';/);
        assert.match(
            masterInitSql({ ...input, engine: "percona", failover: { user: "failover", password: "x" } }),
            /SYSTEM_VARIABLES_ADMIN, REPLICATION_SLAVE_ADMIN ON \*\.\* TO 'failover'/,
        );
        assert.doesNotMatch(masterInitSql({ ...input, engine: "mariadb" }), /failover/);
    });
});
