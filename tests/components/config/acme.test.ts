import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as https from "node:https";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { ACME_PRESETS, acmeDirectoryProblem, acmeDirectoryUrl, acmePreflight, isAcmeName } from "../../../components/config/acme";
import { ConfigError, validateClusterConfig } from "../../../components/config/validate";
import { selfSignedCert } from "../../helpers/certs";

const ctx = { namespace: "bitrix-cluster", stack: "prod" };
const ACME = { adminAllowlist: ["192.0.2.0/24"], tlsMode: "acme", acmeEmail: "ops@example.com", serverName: "portal.example.com" };

function problemsOf(raw: Record<string, unknown>): string[] {
    try {
        validateClusterConfig(raw, ctx);
        return [];
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
        return e.problems;
    }
}

describe("ACME settings", () => {
    it("resolve the Let's Encrypt presets and take any https directory URL, nothing else", () => {
        assert.equal(acmeDirectoryUrl("letsencrypt"), "https://acme-v02.api.letsencrypt.org/directory");
        assert.equal(acmeDirectoryUrl("letsencrypt-staging"), "https://acme-staging-v02.api.letsencrypt.org/directory");
        assert.equal(acmeDirectoryUrl("https://ca.example.net:14000/dir"), "https://ca.example.net:14000/dir");
        for (const bad of [
            "http://ca.example.net/dir",
            "ca.example.net/dir",
            "letsencrypt-prod",
            "https://user:pw@ca.example.net/dir",
            "https://ca.example.net/d'ir",
            "ftp://x/y",
        ]) {
            assert.equal(acmeDirectoryUrl(bad), undefined, bad);
        }
        assert.deepEqual(Object.keys(ACME_PRESETS), ["letsencrypt", "letsencrypt-staging"]);
    });

    it("take DNS names HTTP-01 can validate: no IP address, wildcard or single label", () => {
        for (const good of ["portal.example.com", "a-b.example.co.uk", "xn--80ak6aa92e.xn--p1ai"]) assert.ok(isAcmeName(good), good);
        for (const bad of [
            "localhost",
            "10.0.0.5",
            "*.example.com",
            "portal_.example.com",
            "portal..example.com",
            "-a.example.com",
            "example.123",
        ])
            assert.ok(!isAcmeName(bad), bad);
    });

    it("build the ACME settings: serverName as the default name, presets resolved, EAB kept secret", async () => {
        const c = validateClusterConfig(
            { ...ACME, acmeDirectory: "letsencrypt-staging", acmeEabKid: "kid-1", acmeEabHmac: "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajV" },
            ctx,
        );
        assert.equal(c.balancer.tlsMode, "acme");
        assert.equal(c.balancer.acme!.directory, ACME_PRESETS["letsencrypt-staging"]);
        assert.deepEqual(c.balancer.acme!.names, ["portal.example.com"]);
        assert.ok(c.balancer.acme!.eab);
        const hmac = await new Promise((resolve) => c.balancer.acme!.eab!.hmac.apply(resolve));
        assert.equal(hmac, "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajV");
        assert.equal(
            validateClusterConfig({ ...ACME, acmeNames: ["www.example.com", "example.com"] }, ctx).balancer.acme!.names.join(" "),
            "www.example.com example.com",
        );
    });

    it("keep today's behaviour without tlsMode: self-signed, or provided with a certificate", () => {
        const c = validateClusterConfig({ adminAllowlist: ["192.0.2.0/24"] }, ctx);
        assert.equal(c.balancer.tlsMode, "self-signed");
        assert.equal(c.balancer.acme, undefined);
    });
});

