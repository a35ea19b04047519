import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseValue, readOtherStacks } from "../../../components/config/load";
import { isCidr, isHostname } from "../../../components/config/checks";
import { KEYS, KeySpec, parseBastion } from "../../../components/config/keys";
import { MONITOR_DB_USER } from "../../../components/cluster";
import { REPLICATION_DB_USER } from "../../../components/database/database";
import { FAILOVER_DB_USER } from "../../../components/database/failoverManager";
import { ConfigError, defaultPrefix, derivedRouterId, RawConfig, validateClusterConfig } from "../../../components/config/validate";
import { testHostKey } from "../../helpers/hostKeys";

const ctx = { namespace: "bitrix-cluster", stack: "prod" };
/** Test-only TLS material (tests/fixtures/tls): a P-256 certificate valid until 2126, its key, another key, an expired certificate. */
const tls = (file: string) => fs.readFileSync(path.join(__dirname, "..", "..", "..", "..", "tests", "fixtures", "tls", file), "utf8");
const CERT = tls("portal.crt");
const KEY = tls("portal.key");
/** Every stack names its admins' networks (issue 19): the tests give one unless they test that rule. */
const ADMINS = ["192.0.2.0/24"];

/** The validator's problems for a stack beside the given other stacks of the project ([] when it passes). */
function problemsBeside(raw: Record<string, unknown>, others: Array<{ stack: string; raw: Record<string, unknown> }>): string[] {
    try {
        validateClusterConfig({ adminAllowlist: ADMINS, ...raw }, { namespace: "bitrix-cluster", stack: "test", otherStacks: others });
        return [];
    } catch (e) {
        return (e as ConfigError).problems;
    }
}
const validate = (raw: RawConfig) => validateClusterConfig({ adminAllowlist: ADMINS, ...raw }, ctx);

