/**
 * End to end, tlsMode "acme" against Let's Encrypt's test CA on this machine: Debian's pebble 2.4.0 with real HTTP-01
 * validation (no PEBBLE_VA_ALWAYS_VALID, no PEBBLE_VA_NOSLEEP; authorizations never reused, so every renewal is
 * validated again), names resolved by pebble-challtestsrv to the stack's floating address, 90-second certificates.
 * A small stack (two balancers, one web node, monitoring off) checks: one certificate chaining to pebble's root on
 * both balancers' own addresses; a forced renewal under steady HTTPS load without a failed request; the address
 * holder killed during a renewal and the renewal completing; a renewal by itself at a third of the lifetime left.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { Daemons, tmpDir, waitFor, write } from "../helpers/daemons";
import { dockerObjects } from "../helpers/docker";
import { startPebble } from "../helpers/pebble";
import { requireEngineTools, TestStack } from "../helpers/pulumiStack";
import { startTlsLoad } from "../helpers/tlsLoad";
import { holders } from "../../tools/drill/balancerDrill";

const PREFIX = "bx-acme";
const SUBNET = "172.28.40";
const VIP = `${SUBNET}.5`;
const BALANCER_IPS = [`${SUBNET}.11`, `${SUBNET}.12`];
const BALANCERS = [`${PREFIX}-balancer-1`, `${PREFIX}-balancer-2`];
const ACME = `${PREFIX}-acme`;
const NAME = "portal.acme.test";
/** docker0's address: on the host before the stack's network exists (the pre-flight) and reachable from its containers. */
const PEBBLE_HOST = "172.17.0.1";
const PEBBLE = { acme: 14100, management: 15100, dns: 8153, challtestsrvManagement: 8155 };
const DIRECTORY = `https://${PEBBLE_HOST}:${PEBBLE.acme}/dir`;
const VALIDITY_S = 90;

function sh(cmd: string, args: string[], input?: string): string {
    return execFileSync(cmd, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"], timeout: 60_000 });
}

/** Runs a command in the background; `output()` is what it printed so far, `done` its exit code and all output. */
function background(cmd: string, args: string[]): { output: () => string; done: Promise<{ code: number; out: string }> } {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
    const done = new Promise<{ code: number; out: string }>((resolve) =>
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code: code ?? 1, out });
        }),
    );
    return { output: () => out, done };
}

/** The chain a TLS endpoint serves for NAME: leaf first. */
function servedChain(address: string, port = 443): string[] {
    const out = sh("sh", ["-c", `openssl s_client -connect ${address}:${port} -servername ${NAME} -showcerts </dev/null 2>/dev/null`]);
    return [...out.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/g)].map((m) => m[0]);
}

const fingerprint = (pem: string) => sh("openssl", ["x509", "-noout", "-fingerprint", "-sha256"], pem).trim().split("=")[1];
const dates = (pem: string) => {
    const out = sh("openssl", ["x509", "-noout", "-startdate", "-enddate", "-issuer"], pem);
    return {
        notBefore: Date.parse(/notBefore=(.*)/.exec(out)![1]),
        notAfter: Date.parse(/notAfter=(.*)/.exec(out)![1]),
        issuer: /issuer=(.*)/.exec(out)![1],
    };
};