describe("ACME config is refused before any resource exists", () => {
    const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
        ["acme without e-mail", { ...ACME, acmeEmail: "" }, "acmeEmail", /required with bitrix-cluster:tlsMode = "acme"/],
        ["an e-mail that is not one", { ...ACME, acmeEmail: "ops at example" }, "acmeEmail", /e-mail address/],
        ["serverName that is not a DNS name a CA validates", { ...ACME, serverName: "localhost" }, "serverName", /not a public DNS name/],
        ["a name that is not a DNS name", { ...ACME, acmeNames: ["portal.example.com", "10.0.0.5"] }, "acmeNames", /distinct DNS names/],
        ["a wildcard name", { ...ACME, acmeNames: ["*.example.com"] }, "acmeNames", /no wildcard/],
        ["a directory over plain http", { ...ACME, acmeDirectory: "http://ca.example.net/directory" }, "acmeDirectory", /https:\/\/ URL/],
        ["an unknown preset", { ...ACME, acmeDirectory: "letsencrypt-prod" }, "acmeDirectory", /"letsencrypt", "letsencrypt-staging"/],
        ["half an EAB", { ...ACME, acmeEabKid: "kid-1" }, "acmeEabHmac", /together/],
        ["an EAB key that is not base64url", { ...ACME, acmeEabKid: "kid-1", acmeEabHmac: "not base64url!" }, "acmeEabHmac", /base64url/],
        [
            "ACME keys without tlsMode acme",
            { adminAllowlist: ["192.0.2.0/24"], acmeEmail: "ops@example.com" },
            "acmeEmail",
            /only read with bitrix-cluster:tlsMode = "acme"/,
        ],
        [
            "provided without a certificate",
            { adminAllowlist: ["192.0.2.0/24"], tlsMode: "provided" },
            "tlsMode",
            /needs bitrix-cluster:tlsCertificate/,
        ],
        ["an unknown mode", { adminAllowlist: ["192.0.2.0/24"], tlsMode: "letsencrypt" }, "tlsMode", /"self-signed", "provided", "acme"/],
        ["a directory CA that is not PEM", { ...ACME, acmeDirectoryCa: "not pem" }, "acmeDirectoryCa", /PEM certificates/],
    ];
    for (const [what, raw, key, why] of cases) {
        it(what, () => {
            const problems = problemsOf(raw);
            assert.ok(
                problems.some((p) => p.startsWith(`bitrix-cluster:${key}:`) && why.test(p)),
                `${what}: ${JSON.stringify(problems)}`,
            );
        });
    }

    it("never repeats the EAB key in a message", () => {
        const problems = problemsOf({ ...ACME, acmeEmail: "", acmeEabKid: "kid-1", acmeEabHmac: "c2VjcmV0LWhtYWMtdmFsdWUtMTIz" });
        assert.ok(problems.length > 0);
        assert.ok(!problems.join("\n").includes("c2VjcmV0LWhtYWMtdmFsdWUtMTIz"));
    });
});

describe("the ACME directory pre-flight (pulumi up only)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acme-preflight-"));
    let server: https.Server;
    let base = "";
    let ca = "";
    before(async () => {
        const own = selfSignedCert(dir, "directory", { days: 1, cn: "127.0.0.1", subjectAltName: "IP:127.0.0.1" });
        ca = own.cert;
        server = https.createServer({ key: fs.readFileSync(own.keyPath), cert: ca }, (req, res) => {
            const bodies: Record<string, string> = {
                "/dir": JSON.stringify({ newNonce: `${base}/nonce`, newAccount: `${base}/acct`, newOrder: `${base}/order` }),
                "/html": "<html>hello</html>",
                "/json": JSON.stringify({ hello: "world" }),
            };
            if (!(req.url! in bodies)) res.statusCode = 404;
            res.end(bodies[req.url!] ?? "");
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        base = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    });
    after(() => {
        server.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("accepts a directory that lists newNonce, newAccount and newOrder, with the private CA's roots", async () => {
        assert.equal(await acmeDirectoryProblem(`${base}/dir`, { ca }), undefined);
    });

    it("names the URL and the cause otherwise", async () => {
        assert.match(
            (await acmeDirectoryProblem(`${base}/dir`))!,
            /^the ACME directory https:\/\/127\.0\.0\.1:\d+\/dir is unreachable from here: .*(self-signed|self signed)/,
        );
        assert.match((await acmeDirectoryProblem(`${base}/missing`, { ca }))!, /answered HTTP 404, not 200/);
        assert.match((await acmeDirectoryProblem(`${base}/html`, { ca }))!, /did not answer JSON/);
        assert.match((await acmeDirectoryProblem(`${base}/json`, { ca }))!, /lacks newNonce, newAccount, newOrder/);
    });

    it("reports a closed port and a silent server as unreachable", async () => {
        const closed = net.createServer();
        await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
        const port = (closed.address() as net.AddressInfo).port;
        await new Promise((resolve) => closed.close(resolve));
        assert.match((await acmeDirectoryProblem(`https://127.0.0.1:${port}/dir`))!, /is unreachable from here: .*ECONNREFUSED/);
        const silent = net.createServer(() => undefined);
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
        const silentUrl = `https://127.0.0.1:${(silent.address() as net.AddressInfo).port}/dir`;
        assert.match((await acmeDirectoryProblem(silentUrl, { timeoutMs: 300 }))!, /no answer within 0.3 s/);
        silent.close();
    });

    it("runs on pulumi up and not in a preview, and says so in its message", async () => {
        const acme = { directory: "https://127.0.0.1:1/dir", directoryCa: "" };
        assert.equal(await acmePreflight(acme, { dryRun: true, namespace: "bitrix-cluster" }), undefined);
        assert.equal(await acmePreflight(undefined, { dryRun: false, namespace: "bitrix-cluster" }), undefined);
        assert.match(
            (await acmePreflight(acme, { dryRun: false, namespace: "bitrix-cluster" }))!,
            /^bitrix-cluster:acmeDirectory: the ACME directory https:\/\/127\.0\.0\.1:1\/dir is unreachable.*previews skip this check/,
        );
        assert.equal(
            await acmePreflight({ directory: `${base}/dir`, directoryCa: ca }, { dryRun: false, namespace: "bitrix-cluster" }),
            undefined,
        );
    });
});
