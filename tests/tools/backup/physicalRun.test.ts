import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import type { DbLayer, DbServer } from "../../../tools/backup/dbServers";
import { hostWaitScript, pingCommand } from "../../../tools/backup/dbServers";
import { restorePhysicalCopy } from "../../../tools/backup/physicalRun";

/** A database layer that records what the restore asks of it; `fail` makes one step throw. */
function fakeLayer(fail?: { step: string; server?: string }, status = "Slave_IO_Running: Yes\nSlave_SQL_Running: Yes\n") {
    const calls: string[] = [];
    const clients: string[] = [];
    const up = new Set(["m", "r1", "r2", "manager"]);
    const servers: DbServer[] = ["m", "r1", "r2"].map((n, i) => ({
        target: { kind: "ssh", name: n, alias: `bx-host-${n}`, sudo: false },
        service: i ? `db-replica-${i}` : "db-master",
    }));
    const step = (name: string, s?: DbServer) => {
        calls.push(s ? `${name} ${s.target.name}` : name);
        if (fail && fail.step === name && (!fail.server || fail.server === s?.target.name)) throw new Error(`${name} failed`);
    };
    const layer: DbLayer = {
        servers,
        managerName: "bitrix-db-failover.service on r1",
        hasManager: () => true,
        stopManager: () => (step("stop-manager"), up.delete("manager")),
        startManager: () => (step("start-manager"), up.add("manager")),
        stop: (list) => list.forEach((s) => (step("stop", s), up.delete(s.target.name))),
        start: (list) => list.forEach((s) => (step("start", s), up.add(s.target.name))),
        running: (s) => up.has(s.target.name),
        copyBack: (s) => step("copy-back", s),
        waitUp: (s) => step("wait", s),
        client: (s, argv) => {
            clients.push(argv[0]);
            step(
                `sql ${argv
                    .at(-1)!
                    .split("\n")
                    .find((l) => !l.startsWith("--"))!
                    .slice(0, 40)}`,
                s,
            );
            return argv.at(-1)!.startsWith("SHOW SLAVE") ? status : "";
        },
    };
    return { layer, calls, up, servers, clients };
}

describe("physical restore, on either placement's database layer", () => {
    it("stops the manager and every server, refills each, starts the writable one as master first, then the replicas and the manager", () => {
        const { layer, calls, servers } = fakeLayer();
        // After a failover r1 is the writable one: it becomes the master.
        restorePhysicalCopy({ engine: "mariadb", copyDir: "/c", gtid: "0-1-42", layer, writable: servers[1], log: () => undefined });
        assert.deepEqual(calls, [
            "stop-manager",
            "stop r1",
            "stop m",
            "stop r2",
            "copy-back r1",
            "copy-back m",
            "copy-back r2",
            "start r1",
            "wait r1",
            "sql STOP SLAVE; r1",
            "start m",
            "start r2",
            "wait m",
            "wait r2",
            "start-manager",
            "sql SHOW SLAVE STATUS\\G m",
            "sql SHOW SLAVE STATUS\\G r2",
        ]);
    });

    it("starts again everything it stopped when a copy-back fails, and reports the failure", () => {
        const { layer, calls, up, servers } = fakeLayer({ step: "copy-back", server: "r2" });
        assert.throws(
            () =>
                restorePhysicalCopy({
                    engine: "mariadb",
                    copyDir: "/c",
                    gtid: "0-1-42",
                    layer,
                    writable: servers[0],
                    log: () => undefined,
                }),
            /copy-back failed/,
        );
        assert.deepEqual([...up].sort(), ["m", "manager", "r1", "r2"]);
        assert.ok(!calls.some((c) => c.startsWith("sql")), "no server was re-seeded");
    });

    it("refuses a writable server that is not one of the layer's", () => {
        const { layer, calls } = fakeLayer();
        const stranger: DbServer = { target: { kind: "docker", name: "x" }, service: "db-master" };
        assert.throws(
            () =>
                restorePhysicalCopy({ engine: "mariadb", copyDir: "/c", gtid: "0-1-42", layer, writable: stranger, log: () => undefined }),
            /x is not one of the database servers/,
        );
        assert.deepEqual(calls, [], "nothing stopped");
    });

    it("waits on a machine for the unit's server to answer, and prints the unit's log when it stopped", () => {
        const s = hostWaitScript("db-replica-1");
        assert.match(s, /mariadb-admin --connect-timeout=2 ping --silent/);
        assert.match(
            s,
            /systemctl is-active --quiet 'bitrix-db-replica-1\.service' \|\| \{ echo "bitrix-db-replica-1\.service is not running:" >&2; tail -n 30 '\/var\/log\/bitrix-cluster\/db-replica-1\.log'/,
        );
    });

    it("Percona: the same steps with Percona's client (mysql) and its re-seed SQL; Replica_ columns count as running", () => {
        const { layer, calls, servers, clients } = fakeLayer(undefined, "Replica_IO_Running: Yes\nReplica_SQL_Running: Yes\n");
        restorePhysicalCopy({
            engine: "percona",
            copyDir: "/c",
            gtid: "c777888a-b6df-11e2-a604-080027635ef5:1-4",
            layer,
            writable: servers[0],
            log: () => undefined,
        });
        assert.deepEqual([...new Set(clients)], ["mysql"]);
        assert.ok(calls.includes("sql STOP REPLICA; m"), calls.join("\n"));
        const mariadb = fakeLayer();
        restorePhysicalCopy({
            engine: "mariadb",
            copyDir: "/c",
            gtid: "0-1-42",
            layer: mariadb.layer,
            writable: mariadb.servers[0],
            log: () => undefined,
        });
        assert.deepEqual([...new Set(mariadb.clients)], ["mariadb"]);
    });

    it("waits on a Percona machine with mysqladmin (Percona has no mariadb-admin), over TCP as the health check", () => {
        const s = hostWaitScript("db-replica-1", "percona");
        assert.match(
            s,
            /^for _ in \$\(seq 1 240\); do mysqladmin --connect-timeout=2 --protocol=tcp -h 127\.0\.0\.1 ping --silent >\/dev\/null 2>&1 && exit 0; /,
        );
        assert.ok(!s.includes("mariadb-admin"));
        assert.equal(pingCommand("mariadb"), "mariadb-admin --connect-timeout=2 ping --silent");
        execFileSync("bash", ["-n"], { input: s });
    });
});
