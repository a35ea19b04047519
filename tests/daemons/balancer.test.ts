/**
 * The generated balancer config in Debian's HAProxy on loopback, in front of two small HTTP servers that stand
 * in for web nodes: active health checks, the status page, TLS, redirect, HSTS, allowlist, stickiness, retries.
 */
import { strict as assert } from "node:assert";
import * as http from "node:http";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { balancerConfig } from "../../components/balancer/haproxyConfig";
import { loopbackBalancerInput } from "../helpers/balancerInput";
import { Daemons, requireBinary, run, tmpDir, waitFor, write } from "../helpers/daemons";
import { request } from "../helpers/http";

const PORTS = { http: 31080, https: 31443, status: 31404, web1: 31081, web2: 31082 };

interface FakeNode {
    server: http.Server;
    healthy: boolean;
    answer503: boolean;
    requests: string[];
}

function fakeNode(name: string, port: number): Promise<FakeNode> {
    const node: FakeNode = { server: undefined as any, healthy: true, answer503: false, requests: [] };
    node.server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
            if (req.url === "/healthz.php") {
                res.writeHead(node.healthy ? 200 : 503).end(node.healthy ? "OK\n" : "FAIL db\n");
                return;
            }
            node.requests.push(`${req.method} ${req.url}`);
            if (node.answer503) {
                res.writeHead(503).end("busy");
                return;
            }
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ node: name, headers: req.headers, body }));
        });
    });
    return new Promise((resolve) => node.server.listen(port, "127.0.0.1", () => resolve(node)));
}

