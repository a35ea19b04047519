import { installMocks, recorded, secretOf, settle, valueOf } from "../../helpers/pulumiMocks";
installMocks();

import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as YAML from "yaml";
import { describe, it } from "node:test";
import { acmeEabEnv, acmeEnv, ACME_EAB_ENV, ACME_ENV, ACME_DIRECTORY_CA, TLS_DIR, TLS_SOURCE } from "../../../components/balancer/acme";
import { balancerConfig } from "../../../components/balancer/haproxyConfig";
import { selfSignedCommand, splitPair } from "../../../components/balancer/selfSigned";
import { BitrixCluster } from "../../../components/cluster";
import { validateClusterConfig } from "../../../components/config/validate";
import { RecordingPlacement } from "../../helpers/recordingPlacement";

const config = (raw: Record<string, unknown>) =>
    validateClusterConfig({ adminAllowlist: ["192.0.2.0/24"], ...raw }, { namespace: "bitrix-cluster", stack: "test" });

/** What a POSIX shell makes of an env file: the variables it sets. */
function sourced(text: string): Record<string, string> {
    const out = execFileSync("sh", ["-c", `set -a; eval "$ENVTEXT"; env -0`], {
        env: { ENVTEXT: text, PATH: process.env.PATH },
        encoding: "utf8",
    });
    return Object.fromEntries(
        out
            .split("\0")
            .filter(Boolean)
            .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
}

describe("acme.env", () => {
    it("holds the directory, contact, names and timing as the shell reads them back", () => {
        const env = sourced(
            acmeEnv({
                directory: "https://ca.example.net/dir",
                email: "ops@example.com",
                names: ["portal.example.com", "www.example.com"],
                checkS: 60,
                retryS: 20,
            }),
        );
        assert.equal(env.ACME_SERVER, "https://ca.example.net/dir");
        assert.equal(env.ACME_EMAIL, "ops@example.com");
        assert.equal(env.ACME_DOMAINS, "portal.example.com www.example.com");
        assert.equal(env.ACME_HTTP_PORT, "8888");
        assert.equal(env.ACME_CHECK_S, "60");
        assert.equal(env.ACME_RETRY_S, "20");
        assert.equal(env.ACME_KEY_TYPE, "ec256");
        assert.equal(sourced(acmeEnv({ directory: "https://x/y", email: "a@b.cd", names: ["a.b"] })).ACME_CHECK_S, "3600");
    });

    it("quotes what it is given: an EAB key with shell syntax stays data", () => {
        const env = sourced(acmeEabEnv("kid-1", "a'b$(touch /tmp/pwned)`x`"));
        assert.equal(env.ACME_EAB_KID, "kid-1");
        assert.equal(env.ACME_EAB_HMAC, "a'b$(touch /tmp/pwned)`x`");
    });
});

describe("HAProxy with an ACME service", () => {
    const base = {
        upstreams: [{ name: "web-1", host: "bx-web-1", port: 80, weight: 1 }],
        algorithm: "least_conn" as const,
        stickyCookie: "",
        healthPath: "/healthz.php",
        healthIntervalMs: 2000,
        healthTimeoutMs: 500,
        maxFails: 3,
        failTimeoutS: 15,
        adminAllowlist: ["10.0.0.0/8"],
        serverName: "portal.example.com",
        hstsMaxAgeS: 0,
        certPath: "/etc/haproxy/certs/site.pem",
        listen: { http: 80, https: 443, status: 8404 },
        resolver: "127.0.0.11:53",
    };

    it("sends challenge requests on port 80 to the service and redirects everything else", () => {
        for (const ports of [{ publicHttpsPort: 443 }, { publicHttpsPort: 8443 }, { publicHttpsPort: 8443, publicHttpPort: 8080 }]) {
            const cfg = balancerConfig({ ...base, ...ports, acmeChallenge: { host: "bx-acme", port: 8888 } });
            const http = cfg.slice(cfg.indexOf("frontend http\n"), cfg.indexOf("frontend https\n"));
            assert.match(http, /acl acme_challenge path_beg \/\.well-known\/acme-challenge\/\n/);
            assert.match(http, /\n {4}use_backend acme if acme_challenge\n/);
            const redirects = http.split("\n").filter((l) => l.includes("http-request redirect"));
            assert.ok(redirects.length > 0);
            for (const r of redirects) assert.match(r, /!acme_challenge( |$)/, r);
            assert.match(cfg, /\nbackend acme\n( {4}#.*\n)? {4}server acme bx-acme:8888 resolvers cluster/);
        }
    });

    it("has no ACME route without the service", () => {
        const cfg = balancerConfig({ ...base, publicHttpsPort: 443 });
        assert.doesNotMatch(cfg, /acme/);
    });

    it("parses with HAProxy 2.6 (haproxy -c)", () => {
        const cfg = balancerConfig({
            ...base,
            upstreams: [{ name: "web-1", host: "127.0.0.1", port: 80, weight: 1 }],
            publicHttpsPort: 443,
            acmeChallenge: { host: "127.0.0.1", port: 8888 },
            resolver: undefined,
        });
        const dir = execFileSync("mktemp", ["-d"], { encoding: "utf8" }).trim();
        execFileSync("sh", [
            "-c",
            `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=t -keyout ${dir}/k -out ${dir}/c 2>/dev/null && cat ${dir}/c ${dir}/k > ${dir}/site.pem`,
        ]);
        const text = cfg
            .replace("/etc/haproxy/certs/site.pem", `${dir}/site.pem`)
            .replace(/^ {4}(user|group|chroot) .*\n/gm, "")
            .replace(/stats socket \S+/, `stats socket ${dir}/admin.sock`);
        fs.writeFileSync(`${dir}/haproxy.cfg`, text);
        // No warning either (the balancer's start refuses a config with one).
        const out = execFileSync("haproxy", ["-c", "-f", `${dir}/haproxy.cfg`], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        assert.match(out, /Configuration file is valid/);
        assert.doesNotMatch(out, /WARNING/);
        execFileSync("rm", ["-rf", dir]);
    });
});

describe("tlsMode acme over the placement seam", () => {
    const placement = new RecordingPlacement();
    new BitrixCluster("a1", {
        config: config({
            dbEngine: "mariadb",
            tlsMode: "acme",
            acmeEmail: "ops@example.com",
            serverName: "portal.example.com",
            acmeNames: ["portal.example.com", "www.example.com"],
            acmeDirectory: "https://ca.example.net/dir",
            acmeDirectoryCa: fs.readFileSync(`${__dirname}/../../../../tests/fixtures/tls/portal.crt`, "utf8"),
            acmeEabKid: "kid-1",
            acmeEabHmac: "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajV",
        }),
        placement,
    });

    it("runs one ACME service with its state on a data volume and the published certificate on the volume both balancers mount", async () => {
        await settle();
        const acme = placement.spec("acme");
        assert.deepEqual(acme.image, { role: "acme" });
        assert.deepEqual(
            acme.volumes!.map((v) => [v.kind, v.path]),
            [
                ["data", "/var/lib/acme"],
                ["shared", TLS_DIR],
            ],
        );
        for (const b of ["balancer-1", "balancer-2"]) {
            const spec = placement.spec(b);
            assert.deepEqual(
                spec.volumes!.map((v) => [v.kind, v.name, v.path]),
                [["shared", "tls", TLS_DIR]],
            );
            assert.equal(spec.env!.TLS_SOURCE, TLS_SOURCE);
            assert.match(await valueOf(placement.file(b, "/etc/haproxy/haproxy.cfg")), /server acme t-acme:8888/);
            assert.ok(!spec.files.some((f) => f.path === "/etc/haproxy/certs/site.pem"), "no certificate from config in acme mode");
        }
        assert.equal(placement.specs.filter((s) => s.service === "acme").length, 1);
    });

    it("gives the service its settings, the directory's roots, and the EAB as a secret file", async () => {
        const env = sourced(await valueOf(placement.file("acme", ACME_ENV)));
        assert.equal(env.ACME_DOMAINS, "portal.example.com www.example.com");
        assert.equal(env.ACME_SERVER, "https://ca.example.net/dir");
        assert.match(await valueOf(placement.file("acme", ACME_DIRECTORY_CA)), /BEGIN CERTIFICATE/);
        const eab = placement.spec("acme").files.find((f) => f.path === ACME_EAB_ENV)!;
        assert.equal(eab.secret, true);
        assert.equal(await secretOf(eab.content), true);
        assert.doesNotMatch(await valueOf(placement.file("acme", ACME_ENV)), /zWNDZM6e/);
    });

    it("probes each balancer's certificate and scrapes the ACME service", async () => {
        const prom = YAML.parse(await valueOf(placement.file("monitoring", "/etc/bitrix-monitoring/prometheus.yml")));
        const job = (name: string) => prom.scrape_configs.find((j: { job_name: string }) => j.job_name === name);
        assert.deepEqual(
            job("blackbox-tls").static_configs.map((c: { targets: string[] }) => c.targets[0]),
            ["t-balancer-1:443", "t-balancer-2:443"],
        );
        assert.deepEqual(job("acme").static_configs[0].targets, ["t-acme:9466"]);
        const bb = YAML.parse(await valueOf(placement.file("monitoring", "/etc/bitrix-monitoring/blackbox.yml")));
        assert.equal(bb.modules.tls_cert.tcp.tls_config.server_name, "portal.example.com");
    });
});

describe("tlsMode self-signed and provided", () => {
    it("run no ACME service and route no challenge", async () => {
        const placement = new RecordingPlacement();
        new BitrixCluster("s1", { config: config({ dbEngine: "mariadb" }), placement });
        await settle();
        assert.ok(!placement.specs.some((s) => s.service === "acme"));
        assert.doesNotMatch(await valueOf(placement.file("balancer-1", "/etc/haproxy/haproxy.cfg")), /acme/);
        assert.equal(placement.spec("balancer-1").env!.TLS_SOURCE, undefined);
    });
});

describe("tlsMode self-signed: one pair for every balancer", () => {
    it("gives both balancers the same certificate file, a secret, from one local command run once", async () => {
        const placement = new RecordingPlacement();
        new BitrixCluster("ss", { config: config({ dbEngine: "mariadb", serverName: "portal.example.com" }), placement });
        await settle();
        const files = ["balancer-1", "balancer-2"].map((b) =>
            placement.spec(b).files.find((f) => f.path === "/etc/haproxy/certs/site.pem")!,
        );
        assert.ok(files.every((f) => f.secret));
        assert.equal(await secretOf(files[0].content), true);
        const [a, b] = await Promise.all(files.map((f) => valueOf(f.content)));
        assert.equal(a, b);
        assert.match(
            a,
            /^-----BEGIN CERTIFICATE-----\nmock-for-portal\.example\.com\n-----END CERTIFICATE-----\n\n-----BEGIN PRIVATE KEY-----\nmock-key\n/,
        );
        const made = recorded.filter((r) => r.type === "command:local:Command" && r.name === "ss-balancer-self-signed");
        assert.equal(made.length, 1);
        assert.equal(made[0].inputs.logging, "none", "the key never reaches the engine's log");
    });

    it("makes a P-256 certificate for serverName with its key: the generated command in a shell, then split", () => {
        const run = () => splitPair(execFileSync("sh", ["-c", selfSignedCommand("portal.example.com")], { encoding: "utf8" }));
        const pair = run();
        const cert = new X509Certificate(pair.certificate);
        assert.equal(cert.subjectAltName, "DNS:portal.example.com");
        assert.match(cert.subject, /CN=portal\.example\.com/);
        assert.ok(cert.checkPrivateKey(createPrivateKey(pair.key)));
        assert.equal(Math.round((Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86400_000), 825);
        assert.notEqual(run().key, pair.key, "a new key each time the command runs (it runs once per stack)");
        assert.throws(() => splitPair("openssl: not found\n"), /no certificate and key/);
    });
});