describe("tlsMode acme against pebble (stack acme)", { timeout: 30 * 60_000 }, () => {
    const stack = new TestStack("acme");
    const daemons = new Daemons();
    const dir = tmpDir("pebble");
    const figures: Record<string, unknown> = {};
    let root = "";
    /** Whether `address` serves a certificate for NAME that chains to pebble's root; its leaf, or undefined. */
    const verifiedLeaf = (address: string): string | undefined => {
        const chain = servedChain(address);
        if (chain.length < 2) return undefined;
        write(path.join(dir, "leaf.pem"), chain[0]);
        write(path.join(dir, "untrusted.pem"), chain.slice(1).join(""));
        try {
            sh("openssl", [
                "verify",
                "-CAfile",
                path.join(dir, "root.pem"),
                "-untrusted",
                path.join(dir, "untrusted.pem"),
                "-verify_hostname",
                NAME,
                path.join(dir, "leaf.pem"),
            ]);
            return chain[0];
        } catch {
            return undefined;
        }
    };
    const acmeLog = () => sh("sh", ["-c", `docker logs ${ACME} 2>&1`]);
    /** Both balancers (their own addresses) serve the same pebble-issued certificate other than `not`; its leaf. */
    const bothServeNew =
        (not: string[] = []) =>
        () => {
            const leaves = BALANCER_IPS.map(verifiedLeaf);
            if (leaves.some((l) => l === undefined)) return undefined;
            const prints = leaves.map((l) => fingerprint(l!));
            return prints[0] === prints[1] && !not.includes(prints[0]) ? leaves[0] : undefined;
        };

    before(async () => {
        requireEngineTools();
        assert.deepEqual(
            dockerObjects(PREFIX),
            { containers: [], networks: [], volumes: [] },
            `objects of ${PREFIX} left from an earlier run`,
        );
        const pebble = await startPebble(daemons, dir, { host: PEBBLE_HOST, ports: PEBBLE, resolveTo: VIP, validityS: VALIDITY_S });
        const ca = pebble.directoryCa;
        root = pebble.root;
        assert.equal(pebble.directory, DIRECTORY);
        write(path.join(dir, "root.pem"), root);
        await stack.init({
            dbEngine: "mariadb",
            sharedStorage: "docker-volume",
            retainDataVolumes: false,
            allowDataLoss: true,
            monitoring: false,
            webNodes: 1,
            dbReplicas: 1,
            redisReplicas: 1,
            sentinels: 3,
            dbRedoLogMb: 64,
            dbBufferPoolMb: 128,
            dbMemoryMb: 768,
            webMemoryMb: 384,
            redisMaxMemoryMb: 32,
            redisMemoryMb: 128,
            dockerSubnet: `${SUBNET}.0/24`,
            httpPort: 28080,
            httpsPort: 28443,
            statusPort: 28404,
            serverName: NAME,
            tlsMode: "acme",
            acmeEmail: "ops@example.com",
            acmeDirectory: DIRECTORY,
        });
        stack.setStructuredConfig({ adminAllowlist: ["127.0.0.0/8", `${SUBNET}.1/32`], acmeDirectoryCa: ca });
    });

    after(async () => {
        await stack.remove();
        const left = dockerObjects(PREFIX);
        if (left.containers.length) sh("docker", ["rm", "-f", ...left.containers]);
        if (left.volumes.length) sh("docker", ["volume", "rm", "-f", ...left.volumes]);
        if (left.networks.length) sh("docker", ["network", "rm", ...left.networks]);
        await daemons.stopAll();
        console.log(`# acme e2e figures: ${JSON.stringify(figures)}`);
    });

    it("refuses `pulumi up` before any resource when the directory does not answer", async () => {
        await stack.setConfig("acmeDirectory", `https://${PEBBLE_HOST}:1/dir`);
        const r = await stack.run(["up", "--yes", "--skip-preview"]);
        assert.notEqual(r.code, 0);
        assert.match(
            r.stdout + r.stderr,
            /bitrix-cluster:acmeDirectory: the ACME directory https:\/\/172\.17\.0\.1:1\/dir is unreachable from here/,
        );
        const state = JSON.parse((await stack.ok(["stack", "export"])).stdout);
        assert.deepEqual(
            (state.deployment.resources ?? []).filter((res: { type: string }) => !res.type.startsWith("pulumi:")),
            [],
        );
        await stack.setConfig("acmeDirectory", DIRECTORY);
    });

    it("brings the stack up and both balancers serve one certificate that chains to pebble's root", async () => {
        const up = await stack.ok(["up", "--yes", "--skip-preview"], 25 * 60_000);
        figures.upS = up.seconds;
        const t0 = Date.now();
        const leaf = await waitFor("both balancers serving a pebble certificate", bothServeNew(), 180_000, 1000);
        figures.servedAfterUpS = (Date.now() - t0) / 1000;
        figures.issuedInS = Number(/certificate issued in (\d+) s/.exec(acmeLog())?.[1]);
        const d = dates(leaf);
        assert.match(d.issuer, /Pebble Intermediate CA/);
        assert.ok(Math.abs((d.notAfter - d.notBefore) / 1000 - VALIDITY_S) <= 1, `lifetime ${(d.notAfter - d.notBefore) / 1000} s`);
        // The floating address and the published door serve it too.
        assert.equal(fingerprint(verifiedLeaf(VIP)!), fingerprint(leaf));
        assert.equal(fingerprint(servedChain("127.0.0.1", 28443)[0]), fingerprint(leaf));
        // The key: root's only wherever it lies, and in no log.
        for (const [container, file] of [
            [ACME, "/var/lib/bitrix-tls/site.pem"],
            [BALANCERS[0], "/etc/haproxy/certs/site.pem"],
            [BALANCERS[1], "/etc/haproxy/certs/site.pem"],
        ]) {
            assert.equal(sh("docker", ["exec", container, "stat", "-c", "%a %U", file]).trim(), "600 root", `${container}:${file}`);
        }
        for (const c of [ACME, ...BALANCERS]) assert.doesNotMatch(sh("sh", ["-c", `docker logs ${c} 2>&1`]), /PRIVATE KEY/);
        // The renewal metrics, from a balancer (the service's port is on the stack network only).
        const metrics = sh("docker", ["exec", BALANCERS[0], "curl", "-fsS", `http://${ACME}:9466/metrics`]);
        assert.match(metrics, /^bitrix_acme_last_attempt_success 1$/m);
        figures.failedAttemptsBeforeFirst = Number(/^bitrix_acme_failures_total (\d+)$/m.exec(metrics)?.[1]);
        const firstRuns = acmeLog()
            .split("\n")
            .filter((l) => /^acme:|\[ERROR\]|error:|urn:ietf/.test(l))
            .slice(0, 8);
        console.log(`# acme service's first runs:\n${firstRuns.map((l) => `#   ${l.slice(0, 400)}`).join("\n")}`);
        console.log(
            `# acme: issued by pebble in ${String(figures.issuedInS)} s (lego run), both balancers serving it ${String(figures.servedAfterUpS)} s after pulumi up (${up.seconds.toFixed(0)} s)`,
        );
    });

    it("renews on demand under steady HTTPS load on the floating address without a failed request", async () => {
        const before_ = fingerprint(await waitFor("one certificate on both balancers", bothServeNew(), 30_000, 500));
        const load = startTlsLoad({ host: VIP, port: 443, servername: NAME, path: "/healthz.php" }, 4);
        await waitFor("50 requests before the renewal", () => load.count() >= 50, 30_000, 50);
        const t0 = Date.now();
        const run = await background("docker", ["exec", ACME, "acme-run", "once", "force"]).done;
        assert.equal(run.code, 0, run.out);
        const leaf = await waitFor("both balancers serving the renewed certificate", bothServeNew([before_]), 60_000, 500);
        const renewS = (Date.now() - t0) / 1000;
        const served = load.count();
        await waitFor("50 more requests after the renewal", () => load.count() >= served + 50, 30_000, 50);
        const result = await load.stop();
        figures.renewalUnderLoad = {
            requests: result.requests,
            failed: result.failures.length,
            renewS,
            reusedAcrossSwap: result.reusedAcrossSwap,
            certificates: result.certificates.length,
        };
        console.log(
            `# acme: forced renewal under load: ${result.requests} HTTPS requests to ${VIP}, ${result.failures.length} failed; new certificate on both balancers ${renewS.toFixed(1)} s after the request; ` +
                `${result.reusedAcrossSwap} requests on connections opened before it`,
        );
        assert.deepEqual(result.failures, []);
        assert.ok(result.certificates.length >= 2, "the load saw the new certificate");
        assert.notEqual(fingerprint(leaf), before_);
    });

    it("completes a renewal while the address holder is killed in the middle of it", async () => {
        const before_ = fingerprint(await waitFor("one certificate on both balancers", bothServeNew(), 30_000, 500));
        const [holder] = await holders(BALANCERS, VIP);
        assert.ok(holder, "a balancer holds the floating address");
        const survivor = BALANCERS.find((b) => b !== holder)!;
        const events: Array<[string, string]> = [];
        const mark = (what: string) => events.push([new Date().toISOString(), what]);
        mark("forced renewal started");
        const run = background("docker", ["exec", ACME, "acme-run", "once", "force"]);
        // Kill once lego has its order and is waiting for pebble to validate (pebble sleeps 0-15 s before it does).
        await waitFor("lego waiting for validation", () => /acme: Trying to solve HTTP-01/.test(run.output()), 90_000, 100);
        mark("lego: trying to solve HTTP-01");
        sh("docker", ["kill", holder]);
        mark(`killed ${holder} (the address holder)`);
        await waitFor(`${survivor} taking ${VIP}`, async () => (await holders(BALANCERS, VIP)).includes(survivor), 20_000, 100);
        mark(`${survivor} holds ${VIP}`);
        const forced = await run.done;
        mark(`forced run ended: exit ${forced.code}`);
        // Whichever run completes it (the forced one, or the service's retry after a failed validation).
        const survivorIp = BALANCER_IPS[BALANCERS.indexOf(survivor)];
        await waitFor(
            "the survivor serving a renewed certificate",
            () => {
                const leaf = verifiedLeaf(survivorIp);
                return leaf && fingerprint(leaf) !== before_;
            },
            120_000,
            500,
        );
        mark(`${survivor} serves the renewed certificate`);
        sh("docker", ["start", holder]);
        await waitFor("the restarted balancer serving the renewed certificate too", bothServeNew([before_]), 90_000, 1000);
        mark(`${holder} restarted, serves it too`);
        const lines = forced.out
            .split("\n")
            .filter((l) => /^acme:|Trying to solve|validated|Served key|error|invalid/i.test(l))
            .slice(0, 20)
            .join("\n");
        figures.failoverDuringRenewal = { events, forcedExit: forced.code };
        console.log(
            `# acme: holder killed during renewal:\n${events.map(([t, e]) => `#   ${t} ${e}`).join("\n")}\n# forced run's output:\n${lines
                .split("\n")
                .filter(Boolean)
                .map((l) => `#   ${l}`)
                .join("\n")}`,
        );
    });

    it("renews by itself when a third of the certificate's lifetime is left", async () => {
        const current = await waitFor("one certificate on both balancers", bothServeNew(), 30_000, 500);
        const d = dates(current);
        const t0 = Date.now();
        const leaf = await waitFor("a renewal without a request", bothServeNew([fingerprint(current)]), (VALIDITY_S + 60) * 1000, 1000);
        const next = dates(leaf);
        const atFraction = (next.notBefore - d.notBefore) / (d.notAfter - d.notBefore);
        figures.automaticRenewal = { waitedS: (Date.now() - t0) / 1000, renewedAtLifetimeFraction: Number(atFraction.toFixed(2)) };
        console.log(
            `# acme: renewed by itself at ${(atFraction * 100).toFixed(0)} % of the previous certificate's lifetime (goal: from 67 %)`,
        );
        // Not before two thirds of the lifetime (pebble's validation sleep and the 1 s clock resolution add to it).
        assert.ok(atFraction >= 0.66 && atFraction < 1, `renewed at ${atFraction}`);
        const metrics = sh("docker", ["exec", BALANCERS[0], "curl", "-fsS", `http://${ACME}:9466/metrics`]);
        assert.match(metrics, /^bitrix_acme_last_attempt_success 1$/m);
    });
});
