import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { parseInventory } from "../../../components/placement/hostsInventory";
import { testHostKey } from "../../helpers/hostKeys";

const counts = { webNodes: 2, dbReplicas: 1, redisNodes: 3, sentinels: 3 };
const hosts = [
    { name: "lb", address: "10.0.0.10", roles: ["balancer", "nfs"] },
    { name: "web-a", address: "10.0.0.11", roles: ["web"] },
    { name: "web-b", address: "10.0.0.12", port: 2222, user: "deploy", roles: ["web"] },
    { name: "db-a", address: "10.0.0.21", roles: ["db-master", "redis", "sentinel"] },
    { name: "db-b", address: "10.0.0.22", roles: ["db-replica", "redis", "sentinel"] },
    { name: "cache", address: "10.0.0.23", roles: ["redis", "sentinel"] },
].map((h) => ({ ...h, hostKey: testHostKey(h.name) }));

describe("hosts inventory", () => {
    it("assigns every service to a host, in list order, with SSH defaults", () => {
        const inv = parseInventory(hosts, counts);
        assert.deepEqual(inv.services, {
            "balancer-1": "lb",
            nfs: "lb",
            "db-master": "db-a",
            "web-1": "web-a",
            "web-2": "web-b",
            "db-replica-1": "db-b",
            "db-failover": "db-b",
            "redis-1": "db-a",
            "redis-2": "db-b",
            "redis-3": "cache",
            "sentinel-1": "db-a",
            "sentinel-2": "db-b",
            "sentinel-3": "cache",
        });
        assert.deepEqual(inv.hosts[0], {
            name: "lb",
            address: "10.0.0.10",
            port: 22,
            user: "root",
            roles: ["balancer", "nfs"],
            hostKey: testHostKey("lb"),
        });
        assert.equal(inv.hosts[2].port, 2222);
    });

    it("puts the binlog streamer beside the first replica, off the master's machine, only when asked", () => {
        assert.equal(parseInventory(hosts, counts, { binlogStream: true }).services["binlog-stream"], "db-b");
        assert.equal(parseInventory(hosts, counts).services["binlog-stream"], undefined);
    });

    it('puts push-1 … push-N on the hosts carrying "push", and the push Redis on the first of them', () => {
        const withPush = hosts.map((h) => (h.name === "lb" || h.name === "db-b" ? { ...h, roles: [...h.roles, "push"] } : h));
        const inv = parseInventory(withPush, { ...counts, push: 2 });
        assert.deepEqual(
            Object.entries(inv.services).filter(([s]) => s.startsWith("push")),
            [
                ["push-1", "lb"],
                ["push-2", "db-b"],
                ["push-redis", "lb"],
            ],
        );
        // It shares a host with the cluster's Redis and Sentinel (db-b) and with a web node: its ports are its own.
        assert.doesNotThrow(() =>
            parseInventory(
                hosts.map((h) => (h.name === "web-a" ? { ...h, roles: [...h.roles, "push"] } : h)),
                { ...counts, push: 1 },
            ),
        );
        assert.throws(() => parseInventory(withPush, { ...counts, push: 3 }), /3 host\(s\) must carry "push" \(pushServers\); 2 do/);
        assert.throws(() => parseInventory(withPush, counts), /0 host\(s\) must carry "push" \(none: pushServers is 0\); 2 do/);
        assert.equal(Object.keys(parseInventory(hosts, counts).services).filter((s) => s.startsWith("push")).length, 0);
    });

    it("names every problem at once: counts, clashes, duplicates, bad fields", () => {
        const bad = [
            ...hosts.slice(0, 3),
            { name: "db-a", address: "10.0.0.11", roles: ["db-master", "db-replica", "redis"] },
            { name: "X", address: "not an address", port: 0, roles: ["web", "redis", "cdn"], key: "k" },
        ];
        assert.throws(
            () => parseInventory(bad, counts),
            (e: Error) => {
                for (const problem of [
                    /hosts\[4\] \(X\): unknown field "key"/,
                    /hosts\[4\] \(X\): name must be/,
                    /hosts\[4\] \(X\): address must be/,
                    /hosts\[4\] \(X\): port must be/,
                    /unknown role "cdn"/,
                    /web and redis cannot share a host/,
                    /db-master and db-replica cannot share a host \(both listen on port 3306\)/,
                    /address "10\.0\.0\.11" is used twice/,
                    /2 host\(s\) must carry "web" \(webNodes\); 3 do/,
                    /3 host\(s\) must carry "sentinel" \(sentinels\); 0 do/,
                ])
                    assert.match(e.message, problem);
                return true;
            },
        );
    });

    it("requires every host's SSH host key, saying how to record it, and checks its form", () => {
        const unpinned = hosts.map((h, i) => (i === 1 || i === 2 ? { ...h, hostKey: undefined } : h));
        assert.throws(
            () => parseInventory(unpinned, counts),
            (e: Error) => {
                assert.match(e.message, /^invalid host list \(2 problems\)/);
                assert.match(
                    e.message,
                    /hosts\[1\] \(web-a\): hostKey is required .*10\.0\.0\.11:22 would receive every secret.*ssh-keyscan -t ed25519 -p 22 10\.0\.0\.11`/,
                );
                assert.match(
                    e.message,
                    /hosts\[2\] \(web-b\): hostKey is required .*ssh-keyscan -t ed25519 -p 2222 10\.0\.0\.12`, check .*ssh-keygen -lf \/etc\/ssh\/ssh_host_ed25519_key\.pub` run on the host itself/,
                );
                return true;
            },
        );
        const malformed = hosts.map((h, i) =>
            i === 0 ? { ...h, hostKey: `10.0.0.10 ${h.hostKey}` } : i === 3 ? { ...h, hostKey: "ssh-ed25519 AAAA" } : h,
        );
        assert.throws(
            () => parseInventory(malformed, counts),
            (e: Error) => {
                assert.match(e.message, /hosts\[0\] \(lb\): hostKey starts with "10\.0\.0\.10", not a key type/);
                assert.match(e.message, /hosts\[3\] \(db-a\): hostKey is cut short/);
                return true;
            },
        );
        assert.equal(parseInventory(hosts, counts).hosts[4].hostKey, testHostKey("db-b"));
    });

    it("accepts hosts without a key only when the stack ignores host keys (a lab)", () => {
        const bare = hosts.map(({ hostKey: _, ...h }) => h);
        assert.equal(parseInventory(bare, counts, { insecureIgnoreHostKeys: true }).hosts[0].hostKey, undefined);
        // A pinned key is still checked on such a stack.
        assert.throws(
            () => parseInventory([{ ...bare[0], hostKey: "ssh-rsa AAAA" }, ...bare.slice(1)], counts, { insecureIgnoreHostKeys: true }),
            /hosts\[0\] \(lb\): hostKey is an RSA key/,
        );
    });

    it("requires a host list", () => {
        assert.throws(() => parseInventory(undefined, counts), /non-empty list/);
        assert.throws(() => parseInventory([], counts), /non-empty list/);
    });
});
