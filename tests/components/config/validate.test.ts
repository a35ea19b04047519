import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { parseValue } from "../../../components/config/load";
import { KEYS } from "../../../components/config/keys";
import { ConfigError, defaultPrefix, RawConfig, validateClusterConfig } from "../../../components/config/validate";

const ctx = { namespace: "bitrix-cluster", stack: "prod" };
const validate = (raw: RawConfig) => validateClusterConfig(raw, ctx);

function problemsOf(raw: RawConfig): string[] {
    try {
        validate(raw);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
        return e.problems;
    }
    assert.fail(`expected ${JSON.stringify(raw)} to be rejected`);
}

describe("validateClusterConfig defaults", () => {
    const c = validate({});

    it("gives the documented defaults", () => {
        assert.equal(c.prefix, "bx-prod");
        assert.equal(c.web.nodes, 2);
        assert.equal(c.db.engine, "percona");
        assert.equal(c.db.replicas, 1);
        assert.equal(c.db.redoLogMb, 1024);
        assert.equal(c.redis.sentinels, 3);
        assert.equal(c.redis.quorum, 2);
        assert.equal(c.balancer.algorithm, "least_conn");
        assert.equal(c.balancer.maxFails, 3);
        assert.equal(c.balancer.failTimeoutS, 15);
        assert.equal(c.balancer.healthIntervalMs, 2000);
        assert.deepEqual(c.balancer.weights, [1, 1]);
        assert.deepEqual(c.storage.sharedPaths, ["upload", "bitrix/cache"]);
        assert.equal(c.ports.bindAddress, "127.0.0.1");
    });

    it("takes valid values as given", () => {
        const v = validate({ webNodes: 3, webWeights: [1, 2, 3], sentinels: 5, sentinelQuorum: 3, dbEngine: "mariadb", namePrefix: "stage", balancerAlgorithm: "ip_hash" });
        assert.equal(v.prefix, "stage");
        assert.deepEqual(v.balancer.weights, [1, 2, 3]);
        assert.equal(v.redis.quorum, 3);
        assert.equal(v.db.engine, "mariadb");
        assert.equal(v.balancer.algorithm, "ip_hash");
    });

    it("derives a valid prefix from any stack name", () => {
        assert.equal(defaultPrefix("Prod_EU"), "bx-prod-eu");
        assert.equal(defaultPrefix("a-very-long-stack-name-for-staging"), "bx-a-very-long-stack-nam");
    });
});

