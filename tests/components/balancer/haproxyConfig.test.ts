import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { balancerConfig, BalancerConfigInput, drainSeconds, IDEMPOTENT_METHODS } from "../../../components/balancer/haproxyConfig";

const base: BalancerConfigInput = {
    upstreams: [
        { name: "web-1", host: "bx-web-1", port: 80, weight: 1 },
        { name: "web-2", host: "bx-web-2", port: 80, weight: 3 },
    ],
    algorithm: "least_conn",
    stickyCookie: "BXSRV",
    healthPath: "/healthz.php",
    healthIntervalMs: 2000,
    healthTimeoutMs: 500,
    maxFails: 3,
    failTimeoutS: 15,
    adminAllowlist: ["10.0.0.0/8", "192.168.1.0/24"],
    serverName: "portal.example.com",
    hstsMaxAgeS: 31536000,
    certPath: "/etc/haproxy/certs/site.pem",
    listen: { http: 80, https: 443, status: 8404 },
    publicHttpsPort: 8443,
    resolver: "127.0.0.11:53",
};

const section = (cfg: string, header: string) => {
    const start = cfg.indexOf(`\n${header}\n`);
    assert.ok(start >= 0, `section ${header} missing`);
    const rest = cfg.slice(start + header.length + 2);
    const end = rest.search(/\n\S/);
    return end < 0 ? rest : rest.slice(0, end);
};

