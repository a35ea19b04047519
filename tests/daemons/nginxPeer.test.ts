/**
 * The benchmark's balancer peer row (tools/bench/peers.ts) with Debian's nginx and HAProxy on loopback, in front of
 * one stand-in node. The row compares like with like only if a client gets the same TLS from both sides: the peer
 * config once lacked Debian's `ssl_protocols` line, so nginx 1.22 served TLS 1.2 while our balancer served TLS 1.3,
 * and a resumed TLS 1.2 session skips the key exchange a resumed TLS 1.3 one still does. Here the same Node.js client
 * (offering TLS 1.2 and 1.3) must get TLS 1.3 from both and resume its session on both, and the peer must proxy to the
 * node and log the request as configured.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import * as tls from "node:tls";
import { after, before, describe, it } from "node:test";
import { balancerConfig } from "../../components/balancer/haproxyConfig";
import { nginxPeerConfig } from "../../tools/bench/nginxPeer";
import { loopbackBalancerInput } from "../helpers/balancerInput";
import { selfSignedCert } from "../helpers/certs";
import { Daemons, portOpen, requireBinary, tmpDir, waitFor, write } from "../helpers/daemons";
import { request } from "../helpers/http";

// Below the kernel's ephemeral range (32768-60999), like every fixed port of the daemon tests.
const PORTS = { http: 29080, https: 29443, status: 29404, nginx: 29444, web: 29081 };
const DEBIAN_NGINX_CONF = "/etc/nginx/nginx.conf";

interface Handshake {
    protocol: string | null;
    reused: boolean;
    session?: Buffer;
}

/** One HTTPS request on a new TLS connection (resuming `session` if given); the session ticket it was sent back. */
function handshake(port: number, session?: Buffer): Promise<Handshake> {
    return new Promise((resolve, reject) => {
        const socket = tls.connect({ host: "127.0.0.1", port, servername: "portal.test", rejectUnauthorized: false, session });
        let ticket: Buffer | undefined;
        let result: Handshake | undefined;
        socket.setTimeout(5000, () => socket.destroy(new Error(`no answer on port ${port} within 5 s`)));
        socket.on("session", (s: Buffer) => (ticket = s));
        socket.once("secureConnect", () => {
            result = { protocol: socket.getProtocol(), reused: socket.isSessionReused() };
            socket.write("GET /probe/x HTTP/1.1\r\nHost: portal.test\r\nConnection: close\r\n\r\n");
        });
        socket.on("data", () => undefined);
        socket.on("error", reject);
        socket.on("close", () => (result ? resolve({ ...result, session: ticket }) : reject(new Error(`no handshake on port ${port}`))));
    });
}

describe("bench peer: Debian's nginx with the seeds' config beside our HAProxy, same TLS for the same client", { timeout: 60_000 }, () => {
    const daemons = new Daemons();
    const dir = tmpDir("nginx-peer");
    const accessLog = path.join(dir, "access.log");
    const confPath = path.join(dir, "nginx-peer.conf");
    let web: http.Server;

    before(async () => {
        const cert = selfSignedCert(dir, "site", { days: 3, cn: "portal.test", subjectAltName: "DNS:portal.test" });
        const pem = write(path.join(dir, "site.pem"), cert.cert + fs.readFileSync(cert.keyPath, "utf8"), 0o600);
        web = http.createServer((_req, res) => res.writeHead(200).end("node web-1\n")).listen(PORTS.web, "127.0.0.1");
        const upstreams = [{ name: "web-1", host: "127.0.0.1", port: PORTS.web, weight: 1 }];
        write(confPath, nginxPeerConfig({ upstreams, listen: PORTS.nginx, pemPath: pem, accessLog, pidPath: path.join(dir, "nginx.pid") }));
        const input = loopbackBalancerInput(dir, PORTS, upstreams, { adminAllowlist: ["127.0.0.0/8"], certPath: pem });
        write(path.join(dir, "haproxy.cfg"), balancerConfig(input));
        daemons.start("nginx", requireBinary("nginx"), ["-c", confPath, "-g", "daemon off;"]);
        daemons.start("haproxy", requireBinary("haproxy"), ["-db", "-f", path.join(dir, "haproxy.cfg")]);
        await waitFor("nginx and HAProxy listening", async () => (await portOpen(PORTS.nginx)) && (await portOpen(PORTS.https)));
    });

    after(async () => {
        await daemons.stopAll();
        web?.close();
    });

    it("has the TLS lines of Debian's installed nginx.conf", () => {
        const installed = fs.readFileSync(DEBIAN_NGINX_CONF, "utf8");
        const conf = fs.readFileSync(confPath, "utf8");
        for (const directive of ["ssl_protocols", "ssl_prefer_server_ciphers"]) {
            const value = new RegExp(`^\\s*${directive} ([^;]+);`, "m").exec(installed)?.[1];
            assert.ok(value, `${DEBIAN_NGINX_CONF} has no ${directive}`);
            assert.ok(conf.includes(`    ${directive} ${value};\n`), `${directive} ${value} as in ${DEBIAN_NGINX_CONF}:\n${conf}`);
        }
    });

    for (const [side, port, daemon] of [
        ["the nginx peer", PORTS.nginx, "nginx"],
        ["our HAProxy", PORTS.https, "haproxy"],
    ] as const) {
        it(`${side} serves TLS 1.3 and resumes the client's session`, async () => {
            const first = await handshake(port);
            assert.equal(first.protocol, "TLSv1.3", `${side}: ${daemons.log(daemon)}`);
            assert.equal(first.reused, false);
            assert.ok(first.session, `${side} sent no session ticket`);
            const again = await handshake(port, first.session);
            assert.deepEqual([again.protocol, again.reused], ["TLSv1.3", true]);
        });
    }

    it("the peer proxies to the node and logs every request", async () => {
        const res = await request(`https://127.0.0.1:${PORTS.nginx}/probe/peer-log-check`);
        assert.deepEqual([res.status, res.body], [200, "node web-1\n"]);
        await waitFor("the request in the peer's access log", () =>
            fs.readFileSync(accessLog, "utf8").includes("GET /probe/peer-log-check "),
        );
    });
});