/** [what, raw config, the key named in the message, a fragment of what is allowed] */
const BAD: Array<[string, RawConfig, string, RegExp]> = [
    ["zero web nodes", { webNodes: 0 }, "webNodes", /integer from 1 to 64/],
    ["negative web nodes", { webNodes: -2 }, "webNodes", /integer from 1 to 64/],
    ["fractional web nodes", { webNodes: 2.5 }, "webNodes", /integer from 1 to 64/],
    ["web nodes as text", { webNodes: "two" }, "webNodes", /expected an integer/],
    ["zero replicas", { dbReplicas: 0 }, "dbReplicas", /integer from 1 to 8/],
    ["unknown engine", { dbEngine: "mysql" }, "dbEngine", /"percona", "mariadb"/],
    ["even sentinel count", { sentinels: 4 }, "sentinels", /odd integer from 3 to 9/],
    ["one sentinel", { sentinels: 1 }, "sentinels", /odd integer from 3 to 9/],
    ["quorum above sentinels", { sentinelQuorum: 5 }, "sentinelQuorum", /1 to 3/],
    ["unknown algorithm", { balancerAlgorithm: "random" }, "balancerAlgorithm", /"least_conn", "round_robin", "ip_hash"/],
    ["bad CIDR in allowlist", { adminAllowlist: ["10.0.0.0/33"] }, "adminAllowlist", /list of CIDRs/],
    ["address without prefix", { adminAllowlist: ["10.1.2.3"] }, "adminAllowlist", /list of CIDRs/],
    ["empty allowlist", { adminAllowlist: [] }, "adminAllowlist", /non-empty list/],
    ["allowlist not a list", { adminAllowlist: "10.0.0.0/8" }, "adminAllowlist", /expected a list/],
    ["http and https on one port", { httpPort: 8443 }, "httpsPort", /port 8443 .* clashes with httpPort/],
    ["status port clash", { statusPort: 8080 }, "statusPort", /clashes with httpPort/],
    ["db ports overlap sentinel ports", { dbPortBase: 20000, sentinelPortBase: 20001 }, "sentinelPortBase", /clashes with dbPortBase\+1/],
    ["port out of range", { httpsPort: 70000 }, "httpsPort", /integer from 1 to 65535/],
    ["weights count differs from nodes", { webWeights: [1, 2, 3] }, "webWeights", /3 weights for 2 web nodes/],
    ["zero weight", { webWeights: [0, 1] }, "webWeights", /integers from 1 to 256/],
    ["health check too slow for fail timeout", { healthIntervalMs: 6000, failTimeoutS: 15 }, "failTimeoutS", /maxFails.*18 s/],
    ["health timeout not below interval", { healthTimeoutMs: 2000 }, "healthTimeoutMs", /shorter than/],
    ["bad prefix", { namePrefix: "Prod!" }, "namePrefix", /a-z, 0-9 and '-'/],
    ["bad database name", { dbName: "bit-rix" }, "dbName", /SQL identifier/],
    ["bad time zone", { timezone: "Mars/Base" }, "timezone", /IANA time zone/],
    ["nested shared paths", { sharedPaths: ["upload", "upload/tmp"] }, "sharedPaths", /overlaps/],
    ["parent-escaping shared path", { sharedPaths: ["../etc"] }, "sharedPaths", /no '\.\.'/],
    ["shared paths that map to one export", { sharedPaths: ["a-b", "a/b"] }, "sharedPaths", /share one export/],
    ["a PHP code tree as a shared path", { sharedPaths: ["upload", "bitrix/modules"] }, "sharedPaths", /not a PHP code tree/],
    ["the local/ tree as a shared path", { sharedPaths: ["local"] }, "sharedPaths", /not a PHP code tree/],
    ["short-form bind address", { bindAddress: "127.1" }, "bindAddress", /dotted form/],
    ["subnet with host bits", { dockerSubnet: "172.28.0.77/24" }, "dockerSubnet", /network address/],
    ["buffer pool larger than the DB memory limit", { dbBufferPoolMb: 2048, dbMemoryMb: 2048 }, "dbBufferPoolMb", /does not fit/],
    ["Percona older than 8.0.30", { perconaImage: "percona/percona-server:8.0.28-19" }, "perconaImage", /older than 8\.0\.30/],
    ["unknown storage mode", { sharedStorage: "glusterfs" }, "sharedStorage", /"nfs", "docker-volume"/],
    ["subnet too small", { dockerSubnet: "172.28.0.0/26", webNodes: 30 }, "dockerSubnet", /addresses for \d+ containers/],
    ["IPv6 subnet", { dockerSubnet: "fd00::/64" }, "dockerSubnet", /an IPv4 network/],
    ["placement not supported", { placement: "kubernetes" }, "placement", /"docker"/],
    ["boolean as text", { retainDataVolumes: "yes" }, "retainDataVolumes", /expected true or false/],
    ["memory limit too small", { webMemoryMb: 16 }, "webMemoryMb", /0 \(off\) or an integer from 64/],
    ["typo in a key", { webNode: 3 }, "webNode", /unknown key/],
    ["certificate without key", { tlsCertificate: "-----BEGIN CERTIFICATE-----" }, "tlsKey", /together/],
    ["bad server name", { serverName: "portal_.example" }, "serverName", /DNS host name/],
    ["short DB password", { dbPassword: "short" }, "dbPassword", /8 to 128 characters/],
    ["root password with a quote", { dbRootPassword: "it's-a-long-one" }, "dbRootPassword", /no quotes or backslashes/],
    ["Redis password with a space", { redisPassword: "long enough but spaced" }, "redisPassword", /no spaces, quotes or backslashes/],
    ["key that is not PEM", { tlsCertificate: "-----BEGIN CERTIFICATE-----", tlsKey: "not a key" }, "tlsKey", /PEM private key/],
    ["bad image reference", { perconaImage: "percona/percona-server" }, "perconaImage", /with a tag/],
];

describe("validateClusterConfig rejects bad values before any resource exists", () => {
    it(`has at least 20 cases (${BAD.length})`, () => assert.ok(BAD.length >= 20));

    for (const [what, raw, key, allowed] of BAD) {
        it(`${what}: names bitrix-cluster:${key}`, () => {
            const problems = problemsOf(raw);
            const hit = problems.find((p) => p.startsWith(`bitrix-cluster:${key}:`));
            assert.ok(hit, `no problem names ${key}: ${JSON.stringify(problems)}`);
            assert.match(hit, allowed);
        });
    }

    it("never repeats a secret's value in a message", () => {
        const problems = problemsOf({ dbRootPassword: "it's-a-long-one", redisPassword: "tiny" });
        assert.equal(problems.length, 2);
        for (const p of problems) assert.doesNotMatch(p, /it's-a-long-one|tiny/);
    });

    it("keeps a valid secret from config as a secret", async () => {
        const c = validate({ dbPassword: "a-good-password" });
        assert.equal(await pulumi.isSecret(c.secrets.dbPassword!), true);
    });

    it("reports every bad key at once", () => {
        const problems = problemsOf({ webNodes: 0, dbEngine: "oracle", sentinels: 2 });
        assert.equal(problems.length, 3);
        assert.throws(() => validate({ webNodes: 0 }), /invalid stack configuration \(1 problem\):\n {2}- bitrix-cluster:webNodes: got 0/);
    });
});

describe("parseValue", () => {
    it("parses config strings by key type and leaves unparsable text for the validator", () => {
        assert.equal(parseValue(KEYS.webNodes, "3"), 3);
        assert.equal(parseValue(KEYS.webNodes, "three"), "three");
        assert.equal(parseValue(KEYS.retainDataVolumes, "false"), false);
        assert.deepEqual(parseValue(KEYS.adminAllowlist, '["10.0.0.0/8"]'), ["10.0.0.0/8"]);
        assert.equal(parseValue(KEYS.adminAllowlist, "10.0.0.0/8"), "10.0.0.0/8");
        assert.equal(parseValue(KEYS.serverName, "x"), "x");
    });
});
