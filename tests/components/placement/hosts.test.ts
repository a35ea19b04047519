import { installMocks, ofType, settle, valueOf } from "../../helpers/pulumiMocks";
installMocks();

import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { BitrixCluster } from "../../../components/cluster";
import { validateClusterConfig } from "../../../components/config/validate";
import { HostsPlacement, packageRoles } from "../../../components/placement/hosts";
import { parseInventory } from "../../../components/placement/hostsInventory";

const config = validateClusterConfig({ namePrefix: "bx-h", dbEngine: "mariadb", sharedStorage: "docker-volume" }, { namespace: "bitrix-cluster", stack: "hosts" });
const counts = { webNodes: 2, dbReplicas: 1, redisNodes: 3, sentinels: 3 };
const inventory = parseInventory([
    { name: "lb", address: "10.0.0.10", roles: ["balancer", "nfs", "sentinel"] },
    { name: "web-a", address: "10.0.0.11", roles: ["web", "sentinel"] },
    { name: "web-b", address: "10.0.0.12", roles: ["web", "sentinel"] },
    { name: "db-a", address: "10.0.0.21", roles: ["db-master", "redis"] },
    { name: "db-b", address: "10.0.0.22", port: 2222, roles: ["db-replica", "redis"] },
    { name: "cache", address: "10.0.0.23", roles: ["redis"] },
], counts);
const placement = new HostsPlacement("bx-h-hosts", { inventory, privateKey: pulumi.secret("KEY"), engine: "mariadb" });
new BitrixCluster("bx-h", { config, placement });

const commands = () => ofType("command:remote:Command");
const named = (name: string) => {
    const c = commands().find((r) => r.name === name);
    assert.ok(c, `no command ${name}; have ${commands().map((r) => r.name).join(", ")}`);
    return c.inputs;
};

describe("HostsPlacement (under mocks)", () => {
    it("installs each host's packages once, for all the roles it carries", async () => {
        await settle(300);
        const installs = commands().filter((c) => c.name.endsWith("-install")).map((c) => c.name).sort();
        assert.deepEqual(installs, ["bx-h-hosts-cache-install", "bx-h-hosts-db-a-install", "bx-h-hosts-db-b-install",
            "bx-h-hosts-lb-install", "bx-h-hosts-web-a-install", "bx-h-hosts-web-b-install"]);
        assert.match(named("bx-h-hosts-db-a-install").create, /roles db, redis \(engine mariadb\)/);
        assert.match(named("bx-h-hosts-web-a-install").create, /roles web, redis \(engine mariadb\)/);
        assert.deepEqual(packageRoles(["db-master", "redis", "sentinel"]), ["db", "redis"]);
    });

    it("puts services where the inventory says and gives their addresses to the generated config", () => {
        assert.equal(placement.hostOf("db-master"), "10.0.0.21");
        assert.equal(placement.fixedAddress, "10.0.0.10");
        const conn = named("bx-h-db-replica-1-start").connection;
        assert.equal(conn.host ?? conn.value?.host, "10.0.0.22");
    });

    it("writes every file from stdin with its mode: entrypoint, generated files, 0600 environment, unit", async () => {
        const files = commands().filter((c) => c.name.startsWith("bx-h-db-master-file-")).map((c) => c.inputs.create as string).sort();
        assert.ok(files.includes("install -D -m 0755 /dev/stdin '/usr/local/bin/mariadb-entrypoint'"), files.join("\n"));
        assert.ok(files.includes("install -D -m 0600 /dev/stdin '/etc/bitrix-cluster/db-master.env'"));
        assert.ok(files.includes("install -D -m 0644 /dev/stdin '/etc/systemd/system/bitrix-db-master.service'"));
        assert.ok(files.some((f) => f.includes("/etc/mysql/mariadb.conf.d/90-bitrix.cnf")));
        for (const f of files) assert.doesNotMatch(f, /MARIADB_ROOT_PASSWORD|mock-/, "no secret on a command line");
        const env = named("bx-h-db-master-file-etc-bitrix-cluster-db-master-env").stdin;
        assert.match(await valueOf(env.value ?? env), /^MARIADB_ROOT_PASSWORD="/m);
    });

    it("gives web hosts the image's supervisord.conf", () => {
        assert.ok(commands().some((c) => c.name.startsWith("bx-h-web-1-node-file-") && c.inputs.create === "install -D -m 0644 /dev/stdin '/etc/supervisor/supervisord.conf'"));
    });

    it("refuses two services writing one path on a host (Redis and Sentinel share /etc/redis/bitrix for now)", () => {
        const shared = parseInventory([
            { name: "lb", address: "10.1.0.10", roles: ["balancer", "nfs"] },
            { name: "w1", address: "10.1.0.11", roles: ["web"] }, { name: "w2", address: "10.1.0.12", roles: ["web"] },
            { name: "d1", address: "10.1.0.21", roles: ["db-master", "redis", "sentinel"] },
            { name: "d2", address: "10.1.0.22", roles: ["db-replica", "redis", "sentinel"] },
            { name: "c1", address: "10.1.0.23", roles: ["redis", "sentinel"] },
        ], counts);
        const other = new HostsPlacement("bx-x-hosts", { inventory: shared, privateKey: pulumi.secret("KEY"), engine: "mariadb" });
        const cfg = validateClusterConfig({ namePrefix: "bx-x", dbEngine: "mariadb", sharedStorage: "docker-volume" }, { namespace: "bitrix-cluster", stack: "x" });
        assert.throws(() => new BitrixCluster("bx-x", { config: cfg, placement: other }),
            /sentinel-1 and redis-1 both write \/etc\/redis\/bitrix\/start\.env on host d1; .*put these roles on different hosts/);
    });

    it("starts each service through its unit and removes it on delete", () => {
        const start = named("bx-h-web-2-node-start");
        assert.match(start.create.value ?? start.create, /systemctl restart bitrix-web-2\.service/);
        assert.match(start.delete, /systemctl disable --now bitrix-web-2\.service/);
    });
});
