/**
 * The certificate path of tlsMode "acme" with Debian's daemons on loopback: HAProxy from the generated config routes
 * ACME challenges on port 80, the balancer image's cert-watch swaps a published certificate into the running HAProxy
 * under steady HTTPS load (counted), refuses a certificate without its key, and the blackbox exporter's expiry
 * metric of a near-expiry certificate makes Prometheus raise TlsCertificateExpiresSoon with the generated rules.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { balancerConfig } from "../../components/balancer/haproxyConfig";
import { ALERTS, alertRulesYaml } from "../../components/monitoring/alertRules";
import { blackboxConfig, prometheusConfig } from "../../components/monitoring/prometheusConfig";
import { Daemons, requireBinary, run, tmpDir, waitFor, write } from "../helpers/daemons";
import { loopbackBalancerInput } from "../helpers/balancerInput";
import { selfSignedCert } from "../helpers/certs";
import { listening, request } from "../helpers/http";
import { startTlsLoad } from "../helpers/tlsLoad";

// Below the kernel's ephemeral range (32768-60999), like every fixed port of the daemon tests.
const PORTS = { http: 32080, https: 32443, status: 32404, web: 32081, acme: 32888, blackbox: 32115, prometheus: 32190 };
const IMAGES = path.join(__dirname, "..", "..", "..", "images");

describe(
    "tls: certificate swap, challenge route and expiry alert with Debian's HAProxy, blackbox exporter and Prometheus",
    { timeout: 180_000 },
    () => {
        const daemons = new Daemons();
        const dir = tmpDir("tls");
        const published = path.join(dir, "published", "site.pem");
        const input = loopbackBalancerInput(dir, PORTS, [{ name: "web-1", host: "127.0.0.1", port: PORTS.web, weight: 1 }], {
            stickyCookie: "",
            hstsMaxAgeS: 0,
            certPath: path.join(dir, "certs", "site.pem"),
            acmeChallenge: { host: "127.0.0.1", port: PORTS.acme },
        });
        let web: http.Server;
        let challenges: http.Server;
        /** A certificate for portal.test valid `days` days, with its key, as HAProxy's one-file PEM. */
        const pem = (name: string, days: number, keyOf?: string) => {
            selfSignedCert(dir, name, { days, cn: name, subjectAltName: "DNS:portal.test" });
            return fs.readFileSync(path.join(dir, `${name}.crt`), "utf8") + fs.readFileSync(path.join(dir, `${keyOf ?? name}.key`), "utf8");
        };
        /** What the ACME service does: write next to the file, then rename over it. */
        const publish = (text: string) => {
            write(`${published}.tmp`, text, 0o600);
            fs.renameSync(`${published}.tmp`, published);
        };
        const servedCn = () => {
            const out = run("sh", [
                "-c",
                `openssl s_client -connect 127.0.0.1:${PORTS.https} -servername portal.test </dev/null 2>/dev/null | openssl x509 -noout -subject`,
            ]);
            return /CN ?= ?(\S+)/.exec(out)?.[1];
        };

        before(async () => {
            fs.mkdirSync(path.dirname(published), { recursive: true });
            fs.mkdirSync(path.dirname(input.certPath), { recursive: true });
            write(input.certPath, pem("first", 90), 0o600);
            write(path.join(dir, "haproxy.cfg"), balancerConfig(input));
            web = await listening(
                http.createServer((req, res) => res.writeHead(200).end(req.url === "/healthz.php" ? "OK\n" : "page\n")),
                PORTS.web,
            );
            challenges = await listening(
                http.createServer((req, res) => res.writeHead(200).end(`token for ${req.url}`)),
                PORTS.acme,
            );
            daemons.start("haproxy", requireBinary("haproxy"), ["-db", "-f", path.join(dir, "haproxy.cfg")]);
            daemons.start("cert-watch", path.join(IMAGES, "balancer", "cert-watch.sh"), [published, input.certPath], {
                ADMIN_SOCKET: input.adminSocket,
                CERT_WATCH_S: "1",
            });
            // Each wait says what it last saw, and fails with the daemons' output if one of them exits: a CI run
            // (stop 35) failed in this hook without saying which wait or why.
            const answers = async (url: string, headers?: Record<string, string>) => {
                const r = await request(url, { headers });
                if (r.status !== 200) throw new Error(`HTTP ${r.status} from ${url}`);
                return true;
            };
            await daemons.waitFor("HAProxy on its HTTPS port", () => answers(`https://127.0.0.1:${PORTS.https}/`));
            // Its ACME backend too: a CI run once asked 3 s after the start and got 503 (the cause was not found; the
            // error now carries what HAProxy printed). A CA retries its HTTP-01 request the same way.
            await daemons.waitFor("HAProxy routing challenges", () =>
                answers(`http://127.0.0.1:${PORTS.http}/.well-known/acme-challenge/ready`, { host: "portal.test" }),
            );
        });

        after(async () => {
            await daemons.stopAll();
            web?.close();
            challenges?.close();
        });

        it("answers ACME challenges on port 80 from the ACME service and redirects everything else", async () => {
            const token = await request(`http://127.0.0.1:${PORTS.http}/.well-known/acme-challenge/abc123`, {
                headers: { host: "portal.test" },
            });
            assert.equal(token.status, 200);
            assert.equal(token.body, "token for /.well-known/acme-challenge/abc123");
            const other = await request(`http://127.0.0.1:${PORTS.http}/index.php`, { headers: { host: "portal.test" } });
            assert.equal(other.status, 301);
        });

        it("swaps a published certificate into the running HAProxy under steady HTTPS load without a failed request", async () => {
            assert.equal(servedCn(), "first");
            const load = startTlsLoad({ host: "127.0.0.1", port: PORTS.https, servername: "portal.test" }, 4);
            // Counts, not seconds: a loaded CI machine once fitted only 192 requests into the 4 s this waited before.
            await waitFor("100 requests before the swap", () => load.count() >= 100, 30000, 50);
            const t0 = Date.now();
            publish(pem("second", 90));
            await waitFor("the second certificate served", () => servedCn() === "second", 15000, 200);
            const swapS = (Date.now() - t0) / 1000;
            const served = load.count();
            await waitFor("100 more requests after the swap", () => load.count() >= served + 100, 30000, 50);
            const result = await load.stop();
            console.log(
                `# cert swap under load: ${result.requests} requests, ${result.failures.length} failed, served ${result.certificates.map((c) => `${c.subject}×${c.count}`).join(" then ")}; ` +
                    `${result.reusedAcrossSwap} requests on connections opened before the swap; published→served in ${swapS.toFixed(1)} s`,
            );
            assert.deepEqual(result.failures, []);
            assert.deepEqual(
                result.certificates.map((c) => c.subject),
                ["first", "second"],
            );
            assert.ok(result.reusedAcrossSwap > 0, "a kept-alive connection was used across the swap");
            // On disk too (the next start reads it), root's only.
            assert.equal(fs.readFileSync(input.certPath, "utf8"), fs.readFileSync(published, "utf8"));
            assert.equal(fs.statSync(input.certPath).mode & 0o077, 0);
            assert.match(daemons.log("cert-watch"), /new certificate in use: subject=CN ?= ?second/);
            assert.doesNotMatch(daemons.log("cert-watch"), /PRIVATE KEY/);
        });

        it("keeps the current certificate when the published one is not a certificate with its own key", async () => {
            pem("stranger", 90);
            publish(pem("mismatched", 90, "stranger"));
            await waitFor("the refusal in the log", () => /not a certificate with its key/.test(daemons.log("cert-watch")), 10000, 200);
            assert.equal(servedCn(), "second");
            publish("garbage\n");
            await new Promise((r) => setTimeout(r, 2500));
            assert.equal(servedCn(), "second");
        });

        it("raises TlsCertificateExpiresSoon from the blackbox exporter's probe of a certificate 2 days from expiry, and drops it for one of 60 days", async () => {
            publish(pem("near-expiry", 2));
            await waitFor("the near-expiry certificate served", () => servedCn() === "near-expiry", 15000, 200);
            write(path.join(dir, "blackbox.yml"), blackboxConfig("portal.test"));
            // The generated rules, and the same expression without its `for:` (the wait itself is promtool's case).
            const rule = ALERTS.find((a) => a.name === "TlsCertificateExpiresSoon")!;
            write(path.join(dir, "rules.yml"), alertRulesYaml([rule, { ...rule, name: "TlsCertificateExpiresSoonNow", for: "0s" }]));
            write(
                path.join(dir, "prometheus.yml"),
                prometheusConfig({
                    interval: "1s",
                    ruleFile: path.join(dir, "rules.yml"),
                    alertmanager: "127.0.0.1:1",
                    self: `127.0.0.1:${PORTS.prometheus}`,
                    node: [],
                    mysqld: [],
                    redisExporter: "",
                    redis: [],
                    sentinel: [],
                    haproxy: [],
                    phpfpm: [],
                    phpfpmPath: "/",
                    webHealth: [],
                    nfs: [],
                    blackbox: `127.0.0.1:${PORTS.blackbox}`,
                    tlsCert: [{ address: `127.0.0.1:${PORTS.https}`, instance: "balancer-1" }],
                }),
            );
            daemons.start("blackbox", requireBinary("prometheus-blackbox-exporter"), [
                `--config.file=${path.join(dir, "blackbox.yml")}`,
                `--web.listen-address=127.0.0.1:${PORTS.blackbox}`,
            ]);
            daemons.start("prometheus", requireBinary("prometheus"), [
                `--config.file=${path.join(dir, "prometheus.yml")}`,
                `--storage.tsdb.path=${path.join(dir, "tsdb")}`,
                `--web.listen-address=127.0.0.1:${PORTS.prometheus}`,
            ]);
            type Alert = { labels: Record<string, string>; state: string };
            const alerts = async (): Promise<Alert[]> =>
                JSON.parse((await request(`http://127.0.0.1:${PORTS.prometheus}/api/v1/alerts`)).body).data.alerts;
            const state = async (name: string) => (await alerts()).find((a) => a.labels.alertname === name)?.state;
            const left = await waitFor(
                "the probe's expiry in Prometheus",
                async () => {
                    const r = JSON.parse(
                        (
                            await request(
                                `http://127.0.0.1:${PORTS.prometheus}/api/v1/query?query=${encodeURIComponent('probe_ssl_earliest_cert_expiry{job="blackbox-tls"} - time()')}`,
                            )
                        ).body,
                    );
                    return r.data.result[0]?.value?.[1] as string | undefined;
                },
                60000,
                500,
            );
            console.log(`# blackbox: probe_ssl_earliest_cert_expiry - time() = ${(Number(left) / 86400).toFixed(2)} days`);
            assert.ok(Number(left) > 86400 && Number(left) < 2 * 86400 + 60);
            assert.equal(
                await waitFor("TlsCertificateExpiresSoon pending", () => state("TlsCertificateExpiresSoon"), 30000, 500),
                "pending",
            );
            assert.equal(
                await waitFor(
                    "TlsCertificateExpiresSoonNow firing",
                    async () => (await state("TlsCertificateExpiresSoonNow")) === "firing" && "firing",
                    30000,
                    500,
                ),
                "firing",
            );
            const firing = (await alerts()).find((a) => a.labels.alertname === "TlsCertificateExpiresSoonNow")!;
            assert.equal(firing.labels.instance, "balancer-1");
            assert.equal(firing.labels.severity, "warning");
            publish(pem("renewed", 60));
            await waitFor("the alerts gone after the renewal", async () => (await alerts()).length === 0, 30000, 500);
        });
    },
);