function problemsOf(raw: RawConfig): string[] {
    try {
        validate(raw);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e instanceof Error ? String(e) : JSON.stringify(e)}`);
        return e.problems;
    }
    assert.fail(`expected ${JSON.stringify(raw)} to be rejected`);
}

describe("validateClusterConfig defaults", () => {
    const c = validate({});

    it("takes the binlog streamer with mariadb only, off by default", () => {
        assert.equal(validate({ devStack: true, dbEngine: "mariadb" }).db.binlogStream, false);
        assert.equal(validate({ devStack: true, dbEngine: "mariadb", dbBinlogStream: true }).db.binlogStream, true);
        assert.match(
            problemsOf({ devStack: true, dbEngine: "percona", dbBinlogStream: true }).join("\n"),
            /dbBinlogStream: the binlog streamer follows MariaDB's GTIDs/,
        );
    });

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
        const v = validate({
            webNodes: 3,
            webWeights: [1, 2, 3],
            sentinels: 5,
            sentinelQuorum: 3,
            dbEngine: "mariadb",
            namePrefix: "stage",
            balancerAlgorithm: "ip_hash",
        });
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
    ["empty allowlist", { adminAllowlist: [] }, "adminAllowlist", /required: the networks your admins connect from/],
    [
        "an allowlist open to every IPv4 address",
        { adminAllowlist: ["0.0.0.0/0"] },
        "adminAllowlist",
        /every address.*adminAllowlistAllowAll/,
    ],
    [
        "an allowlist open to every IPv6 address",
        { adminAllowlist: ["10.0.0.0/8", "::/0"] },
        "adminAllowlist",
        /every address.*adminAllowlistAllowAll/,
    ],
    ["a confirmation without an open allowlist", { adminAllowlistAllowAll: true }, "adminAllowlistAllowAll", /only with/],
    ["the private-range default on hosts", { placement: "hosts", devStack: true, adminAllowlist: [] }, "devStack", /placement = "docker"/],
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
    ["a log driver by name", { dockerLogs: "journald" }, "dockerLogs", /"local" or "daemon"/],
    ["a log cap below one MB per file", { dockerLogMaxMb: 4 }, "dockerLogMaxMb", /an integer from 5 to 100000/],
    ["placement not supported", { placement: "kubernetes" }, "placement", /"docker"/],
    ["boolean as text", { retainDataVolumes: "yes" }, "retainDataVolumes", /expected true or false/],
    ["memory limit too small", { webMemoryMb: 16 }, "webMemoryMb", /0 \(off\) or an integer from 64/],
    ["typo in a key", { webNode: 3 }, "webNode", /unknown key/],
    ["certificate without key", { tlsCertificate: CERT }, "tlsKey", /together/],
    ["bad server name", { serverName: "portal_.example" }, "serverName", /DNS host name/],
    ["short DB password", { dbPassword: "short" }, "dbPassword", /8 to 128 characters/],
    ["root password with a quote", { dbRootPassword: "it's-a-long-one" }, "dbRootPassword", /no quotes or backslashes/],
    ["Redis password with a space", { redisPassword: "long enough but spaced" }, "redisPassword", /no spaces, quotes or backslashes/],
    ["key that is not PEM", { tlsCertificate: "-----BEGIN CERTIFICATE-----", tlsKey: "not a key" }, "tlsKey", /PEM private key/],
    ["bad image reference", { perconaImage: "percona/percona-server" }, "perconaImage", /with a tag/],
    ["XtraBackup image without a tag", { perconaXtrabackupImage: "percona/percona-xtrabackup" }, "perconaXtrabackupImage", /with a tag/],
    [
        "XtraBackup image with shell characters",
        { perconaXtrabackupImage: "percona/percona-xtrabackup:8.0.35-33;id" },
        "perconaXtrabackupImage",
        /with a tag/,
    ],
    [
        "XtraBackup 8.4 for a Percona Server 8.0",
        { perconaXtrabackupImage: "percona/percona-xtrabackup:8.4.0-3" },
        "perconaXtrabackupImage",
        /not XtraBackup 8\.0\.34 or later/,
    ],
    [
        "XtraBackup older than 8.0.34",
        { perconaXtrabackupImage: "percona/percona-xtrabackup:8.0.33-28" },
        "perconaXtrabackupImage",
        /not XtraBackup 8\.0\.34 or later/,
    ],
    ["a backup method that is not one", { backupMethod: "snapshot" }, "backupMethod", /one of "logical", "physical"/],
    [
        "a backup calendar that would end the unit-file line",
        { backupOnCalendar: "daily; reboot" },
        "backupOnCalendar",
        /calendar expression/,
    ],
    // The cluster's own logins and MySQL's system schemas (issue 19): wrong grants, and restore would drop `mysql`.
    ["the failover manager's login as app user", { dbUser: "failover" }, "dbUser", /reserved/],
    ["the replication login as app user", { dbUser: "replicator" }, "dbUser", /reserved/],
    ["the exporter's login as app user", { dbUser: "exporter" }, "dbUser", /reserved/],
    ["root as app user", { dbUser: "root" }, "dbUser", /reserved/],
    ["the mysql schema as app database", { dbName: "mysql" }, "dbName", /reserved/],
    ["information_schema in capitals", { dbName: "INFORMATION_SCHEMA" }, "dbName", /reserved/],
    ["performance_schema in mixed case", { dbName: "Performance_Schema" }, "dbName", /reserved/],
    ["the sys schema", { dbName: "sys" }, "dbName", /reserved/],
    ["MySQL in capitals", { dbName: "MySQL" }, "dbName", /reserved/],
    // A leading zero makes an octet octal to some parsers: 010.0.0.0/8 would be 8.0.0.0/8 (issue 19).
    ["leading zero in an allowlist CIDR", { adminAllowlist: ["010.0.0.0/8"] }, "adminAllowlist", /list of CIDRs/],
    ["leading zero in a prefix length", { adminAllowlist: ["10.0.0.0/08"] }, "adminAllowlist", /list of CIDRs/],
    ["leading zero in an IPv4-mapped allowlist entry", { adminAllowlist: ["::ffff:010.0.0.1/128"] }, "adminAllowlist", /list of CIDRs/],
    ["leading zero in the Docker subnet", { dockerSubnet: "172.028.0.0/24" }, "dockerSubnet", /an IPv4 network/],
    ["leading zero in the floating address", { floatingAddress: "172.28.0.05" }, "floatingAddress", /IPv4 address/],
    ["leading zero in the bastion's address", { sshBastion: "root@010.0.0.5" }, "sshBastion", /\[user@\]host\[:port\]/],
    ["a server name that is a short-form address", { serverName: "010.1" }, "serverName", /DNS host name/],
    // The balancer's affinity cookie must not overwrite PHP's session cookie or Bitrix's own (issue 19).
    ["PHP's session cookie as the sticky cookie", { stickyCookie: "PHPSESSID" }, "stickyCookie", /not PHPSESSID/],
    ["PHP's session cookie in lower case", { stickyCookie: "phpsessid" }, "stickyCookie", /not PHPSESSID/],
    ["a Bitrix cookie as the sticky cookie", { stickyCookie: "BITRIX_SM_LOGIN" }, "stickyCookie", /BITRIX_SM/],
    // TLS material is checked with node's crypto, not just for a BEGIN line (issue 19).
    [
        "text before the certificate",
        { tlsCertificate: `issued for portal.test\n${CERT}`, tlsKey: KEY },
        "tlsCertificate",
        /nothing outside/,
    ],
    ["text after the certificate", { tlsCertificate: `${CERT}Bag Attributes\n`, tlsKey: KEY }, "tlsCertificate", /nothing outside/],
    [
        "a certificate block that does not parse",
        { tlsCertificate: "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n", tlsKey: KEY },
        "tlsCertificate",
        /does not parse/,
    ],
    ["an expired certificate", { tlsCertificate: tls("expired.crt"), tlsKey: KEY }, "tlsCertificate", /expired on 2020-02-01/],
    ["text after the key", { tlsCertificate: CERT, tlsKey: `${KEY}junk` }, "tlsKey", /nothing outside/],
    [
        "a key that does not parse",
        { tlsCertificate: CERT, tlsKey: "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n" },
        "tlsKey",
        /does not parse/,
    ],
    ["Docker's default bridge as the subnet", { dockerSubnet: "172.17.0.0/16" }, "dockerSubnet", /Docker's default bridge/],
    [
        "a subnet inside Docker's default bridge",
        { dockerSubnet: "172.17.5.0/24" },
        "dockerSubnet",
        /overlaps 172\.17\.0\.0\/16, Docker's default bridge/,
    ],
    ["a subnet around Docker's default bridge", { dockerSubnet: "172.16.0.0/12" }, "dockerSubnet", /overlaps 172\.17\.0\.0\/16/],
    [
        "a key that does not match the certificate",
        { tlsCertificate: CERT, tlsKey: tls("other.key") },
        "tlsKey",
        /does not match bitrix-cluster:tlsCertificate/,
    ],
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

    it("takes a certificate chain with its key, and never repeats TLS material in a message", async () => {
        const c = validate({ tlsCertificate: `${CERT}\n${CERT}`, tlsKey: KEY });
        assert.equal(await pulumi.isSecret(c.balancer.tlsKey!), true);
        const body = (pem: string) => pem.split("\n")[1];
        for (const raw of [
            { tlsCertificate: `x${CERT}`, tlsKey: `${KEY}x` },
            { tlsCertificate: CERT, tlsKey: tls("other.key") },
        ]) {
            for (const p of problemsOf(raw)) for (const pem of [CERT, KEY, tls("other.key")]) assert.ok(!p.includes(body(pem)), p);
        }
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

describe("the admin allowlist", () => {
    const given = (raw: RawConfig) => validateClusterConfig(raw, ctx);

    it("must be set: behind a NAT, TCP load balancer or docker-proxy every client looks private", () => {
        assert.throws(
            () => given({}),
            (e: ConfigError) => e.problems.some((p) => /^bitrix-cluster:adminAllowlist: required: .*devStack/.test(p)),
        );
        assert.deepEqual(given({ adminAllowlist: ["203.0.113.0/24"] }).balancer.adminAllowlist, ["203.0.113.0/24"]);
    });

    it("defaults to loopback and the private ranges only on a Docker stack marked devStack", () => {
        assert.deepEqual(given({ devStack: true }).balancer.adminAllowlist, [
            "127.0.0.0/8",
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
        ]);
        assert.deepEqual(given({ devStack: true, adminAllowlist: ["127.0.0.0/8"] }).balancer.adminAllowlist, ["127.0.0.0/8"]);
    });

    it("opens to every address only when confirmed", () => {
        assert.deepEqual(given({ adminAllowlist: ["0.0.0.0/0", "::/0"], adminAllowlistAllowAll: true }).balancer.adminAllowlist, [
            "0.0.0.0/0",
            "::/0",
        ]);
    });
});

describe("address checks", () => {
    it("take IPv4 octets and prefix lengths only without leading zeros", () => {
        for (const good of ["10.0.0.0/8", "0.0.0.0/0", "192.168.1.0/24", "2001:db8::/32", "::ffff:10.0.0.1/128"])
            assert.equal(isCidr(good), true, good);
        for (const bad of ["010.0.0.0/8", "10.0.0.00/8", "10.0.0.0/08", "2001:db8::/032", "::ffff:10.0.0.01/128", "10.0.0.0/"])
            assert.equal(isCidr(bad), false, bad);
        assert.equal(isHostname("portal.example.com"), true);
        for (const numeric of ["010.0.0.1", "127.1", "10.0.0.1"]) assert.equal(isHostname(numeric), false, numeric);
        assert.equal(parseBastion("010.0.0.5"), undefined);
        assert.deepEqual(parseBastion("10.0.0.5"), { user: "root", host: "10.0.0.5", port: 22 });
    });
});

describe("reserved database names", () => {
    it("cover every login the cluster creates besides the app user", () => {
        for (const user of [FAILOVER_DB_USER, MONITOR_DB_USER, REPLICATION_DB_USER, "root"]) {
            assert.match(problemsOf({ dbUser: user }).join("\n"), /dbUser: got .*reserved/, user);
        }
        assert.equal(validate({ dbUser: "bitrix_app", dbName: "portal" }).db.user, "bitrix_app");
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

describe("validateClusterConfig placement hosts", () => {
    const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
    const hosts = [
        { name: "lb", address: "10.0.0.10", roles: ["balancer", "sentinel"] },
        { name: "w1", address: "10.0.0.11", roles: ["web", "sentinel"] },
        { name: "w2", address: "10.0.0.12", port: 2222, user: "deploy", roles: ["web"] },
        { name: "d1", address: "10.0.0.21", roles: ["db-master", "redis", "sentinel"] },
        { name: "d2", address: "10.0.0.22", roles: ["db-replica", "redis", "nfs"] },
        { name: "c1", address: "10.0.0.23", roles: ["redis"] },
        { name: "lb2", address: "10.0.0.31", roles: ["balancer"] },
    ].map((h) => ({ ...h, hostKey: testHostKey(h.name) }));
    const BASTION_KEY = testHostKey("bastion");
    const base = { placement: "hosts", dbEngine: "mariadb", hosts, sshPrivateKey: KEY, floatingAddress: "10.0.0.50", monitoring: false };
    const monitored = [...hosts.slice(0, 2), { ...hosts[2], roles: [...hosts[2].roles, "monitoring"] }, ...hosts.slice(3)];

    it("runs the push layer on hosts from the user's tarball, checked before any resource exists", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "push-tarball-"));
        fs.writeFileSync(path.join(dir, "start"), "#!/bin/sh\n", { mode: 0o755 });
        execFileSync("tar", ["-C", dir, "-czf", path.join(dir, "push.tgz"), "./start"]);
        const withPush = hosts.map((h) => (h.name === "lb2" ? { ...h, roles: [...h.roles, "push"] } : h));
        const archive = path.join(dir, "push.tgz");
        const c = validate({ ...base, hosts: withPush, pushServers: 1, pushArchive: archive });
        assert.equal(c.push.archive!.path, archive);
        assert.match(c.push.archive!.sha256, /^[a-f0-9]{64}$/);
        assert.equal(c.hosts!.inventory.services["push-1"], "lb2");
        assert.equal(c.hosts!.inventory.services["push-redis"], "lb2");
        const problems = (raw: RawConfig) => problemsOf({ ...base, hosts: withPush, pushServers: 1, ...raw }).join("\n");
        assert.match(
            problems({}),
            /bitrix-cluster:pushArchive: required with bitrix-cluster:pushServers = 1 on hosts: the path of the push server's tarball where pulumi runs/,
        );
        assert.match(problems({ pushArchive: path.join(dir, "none.tar.gz") }), /pushArchive: \S+none\.tar\.gz does not exist/);
        assert.match(problems({ pushArchive: path.join(dir, "start") }), /pushArchive: \S+start: expected a \.tar\.gz or \.tgz file/);
        assert.match(
            problems({ pushArchive: archive, pushImage: "registry.example.com/push:2" }),
            /bitrix-cluster:pushImage: only read with bitrix-cluster:placement = "docker"; remove it from this hosts stack/,
        );
        assert.match(
            problemsOf({ ...base, pushServers: 1, pushArchive: archive }).join("\n"),
            /1 host\(s\) must carry "push" \(pushServers\); 0 do/,
        );
        assert.match(
            problemsOf({ pushServers: 1, pushImage: "registry.example.com/push:2", pushArchive: archive }).join("\n"),
            /bitrix-cluster:pushArchive: only read with bitrix-cluster:placement = "hosts"; remove it, or set placement to "hosts"/,
        );
    });

    it("builds the inventory, the key as a secret and the bastion from config", async () => {
        const c = validate({ ...base, sshBastion: "jump@bastion.example.com:2200", sshBastionHostKey: `${BASTION_KEY} root@bastion` });
        assert.equal(c.placement, "hosts");
        assert.equal(c.hosts!.inventory.services["db-replica-1"], "d2");
        assert.equal(c.hosts!.inventory.hosts[2].user, "deploy");
        assert.equal(c.hosts!.inventory.hosts[2].hostKey, testHostKey("w2"));
        assert.deepEqual(c.hosts!.bastion, { user: "jump", host: "bastion.example.com", port: 2200, hostKey: BASTION_KEY });
        assert.equal(c.hosts!.insecureIgnoreHostKeys, false);
        assert.equal(await pulumi.isSecret(c.hosts!.privateKey), true);
        assert.equal(validate({ ...base }).hosts!.bastion, undefined);
    });

    it("reads the host list the way Pulumi hands structured config to the program (JSON text)", () => {
        const raw = parseValue(KEYS.hosts, JSON.stringify(hosts));
        assert.deepEqual(raw, hosts);
    });

    it("refuses a mix of placements: host keys on Docker, Docker keys and Docker-volume sharing on hosts", () => {
        assert.deepEqual(problemsOf({ hosts, sshBastion: "bastion" }), [
            'bitrix-cluster:hosts: only read with bitrix-cluster:placement = "hosts"; remove it, or set placement to "hosts"',
            'bitrix-cluster:sshBastion: only read with bitrix-cluster:placement = "hosts"; remove it, or set placement to "hosts"',
        ]);
        assert.match(problemsOf({ sharedStorage: "external" })[0], /sharedStorage: "external" .* needs bitrix-cluster:placement = "hosts"/);
        const mixed = problemsOf({ ...base, dockerSubnet: "172.29.0.0/24", httpsPort: 443, sharedStorage: "docker-volume" });
        assert.ok(
            mixed.includes(
                'bitrix-cluster:dockerSubnet: only read with bitrix-cluster:placement = "docker"; remove it from this hosts stack',
            ),
            mixed.join("\n"),
        );
        assert.ok(mixed.some((p) => p.startsWith("bitrix-cluster:httpsPort: only read with")));
        assert.ok(mixed.some((p) => /sharedStorage: "docker-volume" shares one Docker volume on a single Docker host/.test(p)));
        // Pulumi passes Pulumi.yaml's defaults as if set: a default value is not a mix.
        assert.doesNotThrow(() => validate({ ...base, dockerSubnet: "172.28.0.0/24", httpsPort: 8443 }));
    });

    it("requires the key and a host list that adds up, naming each problem", () => {
        assert.match(problemsOf({ ...base, sshPrivateKey: undefined }).join("\n"), /sshPrivateKey: required with placement "hosts"/);
        assert.match(
            problemsOf({ ...base, sshPrivateKey: "not a key" }).join("\n"),
            /sshPrivateKey: the secret value is not allowed; allowed: a PEM private key/,
        );
        const wrong = problemsOf({ ...base, webNodes: 3 }).join("\n");
        assert.match(
            wrong,
            /bitrix-cluster:hosts: invalid host list \(1 problem\):\n {2}- hosts: 3 host\(s\) must carry "web" \(webNodes\); 2 do/,
        );
        assert.match(problemsOf({ ...base, hosts: [] }).join("\n"), /hosts: a non-empty list/);
        assert.match(
            problemsOf({ ...base, hosts: [{ ...hosts[0], address: "lb.example.com" }, ...hosts.slice(1)] }).join("\n"),
            /address must be an IPv4 address/,
        );
        assert.match(
            problemsOf({ ...base, sshBastion: "a b" }).join("\n"),
            /sshBastion: got "a b"; allowed: empty, or \[user@\]host\[:port\]/,
        );
    });

    it("requires every host's and the bastion's SSH host key, with the one-time way to record it", () => {
        const unpinned = problemsOf({
            ...base,
            hosts: hosts.map(({ hostKey: _, ...h }) => h),
            sshBastion: "jump@bastion.example.com:2200",
        });
        assert.equal(unpinned.length, 2, unpinned.join("\n"));
        assert.match(
            unpinned[0],
            /^bitrix-cluster:sshBastionHostKey: required with bitrix-cluster:sshBastion .*bastion\.example\.com:2200 sees every connection.*ssh-keyscan -t ed25519 -p 2200 bastion\.example\.com`.*set bitrix-cluster:sshBastionHostKey to the "ssh-ed25519 AAAA\.\.\." part/,
        );
        assert.match(unpinned[1], /^bitrix-cluster:hosts: invalid host list \(7 problems\)/);
        assert.match(unpinned[1], /hosts\[2\] \(w2\): hostKey is required .*ssh-keyscan -t ed25519 -p 2222 10\.0\.0\.12`/);
        assert.match(
            problemsOf({ ...base, sshBastion: "bastion.example.com", sshBastionHostKey: "ssh-rsa AAAAB3NzaC1yc2E=" }).join("\n"),
            /sshBastionHostKey: got "ssh-rsa AAAAB3NzaC1yc2E="; allowed: empty, or "<type> <base64>" .*; this one is an RSA key/,
        );
        assert.match(
            problemsOf({ ...base, sshBastionHostKey: BASTION_KEY }).join("\n"),
            /sshBastionHostKey: only read with bitrix-cluster:sshBastion/,
        );
        assert.match(
            problemsOf({ ...base, hosts: [{ ...hosts[0], hostKey: "ssh-ed25519 AAAA" }, ...hosts.slice(1)] }).join("\n"),
            /hosts\[0\] \(lb\): hostKey is cut short/,
        );
    });

    it("accepts unpinned hosts and bastion only with sshInsecureIgnoreHostKeys, a hosts-only key", () => {
        const c = validate({
            ...base,
            hosts: hosts.map(({ hostKey: _, ...h }) => h),
            sshBastion: "bastion.example.com",
            sshInsecureIgnoreHostKeys: true,
        });
        assert.equal(c.hosts!.insecureIgnoreHostKeys, true);
        assert.equal(c.hosts!.inventory.hosts[0].hostKey, undefined);
        assert.deepEqual(c.hosts!.bastion, { user: "root", host: "bastion.example.com", port: 22 });
        assert.deepEqual(problemsOf({ sshInsecureIgnoreHostKeys: true, sshBastionHostKey: BASTION_KEY }), [
            'bitrix-cluster:sshBastionHostKey: only read with bitrix-cluster:placement = "hosts"; remove it, or set placement to "hosts"',
            'bitrix-cluster:sshInsecureIgnoreHostKeys: only read with bitrix-cluster:placement = "hosts"; remove it, or set placement to "hosts"',
        ]);
    });

    it("takes tlsMode acme: the ACME service on the first balancer's host; every other balancer host pinned, even in a lab", () => {
        const acme = {
            ...base,
            adminAllowlist: ["192.0.2.0/24"],
            serverName: "portal.example.com",
            tlsMode: "acme",
            acmeEmail: "ops@example.com",
        };
        const c = validate(acme);
        assert.equal(c.balancer.tlsMode, "acme");
        assert.equal(c.hosts!.inventory.services.acme, "lb");
        assert.equal(c.hosts!.inventory.services["balancer-1"], "lb");
        assert.equal(validate(base).hosts!.inventory.services.acme, undefined);
        // sshInsecureIgnoreHostKeys: the ACME host itself may be unpinned, a host it pushes the key to may not.
        const unpinned = (names: string[]) => hosts.map(({ hostKey, ...h }) => (names.includes(h.name) ? h : { ...h, hostKey }));
        assert.equal(
            validate({ ...acme, sshInsecureIgnoreHostKeys: true, hosts: unpinned(["lb", "w1"]) }).hosts!.inventory.services.acme,
            "lb",
        );
        assert.deepEqual(
            problemsOf({ ...acme, sshInsecureIgnoreHostKeys: true, hosts: unpinned(["lb", "lb2"]) }).filter((p) => /acme/.test(p)),
            [
                'bitrix-cluster:hosts: lb2: hostKey is required with bitrix-cluster:tlsMode "acme" even with bitrix-cluster:sshInsecureIgnoreHostKeys: the ACME service sends the certificate\'s private key to each other balancer host over SSH and must know who answers there',
            ],
        );
    });

    it("needs no NFS host with external shared storage, and refuses one", () => {
        const external = hosts.map((h) => ({ ...h, roles: h.roles.filter((r) => r !== "nfs") }));
        assert.equal(validate({ ...base, hosts: external, sharedStorage: "external" }).hosts!.inventory.services.nfs, undefined);
        assert.match(
            problemsOf({ ...base, sharedStorage: "external" }).join("\n"),
            /0 host\(s\) must carry "nfs" \(none: sharedStorage is external\); 1 do/,
        );
    });

    it("gives two balancers the floating address on vrrpInterface, a router id from the prefix, and refuses a clash", () => {
        const c = validate({ ...base, vrrpInterface: "ens18" });
        assert.deepEqual(
            { ...c.balancer.vrrp, password: undefined },
            { address: "10.0.0.50", interface: "ens18", routerId: derivedRouterId("bx-prod"), password: undefined },
        );
        assert.deepEqual([c.hosts!.inventory.services["balancer-1"], c.hosts!.inventory.services["balancer-2"]], ["lb", "lb2"]);
        assert.match(problemsOf({ ...base, floatingAddress: "" }).join("\n"), /floatingAddress: required with 2 balancers on hosts/);
        assert.match(
            problemsOf({ ...base, floatingAddress: "10.0.0.22" }).join("\n"),
            /floatingAddress: 10\.0\.0\.22 is the address of host "d2"/,
        );
        assert.match(problemsOf({ ...base, balancers: 3 }).join("\n"), /3 host\(s\) must carry "balancer" \(balancers\); 2 do/);
        const one = hosts.filter((h) => h.name !== "lb2");
        assert.equal(validate({ ...base, hosts: one, balancers: 1, floatingAddress: "" }).balancer.vrrp, undefined);
        assert.match(
            problemsOf({ ...base, hosts: one, balancers: 1 }).join("\n"),
            /floatingAddress: only used with 2 or more bitrix-cluster:balancers/,
        );
    });

    it("refuses a router id or floating address that another hosts stack of the project uses", () => {
        const other = (stack: string, raw: Record<string, unknown>) => ({ stack, raw: { placement: "hosts", ...raw } });
        assert.deepEqual(
            problemsBeside({ ...base, vrrpRouterId: 51 }, [other("prod", { vrrpRouterId: 51, floatingAddress: "10.0.0.60" })]),
            ['bitrix-cluster:vrrpRouterId: router id 51 is also used by stack "prod"; set a different bitrix-cluster:vrrpRouterId'],
        );
        // The other stack (bx-prod) derives its id from its prefix; this one sets the same id.
        const derived = problemsBeside({ ...base, vrrpRouterId: derivedRouterId("bx-prod") }, [
            other("prod", { floatingAddress: "10.0.0.50" }),
        ]);
        assert.equal(derived.length, 2, derived.join("\n"));
        assert.match(derived[0], /floatingAddress: 10\.0\.0\.50 is also the floating address of stack "prod"/);
        assert.match(derived[1], /router id \d+ is also used by stack "prod"/);
        // Docker stacks, single-balancer stacks and other ids do not collide.
        assert.deepEqual(
            problemsBeside({ ...base, vrrpRouterId: 51 }, [
                { stack: "dev", raw: { vrrpRouterId: 51 } },
                other("small", { balancers: 1, vrrpRouterId: 51 }),
                other("qa", { vrrpRouterId: 52, floatingAddress: "10.0.0.61" }),
            ]),
            [],
        );
    });

    it("puts the Monitoring layer on the one host with role monitoring, and wants none without it", () => {
        assert.equal(validate({ ...base, monitoring: true, hosts: monitored }).hosts!.inventory.services.monitoring, "w2");
        assert.match(
            problemsOf({ ...base, monitoring: true }).join("\n"),
            /1 host\(s\) must carry "monitoring" \(the Monitoring layer\); 0 do/,
        );
        assert.match(
            problemsOf({ ...base, hosts: monitored }).join("\n"),
            /0 host\(s\) must carry "monitoring" \(none: monitoring is off\); 1 do/,
        );
        assert.match(
            problemsOf({ ...base, monitoring: true, hosts: monitored, prometheusPort: 9191 }).join("\n"),
            /prometheusPort: only read with bitrix-cluster:placement = "docker"/,
        );
    });

    it("refuses Percona on hosts until its first-start path exists there", () => {
        assert.match(problemsOf({ ...base, dbEngine: "percona" }).join("\n"), /dbEngine: "percona" on hosts is not implemented yet/);
    });
});

describe("validateClusterConfig Docker stacks beside each other", () => {
    const problems = problemsBeside;

    it("refuses another Docker stack's name prefix or a subnet that overlaps its subnet", () => {
        // prod sets nothing: prefix bx-prod, subnet 172.28.0.0/24 (the defaults).
        assert.deepEqual(problems({ dockerSubnet: "172.28.0.0/24" }, [{ stack: "prod", raw: {} }]), [
            'bitrix-cluster:dockerSubnet: 172.28.0.0/24 overlaps 172.28.0.0/24 of stack "prod"; give each stack on one Docker engine its own subnet',
        ]);
        assert.deepEqual(problems({ namePrefix: "bx-prod", dockerSubnet: "172.29.0.0/24" }, [{ stack: "prod", raw: {} }]), [
            'bitrix-cluster:namePrefix: bx-prod is also the name prefix of stack "prod"; its containers, volumes and network would be this stack\'s',
        ]);
        assert.match(
            problems({ dockerSubnet: "172.28.0.0/16" }, [{ stack: "qa", raw: { namePrefix: "qa", dockerSubnet: "172.28.5.0/24" } }]).join(
                "\n",
            ),
            /dockerSubnet: 172\.28\.0\.0\/16 overlaps 172\.28\.5\.0\/24 of stack "qa"/,
        );
        // Different prefix and subnet, a hosts stack, and another stack's unreadable subnet: no collision.
        assert.deepEqual(
            problems({ dockerSubnet: "172.29.0.0/24" }, [
                { stack: "prod", raw: {} },
                { stack: "metal", raw: { placement: "hosts", namePrefix: "bx-test" } },
                { stack: "odd", raw: { dockerSubnet: "not a subnet" } },
            ]),
            [],
        );
    });
});

describe("validateClusterConfig balancers on Docker", () => {
    it("puts the floating address at the subnet's 5th address unless one is given, in the pinned half", () => {
        assert.deepEqual(
            { ...validate({}).balancer.vrrp, password: undefined },
            { address: "172.28.0.5", interface: "eth0", routerId: derivedRouterId("bx-prod"), password: undefined },
        );
        assert.equal(validate({ dockerSubnet: "172.29.4.0/24", floatingAddress: "172.29.4.100" }).balancer.vrrp!.address, "172.29.4.100");
        assert.match(
            problemsOf({ floatingAddress: "10.1.1.1" })[0],
            /floatingAddress: 10\.1\.1\.1 is outside bitrix-cluster:dockerSubnet 172\.28\.0\.0\/24/,
        );
        for (const taken of ["172.28.0.1", "172.28.0.10", "172.28.0.12", "172.28.0.200"]) {
            assert.match(problemsOf({ floatingAddress: taken })[0], /is not free: use an address of the lower half/, taken);
        }
        assert.match(problemsOf({ balancers: 5 })[0], /balancers: got 5; allowed: an integer from 1 to 4/);
        assert.match(problemsOf({ vrrpInterface: "ens18" })[0], /vrrpInterface: only read with bitrix-cluster:placement = "hosts"/);
        assert.match(problemsOf({ vrrpPassword: "short" })[0], /vrrpPassword: the secret value is not allowed/);
        // keepalived's quoted string ends at the next double quote, whatever precedes it: that one character is refused.
        assert.match(
            problemsOf({ vrrpPassword: 'abcd"efgh' })[0],
            /vrrpPassword: the secret value is not allowed; allowed: .*without spaces or double quotes/,
        );
        assert.doesNotThrow(() => validate({ vrrpPassword: "ab#c!d{e}f'g" }));
    });

    it("derives router ids from the name prefix, 1 to 255", () => {
        const ids = ["bx-prod", "bx-staging", "bx-dev", "a", "bx-" + "x".repeat(21)].map(derivedRouterId);
        for (const id of ids) assert.ok(Number.isInteger(id) && id >= 1 && id <= 255, String(id));
        assert.equal(derivedRouterId("bx-prod"), derivedRouterId("bx-prod"));
        assert.notEqual(derivedRouterId("bx-prod"), derivedRouterId("bx-staging"));
    });
});

describe("readOtherStacks", () => {
    it("reads the plain config of the project's other stack files, leaving secrets and other projects out", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stacks-"));
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: bitrix-cluster\n");
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), 'config:\n  bitrix-cluster:balancers: "1"\n');
        fs.writeFileSync(
            path.join(dir, "Pulumi.prod.yaml"),
            [
                "encryptionsalt: v1:abc",
                "config:",
                "  bitrix-cluster:placement: hosts",
                '  bitrix-cluster:vrrpRouterId: "51"',
                "  bitrix-cluster:vrrpPassword:",
                "    secure: v1:xyz",
                "  other:vrrpRouterId: 7",
                "",
            ].join("\n"),
        );
        fs.writeFileSync(path.join(dir, "Pulumi.broken.yaml"), "config: [\n");
        assert.deepEqual(readOtherStacks(dir, "bitrix-cluster", "dev"), [{ stack: "prod", raw: { placement: "hosts", vrrpRouterId: 51 } }]);
        assert.deepEqual(
            readOtherStacks(dir, "bitrix-cluster", "prod").map((o) => o.stack),
            ["dev"],
        );
        fs.rmSync(dir, { recursive: true });
    });
});

describe("keys that can hold credentials", () => {
    const HOOK = "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx";

    it("are secret keys: alertWebhookUrls and backupRepository (a webhook token, a repository login)", async () => {
        assert.equal((KEYS.alertWebhookUrls as KeySpec).secret, true);
        assert.equal((KEYS.backupRepository as KeySpec).secret, true);
        const urls = validate({ alertWebhookUrls: JSON.stringify([HOOK]) }).monitoring.webhookUrls!;
        assert.equal(await pulumi.isSecret(urls), true);
        assert.deepEqual(await new Promise((resolve) => urls.apply(resolve)), [HOOK]);
    });

    it("never repeat the value in a message", () => {
        for (const raw of [
            { alertWebhookUrls: JSON.stringify([HOOK, "ftp://user:pw@x"]) },
            { alertWebhookUrls: `[${HOOK}` },
            { backupRepository: `sftp:${HOOK}\n` },
        ]) {
            const problems = problemsOf(raw);
            assert.ok(problems.length > 0);
            for (const p of problems) assert.doesNotMatch(p, /abcdefghijklmnop|user:pw|hooks\.slack/, p);
        }
    });

    it("are not echoed from a plain key either: a login in an address, a URL's path, a token", () => {
        const cases: Array<[RawConfig, string, RegExp]> = [
            [{ alertSmarthost: "mailer:hunter2pass@smtp.example.com:587" }, "alertSmarthost", /hunter2pass/],
            [{ perconaImage: "https://deploy:tok3n-value@registry.example.com/percona" }, "perconaImage", /tok3n-value/],
            [{ sshBastion: "admin:pw12345678@bastion.example.com" }, "sshBastion", /pw12345678/],
            [{ alertEmailTo: HOOK }, "alertEmailTo", /abcdefghijklmnop|B0BBBBBBB/],
            [{ serverName: "portal.example.com?token=QWERTY12UIOPASDF34GHJK" }, "serverName", /QWERTY12UIOP/],
        ];
        for (const [raw, key, secret] of cases) {
            const hit = problemsOf(raw).find((p) => p.startsWith(`bitrix-cluster:${key}: got `));
            assert.ok(hit, `${key}: ${problemsOf(raw).join("\n")}`);
            assert.doesNotMatch(hit, secret);
        }
        // Ordinary values are still shown as given, long names included.
        assert.match(problemsOf({ serverName: "portal_.example" })[0], /got "portal_\.example"/);
        assert.match(problemsOf({ perconaImage: "percona/percona-server-for-mysql" })[0], /got "percona\/percona-server-for-mysql"/);
    });

    it("are refused when set without --secret, with the command that encrypts them and without the value", () => {
        const problems = (() => {
            try {
                validateClusterConfig(
                    { adminAllowlist: ADMINS, dbPassword: "plain-text-password", alertWebhookUrls: JSON.stringify([HOOK]) },
                    { ...ctx, plainTextSecrets: ["dbPassword", "alertWebhookUrls"] },
                );
            } catch (e) {
                return (e as ConfigError).problems;
            }
            return [];
        })();
        assert.deepEqual(problems, [
            "bitrix-cluster:dbPassword: set without --secret, so it sits unencrypted in Pulumi.prod.yaml; encrypt it: pulumi config set --secret --stack prod bitrix-cluster:dbPassword (it asks for the value)",
            "bitrix-cluster:alertWebhookUrls: set without --secret, so it sits unencrypted in Pulumi.prod.yaml; encrypt it: pulumi config set --secret --stack prod bitrix-cluster:alertWebhookUrls '[\"https://...\"]'",
        ]);
    });
});

describe("validateClusterConfig monitoring", () => {
    it("is on by default with no receiver, and builds the e-mail receiver from its keys", () => {
        const m = validate({}).monitoring;
        assert.deepEqual(
            { ...m, smtpPassword: undefined },
            {
                enabled: true,
                prometheusPort: 9090,
                alertmanagerPort: 9093,
                webhookUrls: undefined,
                email: undefined,
                smtpPassword: undefined,
                memoryMb: 768,
            },
        );
        const mail = validate({
            alertEmailTo: "ops@example.com",
            alertSmarthost: "smtp.example.com:587",
            alertSmtpUser: "am",
            alertSmtpPassword: pulumi.secret("smtp-secret-1"),
        }).monitoring;
        assert.deepEqual(mail.email, {
            to: "ops@example.com",
            from: "alertmanager@localhost",
            smarthost: "smtp.example.com:587",
            username: "am",
        });
    });

    it("names incomplete alert settings and port clashes", () => {
        assert.match(
            problemsOf({ alertEmailTo: "ops@example.com" }).join("\n"),
            /alertSmarthost: required with bitrix-cluster:alertEmailTo/,
        );
        assert.match(
            problemsOf({ alertSmarthost: "smtp.example.com:587" }).join("\n"),
            /alertEmailTo: set it, or remove the other alert e-mail settings/,
        );
        assert.match(
            problemsOf({ alertEmailTo: "a@b.c", alertSmarthost: "s:25", alertSmtpUser: "u" }).join("\n"),
            /alertSmtpPassword: required with bitrix-cluster:alertSmtpUser/,
        );
        assert.match(
            problemsOf({ alertWebhookUrls: '["ftp://x"]' }).join("\n"),
            /alertWebhookUrls: the secret value is not allowed; allowed: a list of http\(s\) URLs/,
        );
        assert.match(problemsOf({ prometheusPort: 8443 }).join("\n"), /port 8443 \(prometheusPort\) clashes with httpsPort/);
        assert.doesNotThrow(() => validate({ prometheusPort: 8443, monitoring: false }));
    });
});

describe("validateClusterConfig push layer", () => {
    const IMAGE = "registry.example.com/bitrix/push-server:2.0";

    it("is off by default, and on with servers and the user's image", () => {
        assert.deepEqual({ ...validate({}).push }, { servers: 0, image: "", securityKey: undefined, tunnelTimeoutS: 3600, memoryMb: 256 });
        const on = validate({ pushServers: 2, pushImage: IMAGE });
        assert.equal(on.push.servers, 2);
        assert.equal(on.push.image, IMAGE);
    });

    it("refuses push servers without an image, before any resource exists, saying where the image comes from", () => {
        const problems = problemsOf({ pushServers: 2 });
        assert.equal(problems.length, 1);
        assert.match(
            problems[0],
            /^bitrix-cluster:pushImage: required with bitrix-cluster:pushServers = 2: the push server's image \(Bitrix ships it with its environment only, so you supply it/,
        );
    });

    it("refuses an image or a tarball without servers, and an image without a tag", () => {
        assert.match(problemsOf({ pushImage: IMAGE }).join("\n"), /pushServers: set it to 1 or more to run bitrix-cluster:pushImage/);
        assert.match(
            problemsOf({ pushServers: 1, pushImage: "push-server" }).join("\n"),
            /pushImage: got "push-server"; allowed: empty, or an image reference with a tag or digest/,
        );
        assert.match(problemsOf({ pushServers: 9, pushImage: IMAGE }).join("\n"), /pushServers: got 9; allowed: an integer from 0 to 8/);
    });

    it("refuses a signature key that is short or has characters the push server does not allow, without echoing it", () => {
        for (const key of ["short0123456789", "a".repeat(31), `${"a".repeat(40)}!`, `${"a".repeat(40)} b`]) {
            const problems = problemsOf({ pushServers: 1, pushImage: IMAGE, pushSecurityKey: key });
            assert.equal(problems.length, 1, key);
            assert.match(
                problems[0],
                /^bitrix-cluster:pushSecurityKey: the secret value is not allowed; allowed: 32 to 256 letters and digits/,
            );
            assert.ok(!problems[0].includes(key));
        }
        const ok = validate({ pushServers: 1, pushImage: IMAGE, pushSecurityKey: "a1".repeat(16) });
        assert.ok(pulumi.Output.isInstance(ok.push.securityKey));
    });

    it("counts the push services and their Redis in the Docker subnet", () => {
        const full = { dockerSubnet: "172.28.0.0/26", webNodes: 20, monitoring: false };
        assert.doesNotThrow(() => validate(full));
        assert.match(
            problemsOf({ ...full, pushServers: 3, pushImage: IMAGE }).join("\n"),
            /dockerSubnet: 172\.28\.0\.0\/26 leaves \d+ addresses for \d+ containers/,
        );
    });
});