describe("balancerConfig", () => {
    const cfg = balancerConfig(base);

    it("drops root once its ports and certificate are open: the haproxy user, chrooted in the package's empty directory", () => {
        assert.match(cfg, /^global\n {4}user haproxy\n {4}group haproxy\n {4}chroot \/var\/lib\/haproxy\n/);
        assert.doesNotMatch(cfg, /external-check|insecure-fork-wanted/);
    });

    it("lists every web node once with its weight, cookie and the resolver", () => {
        const web = section(cfg, "backend web");
        assert.match(web, /server web-1 bx-web-1:80 weight 1 cookie web-1 resolvers cluster/);
        assert.match(web, /server web-2 bx-web-2:80 weight 3 cookie web-2 resolvers cluster/);
        assert.equal(web.match(/^\s+server /gm)?.length, 2);
        assert.match(cfg, /resolvers cluster\n\s+nameserver dns1 127\.0\.0\.11:53/);
    });

    it("checks the health URL actively every interval with the nginx max_fails semantics", () => {
        const web = section(cfg, "backend web");
        assert.match(web, /option httpchk/);
        assert.match(web, /http-check send meth GET uri \/healthz\.php ver HTTP\/1\.1 hdr Host portal\.example\.com/);
        assert.match(web, /http-check expect status 200/);
        assert.match(web, /default-server check inter 2000ms .*fall 3 rise 2 /);
        assert.match(cfg, /timeout check 500ms/);
    });

    it("checks a node every 500 ms while it is down and 1 s apart while it changes state, whatever the interval", () => {
        // A failure every node shares (the Redis master replaced) takes them all out: they must be back soon after it.
        for (const healthIntervalMs of [2000, 5000]) {
            const web = section(balancerConfig({ ...base, healthIntervalMs }), "backend web");
            assert.match(web, new RegExp(`default-server check inter ${healthIntervalMs}ms fastinter 1s downinter 500ms fall 3 rise 2 `));
        }
    });

    it("takes a node that accepts no connection out fast: checks and requests give up after the health timeout", () => {
        const web = section(cfg, "backend web");
        // A check's connect timeout is min(timeout connect, inter): the health timeout, not the whole interval.
        assert.match(web, /^\s+timeout connect 500ms$/m);
        assert.match(section(balancerConfig({ ...base, healthTimeoutMs: 300 }), "backend web"), /^\s+timeout connect 300ms$/m);
        // maxFails connection errors in a row on live traffic mark it down at once (the requests are redispatched).
        assert.match(web, /default-server .*observe layer4 error-limit 3 on-error mark-down/);
    });

    it("uses leastconn by default, roundrobin and consistent source hashing when asked", () => {
        assert.match(section(cfg, "backend web"), /balance leastconn/);
        assert.match(balancerConfig({ ...base, algorithm: "round_robin" }), /balance roundrobin/);
        const ipHash = balancerConfig({ ...base, algorithm: "ip_hash" });
        assert.match(ipHash, /balance source\n\s+hash-type consistent/);
    });

    it("inserts the affinity cookie only when configured", () => {
        assert.match(cfg, /cookie BXSRV insert indirect nocache httponly secure/);
        const noCookie = balancerConfig({ ...base, stickyCookie: "" });
        assert.doesNotMatch(noCookie, /cookie BXSRV/);
        assert.doesNotMatch(noCookie, / cookie web-1/);
    });

    it("retries failed requests on another node, replaying only idempotent methods", () => {
        const web = section(cfg, "backend web");
        assert.match(web, /option redispatch 1/);
        assert.match(web, /retry-on conn-failure empty-response response-timeout 502 503 504/);
        assert.match(web, new RegExp(`http-request disable-l7-retry unless \\{ method ${IDEMPOTENT_METHODS.join(" ")} \\}`));
        assert.ok(!IDEMPOTENT_METHODS.includes("POST") && !IDEMPOTENT_METHODS.includes("PATCH"));
        assert.match(web, /^ {4}http-reuse aggressive$/m);
    });

    it("terminates TLS, redirects HTTP to the published HTTPS port and sends HSTS", () => {
        assert.match(section(cfg, "frontend https"), /bind :443 ssl crt \/etc\/haproxy\/certs\/site\.pem alpn h2,http\/1\.1/);
        assert.match(section(cfg, "frontend http"), /redirect location https:\/\/%\[req\.hdr\(host\),field\(1,:\)\]:8443%\[url\] code 301/);
        assert.match(balancerConfig({ ...base, publicHttpsPort: 443 }), /http-request redirect scheme https code 301/);
        assert.match(cfg, /Strict-Transport-Security "max-age=31536000; includeSubDomains"/);
        assert.doesNotMatch(balancerConfig({ ...base, hstsMaxAgeS: 0 }), /Strict-Transport-Security/);
    });

    it("passes the client address and host to the nodes", () => {
        const https = section(cfg, "frontend https");
        // Set, never appended to: what a client sends in these headers does not reach a node.
        assert.doesNotMatch(https, /option forwardfor/);
        assert.match(https, /http-request set-header X-Forwarded-For %\[src\]/);
        assert.match(https, /http-request set-header X-Real-IP %\[src\]/);
        assert.match(https, /http-request del-header Forwarded/);
        assert.match(https, /X-Forwarded-Proto https/);
        assert.doesNotMatch(cfg, /set-header Host/, "Host is passed through unchanged");
        assert.doesNotMatch(cfg, /on-marked-down shutdown-sessions/, "a node marked down finishes its in-flight requests");
        assert.doesNotMatch(cfg, /slowstart/, "a node that just came back takes full load at once when the other fails");
    });

    it("enforces the admin allowlist at the balancer, before any node", () => {
        const https = section(cfg, "frontend https");
        assert.match(https, /http-request set-var\(txn\.npath\) path,url_dec,lower/);
        assert.match(https, /http-request deny deny_status 400 if \{ var\(txn\.npath\) -m reg '\(\/\/\|\/\\\.\\\.\?\(\/\|\$\)\)' \}/);
        assert.match(https, /acl admin_path var\(txn\.npath\) -m beg \/bitrix\/admin/);
        assert.match(https, /acl internal_path var\(txn\.npath\) -m beg \/probe\//);
        assert.ok(https.indexOf("set-var(txn.npath)") < https.indexOf("acl admin_path"));
        assert.match(https, /acl allowlisted src 10\.0\.0\.0\/8 192\.168\.1\.0\/24/);
        assert.match(https, /http-request deny deny_status 403 if admin_path !allowlisted/);
        assert.ok(https.indexOf("deny deny_status 403 if admin_path") < https.indexOf("default_backend web"));
    });

    it("serves a status page with every peer's state to the allowlist only", () => {
        const status = section(cfg, "listen status");
        assert.match(status, /bind :8404/);
        assert.match(status, /stats enable/);
        assert.match(status, /stats refresh 5s/);
        assert.match(status, /http-request deny deny_status 403 if !allowlisted !local/);
        assert.match(status, /prometheus-exporter/);
    });

    it("lets the monitoring service read /metrics on the status port, and nothing else there", () => {
        const status = section(balancerConfig({ ...base, metricsSources: ["172.28.0.0/24"] }), "listen status");
        assert.match(status, /acl monitoring src 172\.28\.0\.0\/24\n\s+acl metrics path \/metrics\n/);
        assert.match(
            status,
            /http-request deny deny_status 403 if !allowlisted !local !monitoring\n\s+http-request deny deny_status 403 if !allowlisted !local !metrics\n/,
        );
    });

    it("omits the resolver when the placement has none", () => {
        const noDns = balancerConfig({ ...base, resolver: undefined });
        assert.doesNotMatch(noDns, /resolvers/);
        assert.match(noDns, /server web-1 bx-web-1:80 weight 1 cookie web-1\n/);
    });

    it("refuses an empty upstream list", () => {
        assert.throws(() => balancerConfig({ ...base, upstreams: [] }), /at least one upstream/);
    });
});

describe("drainSeconds", () => {
    it("covers maxFails checks with their timeout, plus a second, rounded up", () => {
        assert.equal(drainSeconds({ maxFails: 3, healthIntervalMs: 2000, healthTimeoutMs: 500 }), 8); // 6.5 → 7, + 1
        assert.equal(drainSeconds({ maxFails: 2, healthIntervalMs: 3000, healthTimeoutMs: 1000 }), 8); // 7 exactly, + 1
        assert.equal(drainSeconds({ maxFails: 5, healthIntervalMs: 1000, healthTimeoutMs: 200 }), 7); // 5.2 → 6, + 1
    });
});

describe("balancerConfig: Push & Pull routes", () => {
    const push = {
        servers: [
            { name: "push-1", host: "bx-push-1", port: 8010 },
            { name: "push-2", host: "bx-push-2", port: 8010 },
        ],
        listenerPath: "/bitrix/subws/",
        tunnelTimeoutS: 3600,
    };
    const withPush = balancerConfig({ ...base, push });
    const without = balancerConfig(base);

    it("refuses the publisher path from outside with 403, with or without a push layer, on the normalised path", () => {
        for (const cfg of [withPush, without]) {
            const https = section(cfg, "frontend https");
            assert.match(https, /http-request deny deny_status 403 if \{ var\(txn\.npath\) -m beg \/bitrix\/pub\/ \}/);
            // Judged after decoding and lower-casing: /BITRIX/%70ub/ is the same path.
            assert.ok(https.indexOf("set-var(txn.npath) path,url_dec,lower") < https.indexOf("/bitrix/pub/"));
        }
    });

    it("sends long polling and websockets to the push backend, everything else to the web nodes", () => {
        const https = section(withPush, "frontend https");
        assert.match(
            https,
            /use_backend push if \{ var\(txn\.npath\) -m beg \/bitrix\/sub\/ \} \|\| \{ var\(txn\.npath\) -m beg \/bitrix\/subws\/ \}/,
        );
        assert.match(https, /default_backend web/);
        assert.doesNotMatch(section(without, "frontend https"), /use_backend push/);
        assert.doesNotMatch(without, /backend push/);
    });

    it("rewrites /bitrix/sub/ to the listener's path, keeps idle websockets for the tunnel timeout and cuts a dead server's connections", () => {
        const b = section(withPush, "backend push");
        assert.match(b, /http-request replace-path \^\/bitrix\/sub\/\(\.\*\) \/bitrix\/subws\/\\1/);
        assert.match(b, /^ {4}timeout tunnel 3600s$/m);
        assert.match(b, /^ {4}balance leastconn$/m);
        assert.match(b, /http-check send meth GET uri \/bitrix\/subws\/ ver HTTP\/1\.1 hdr Host push\n {4}http-check expect status 400/);
        assert.match(b, /default-server check inter 1s .*fall 2 rise 2 on-marked-down shutdown-sessions/);
        assert.match(b, /^ {4}server push-1 bx-push-1:8010 resolvers cluster/m);
        assert.match(b, /^ {4}server push-2 bx-push-2:8010 resolvers cluster/m);
    });

    it("needs a push server when push is given", () => {
        assert.throws(() => balancerConfig({ ...base, push: { ...push, servers: [] } }), /push needs at least one server/);
    });
});
