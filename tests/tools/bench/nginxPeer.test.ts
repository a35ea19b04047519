import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { nginxPeerConfig } from "../../../tools/bench/nginxPeer";

describe("nginx peer config (the seeds' balancer)", () => {
    const conf = nginxPeerConfig({
        upstreams: [
            { host: "bx-bench-web-1", port: 80 },
            { host: "bx-bench-web-2", port: 80 },
        ],
        listen: 443,
        pemPath: "/etc/nginx/site.pem",
    });
    const upstream = /upstream bitrix_nodes \{\n([\s\S]*?)\n {4}\}/.exec(conf)?.[1] ?? "";

    it("balances the web nodes least_conn with the seeds' max_fails, fail_timeout and keepalive", () => {
        assert.match(upstream, /^ {8}least_conn;$/m);
        assert.match(upstream, /^ {8}server bx-bench-web-1:80 max_fails=3 fail_timeout=15s;$/m);
        assert.match(upstream, /^ {8}server bx-bench-web-2:80 max_fails=3 fail_timeout=15s;$/m);
        assert.match(upstream, /^ {8}keepalive 32;$/m);
    });

    it("keeps upstream connections open: HTTP/1.1 and an empty Connection header", () => {
        assert.match(conf, /^ +proxy_pass http:\/\/bitrix_nodes;$/m);
        assert.match(conf, /^ +proxy_http_version 1\.1;$/m);
        assert.match(conf, /^ +proxy_set_header Connection "";$/m);
        assert.match(conf, /^ +proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;$/m);
    });

    it("terminates TLS with the one PEM (certificate and key) and logs every request to Debian's access log", () => {
        assert.match(conf, /^ +listen 443 ssl;$/m);
        assert.match(conf, /^ +ssl_certificate \/etc\/nginx\/site\.pem;$/m);
        assert.match(conf, /^ +ssl_certificate_key \/etc\/nginx\/site\.pem;$/m);
        assert.match(conf, /^ +access_log \/var\/log\/nginx\/access\.log;$/m);
        assert.doesNotMatch(conf, /access_log off/);
    });

    it("offers TLS 1.3 with the TLS lines of Debian's nginx.conf (nginx 1.22's built-in default stops at 1.2)", () => {
        assert.match(conf, /^ {4}ssl_protocols TLSv1 TLSv1\.1 TLSv1\.2 TLSv1\.3;$/m);
        assert.match(conf, /^ {4}ssl_prefer_server_ciphers on;$/m);
    });

    it("refuses values that would not be one token in the config", () => {
        const ok = { upstreams: [{ host: "web-1", port: 80 }], listen: 443, pemPath: "/etc/nginx/site.pem" };
        assert.throws(() => nginxPeerConfig({ ...ok, upstreams: [] }), /at least one upstream/);
        assert.throws(() => nginxPeerConfig({ ...ok, upstreams: [{ host: "web-1; evil", port: 80 }] }), /not a host name/);
        assert.throws(() => nginxPeerConfig({ ...ok, upstreams: [{ host: "web-1", port: 0 }] }), /not a TCP port/);
        assert.throws(() => nginxPeerConfig({ ...ok, pemPath: "/etc/a b.pem" }), /absolute path/);
        assert.throws(() => nginxPeerConfig({ ...ok, pidPath: "run/x.pid" }), /absolute path/);
        assert.throws(() => nginxPeerConfig({ ...ok, keepalive: 0 }), /keepalive must be a positive integer/);
    });
});