describe("balancer: generated haproxy.cfg in HAProxy", () => {
    const daemons = new Daemons();
    const dir = tmpDir("balancer");
    let web1: FakeNode;
    let web2: FakeNode;
    const input = loopbackBalancerInput(dir, PORTS, [
        { name: "web-1", host: "127.0.0.1", port: PORTS.web1, weight: 1 },
        { name: "web-2", host: "127.0.0.1", port: PORTS.web2, weight: 1 },
    ]);
    const cfgFile = path.join(dir, "haproxy.cfg");
    let haproxyPid = 0;
    const csv = async () => (await request(`http://127.0.0.1:${PORTS.status}/;csv`)).body;
    const state = async (server: string) => {
        const line = (await csv()).split("\n").find((l) => l.startsWith(`web,${server},`));
        return line?.split(",")[17];
    };

    before(async () => {
        const haproxy = requireBinary("haproxy");
        run("openssl", [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=portal.test",
            "-keyout",
            path.join(dir, "key.pem"),
            "-out",
            path.join(dir, "cert.pem"),
        ]);
        run("sh", ["-c", `cat ${dir}/cert.pem ${dir}/key.pem > ${input.certPath}`]);
        write(cfgFile, balancerConfig(input));
        web1 = await fakeNode("web-1", PORTS.web1);
        web2 = await fakeNode("web-2", PORTS.web2);
        haproxyPid = daemons.start("haproxy", haproxy, ["-db", "-f", cfgFile]).pid!;
        await waitFor("the status page", async () => (await csv()).includes("web-1"));
    });

    after(async () => {
        await daemons.stopAll();
        web1?.server.close();
        web2?.server.close();
    });

    it("is accepted by `haproxy -c`", () => {
        assert.match(run("haproxy", ["-c", "-f", cfgFile]), /Configuration file is valid/);
    });

    it("serves as the haproxy user, locked in its chroot, after binding the ports and reading the certificate as root", () => {
        const status = fs.readFileSync(`/proc/${haproxyPid}/status`, "utf8");
        const uid = Number(run("id", ["-u", "haproxy"]).trim());
        assert.deepEqual(/^Uid:\s+(.*)$/m.exec(status)![1].split(/\s+/).map(Number), [uid, uid, uid, uid]);
        assert.equal(fs.readlinkSync(`/proc/${haproxyPid}/root`), "/var/lib/haproxy");
    });

    it("takes a node whose health URL answers 503 out, and shows it on the status page", async () => {
        web2.healthy = false;
        await waitFor("web-2 DOWN", async () => (await state("web-2")) === "DOWN", 10000);
        assert.equal(await state("web-1"), "UP");
        const page = await request(`http://127.0.0.1:${PORTS.status}/`);
        assert.equal(page.status, 200);
        assert.match(page.body, /web-1/);
        assert.match(page.body, /web-2/);
        for (let i = 0; i < 10; i++) {
            const r = await request(`https://127.0.0.1:${PORTS.https}/page`);
            assert.equal(JSON.parse(r.body).node, "web-1");
        }
    });

    it("brings the node back after it answers 200 again and spreads new clients over both", async () => {
        web2.healthy = true;
        await waitFor("web-2 UP", async () => (await state("web-2")) === "UP", 10000);
        const seen = new Set<string>();
        for (let i = 0; i < 20; i++) seen.add(JSON.parse((await request(`https://127.0.0.1:${PORTS.https}/spread`)).body).node);
        assert.deepEqual([...seen].sort(), ["web-1", "web-2"]);
    });

    it("terminates TLS and passes the client address, protocol and host; sends HSTS and the affinity cookie", async () => {
        const r = await request(`https://127.0.0.1:${PORTS.https}/hello`, { headers: { Host: "portal.test" } });
        assert.equal(r.status, 200);
        const seen = JSON.parse(r.body).headers;
        assert.equal(seen["x-real-ip"], "127.0.0.1");
        assert.equal(seen["x-forwarded-for"], "127.0.0.1");
        assert.equal(seen["x-forwarded-proto"], "https");
        assert.equal(seen.host, "portal.test");
        assert.equal(r.headers["strict-transport-security"], "max-age=31536000; includeSubDomains");
        assert.match(String(r.headers["set-cookie"]), /BXSRV=web-[12]; .*HttpOnly/i);
    });

    it("replaces the client's own X-Forwarded-For, X-Real-IP and Forwarded with the address it saw", async () => {
        const r = await request(`https://127.0.0.1:${PORTS.https}/spoof`, {
            headers: { Host: "portal.test", "X-Forwarded-For": "10.1.2.3, 127.0.0.1", "X-Real-IP": "10.1.2.3", Forwarded: "for=10.1.2.3" },
        });
        const seen = JSON.parse(r.body).headers;
        assert.equal(seen["x-forwarded-for"], "127.0.0.1");
        assert.equal(seen["x-real-ip"], "127.0.0.1");
        assert.equal(seen.forwarded, undefined);
    });

    it("keeps a client with the affinity cookie on its node", async () => {
        for (let i = 0; i < 10; i++) {
            const r = await request(`https://127.0.0.1:${PORTS.https}/sticky`, { headers: { Cookie: "BXSRV=web-2" } });
            assert.equal(JSON.parse(r.body).node, "web-2");
        }
    });

    it("redirects HTTP to HTTPS on the published port", async () => {
        const r = await request(`http://127.0.0.1:${PORTS.http}/crm/?id=5`, { headers: { Host: "portal.test:31080" } });
        assert.equal(r.status, 301);
        assert.equal(r.headers.location, `https://portal.test:${PORTS.https}/crm/?id=5`);
        // Through the floating address (no published port in Host) the redirect keeps the host and goes to 443.
        const floating = await request(`http://127.0.0.1:${PORTS.http}/crm/?id=5`, { headers: { Host: "10.0.0.50" } });
        assert.equal(floating.status, 301);
        assert.equal(floating.headers.location, "https://10.0.0.50/crm/?id=5");
    });

    it("refuses /bitrix/admin, the health URL and the probe app to clients outside the allowlist", async () => {
        const status = async (p: string) => (await request(`https://127.0.0.1:${PORTS.https}${p}`)).status;
        for (const p of [
            "/bitrix/admin/index.php",
            "/BITRIX/ADMIN/",
            "/bitrix/%61dmin/",
            "/bitrix%2Fadmin/",
            "/healthz.php",
            "/HEALTHZ.php",
            "/probe/?action=db",
        ]) {
            assert.equal(await status(p), 403, p);
        }
    });

    it("refuses paths a web server would rewrite, so none can slip past the allowlist", async () => {
        const status = async (p: string) => (await request(`https://127.0.0.1:${PORTS.https}/`, { rawPath: p })).status;
        for (const p of [
            "//bitrix/admin/",
            "/bitrix//admin/",
            "/./bitrix/admin/",
            "/x/../bitrix/admin/",
            "/x/%2e%2e/bitrix/admin/",
            "//healthz.php",
            "/probe/./",
        ]) {
            assert.equal(await status(p), 400, p);
        }
        for (const p of ["/bitrix/tools/x.php", "/js/app.js", "/a/b", "/.well-known/x", "/bitrix/administration-guide"]) {
            assert.equal(await status(p), p === "/bitrix/administration-guide" ? 403 : 200, p);
        }
    });

    it("replays a GET that got a 503 on the other node, but never a POST", async () => {
        web1.answer503 = true;
        web1.requests = [];
        web2.requests = [];
        const get = await request(`https://127.0.0.1:${PORTS.https}/retry-get`, { headers: { Cookie: "BXSRV=web-1" } });
        assert.equal(get.status, 200);
        assert.equal(JSON.parse(get.body).node, "web-2");
        const post = await request(`https://127.0.0.1:${PORTS.https}/retry-post`, {
            method: "POST",
            body: "x=1",
            headers: { Cookie: "BXSRV=web-1", "content-type": "application/x-www-form-urlencoded" },
        });
        assert.equal(post.status, 503);
        assert.deepEqual(
            web1.requests.filter((r) => r.startsWith("POST")),
            ["POST /retry-post"],
        );
        assert.deepEqual(
            web2.requests.filter((r) => r.startsWith("POST")),
            [],
        );
        web1.answer503 = false;
    });

    it("sends requests for a node that refuses connections to the other node, POST included, with no error", async () => {
        await new Promise<void>((resolve) => web1.server.close(() => resolve()));
        const failed: string[] = [];
        for (let i = 0; i < 20; i++) {
            const method = i % 2 ? "POST" : "GET";
            const r = await request(`https://127.0.0.1:${PORTS.https}/after-kill-${i}`, {
                method,
                body: method === "POST" ? "a=1" : undefined,
                headers: { Cookie: "BXSRV=web-1" },
            });
            if (r.status !== 200 || JSON.parse(r.body).node !== "web-2") failed.push(`${method} ${i}: ${r.status} ${r.body.slice(0, 80)}`);
        }
        assert.deepEqual(
            failed,
            [],
            `haproxy log:\n${daemons
                .log("haproxy")
                .split("\n")
                .filter((l) => /after-kill/.test(l))
                .join("\n")}`,
        );
        await waitFor("web-1 DOWN", async () => (await state("web-1")) === "DOWN", 10000);
    });
});
