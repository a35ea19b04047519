import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { KEYS } from "../../../components/config/keys";
import { cloneConfig, collisions } from "../../../tools/clone/plan";

const defaults = Object.fromEntries(Object.entries(KEYS).map(([k, spec]) => [k, (spec as { default?: unknown }).default]));
const source = {
    "bitrix-cluster:dbEngine": "mariadb",
    "bitrix-cluster:webNodes": "4",
    "bitrix-cluster:dockerSubnet": "172.28.5.0/24",
    "bitrix-cluster:redisPassword": { secure: "v1:abc" },
    "bitrix-cluster:hosts": [{ name: "a", address: "10.0.0.1", roles: ["web"] }],
};

describe("staging clone config", () => {
    it("copies plain values, lists secrets for re-encryption, and puts the overrides on top", () => {
        const { plain, secretKeys } = cloneConfig(source, { namePrefix: "bx-stg", webNodes: 1, dockerSubnet: "172.28.6.0/24" });
        assert.deepEqual(secretKeys, ["bitrix-cluster:redisPassword"]);
        assert.equal(plain["bitrix-cluster:webNodes"], "1");
        assert.equal(plain["bitrix-cluster:namePrefix"], "bx-stg");
        assert.equal(plain["bitrix-cluster:dbEngine"], "mariadb");
        assert.deepEqual(plain["bitrix-cluster:hosts"], source["bitrix-cluster:hosts"], "structured values are copied as they are");
        assert.ok(!("bitrix-cluster:redisPassword" in plain), "no encrypted value is copied: the clone has its own salt");
    });

    it("refuses an encrypted value in the overrides", () => {
        assert.throws(() => cloneConfig(source, { dbPassword: { secure: "v1:x" } }), /dbPassword is an encrypted value/);
    });

    it("names what would collide with the source on one Docker engine", () => {
        const { plain } = cloneConfig(source, {});
        const clash = collisions(source, plain, defaults, "prod", "staging");
        assert.deepEqual(
            clash,
            [
                "dockerSubnet is 172.28.5.0/24 in both stacks; give the clone its own in the overrides file",
                "httpPort is 8080 in both stacks; give the clone its own in the overrides file",
                "httpsPort is 8443 in both stacks; give the clone its own in the overrides file",
                "statusPort is 8404 in both stacks; give the clone its own in the overrides file",
                "prometheusPort is 9090 in both stacks; give the clone its own in the overrides file",
                "alertmanagerPort is 9093 in both stacks; give the clone its own in the overrides file",
            ],
            "an empty namePrefix differs by stack name (bx-prod, bx-staging)",
        );
        const ok = cloneConfig(source, {
            dockerSubnet: "172.28.6.0/24",
            httpPort: 9080,
            httpsPort: 9443,
            statusPort: 9404,
            prometheusPort: 9190,
            alertmanagerPort: 9193,
        }).plain;
        assert.deepEqual(collisions(source, ok, defaults, "prod", "staging"), []);
        // A clone without monitoring publishes neither port.
        const unmonitored = cloneConfig(source, {
            dockerSubnet: "172.28.6.0/24",
            httpPort: 9080,
            httpsPort: 9443,
            statusPort: 9404,
            monitoring: false,
        }).plain;
        assert.deepEqual(collisions(source, unmonitored, defaults, "prod", "staging"), []);
    });

    it("refuses a hosts clone on any of the source's machines or on its floating address", () => {
        const prod = {
            ...source,
            "bitrix-cluster:placement": "hosts",
            "bitrix-cluster:floatingAddress": "10.0.0.50",
            "bitrix-cluster:hosts": [
                { name: "a", address: "10.0.0.1", roles: ["web"] },
                { name: "b", address: "10.0.0.2", roles: ["web"] },
            ],
        };
        const same = cloneConfig(prod, {}).plain;
        assert.deepEqual(collisions(prod, same, defaults, "prod", "staging"), [
            "hosts: 10.0.0.1, 10.0.0.2 are machines of both stacks; a clone needs machines of its own (set hosts in the overrides file)",
            "floatingAddress is 10.0.0.50 in both stacks; give the clone its own in the overrides file",
        ]);
        const oneShared = cloneConfig(prod, {
            floatingAddress: "10.0.1.50",
            hosts: [
                { name: "a", address: "10.0.1.1", roles: ["web"] },
                { name: "b", address: "10.0.0.2", roles: ["web"] },
            ],
        }).plain;
        assert.deepEqual(collisions(prod, oneShared, defaults, "prod", "staging"), [
            "hosts: 10.0.0.2 is a machine of both stacks; a clone needs machines of its own (set hosts in the overrides file)",
        ]);
        const own = cloneConfig(prod, { floatingAddress: "10.0.1.50", hosts: [{ name: "a", address: "10.0.1.1", roles: ["web"] }] }).plain;
        assert.deepEqual(collisions(prod, own, defaults, "prod", "staging"), [], "other machines, another address: nothing shared");
    });
});
