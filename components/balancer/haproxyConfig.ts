/**
 * haproxy.cfg of the balancer. HAProxy (Debian's 2.6) is used instead of nginx because open-source nginx has
 * only passive checks: HAProxy probes one health URL on every node every 2–3 s (`option httpchk`), shows each
 * peer's state on a status page, and keeps the nginx semantics users know (max_fails, fail_timeout, least_conn,
 * ip_hash, weights, keepalive to upstreams).
 */
import { BalancerAlgorithm, BalancerSettings } from "../config/types";
import { PUSH_PATHS } from "../push/pushConfig";
import { haproxyPreamble, resolverServerOptions } from "../shared/haproxy";
import { CHALLENGE_PATH } from "./acme";

export interface BalancerUpstream {
    /** Server name shown on the status page and used as the sticky-cookie value. */
    name: string;
    host: string;
    port: number;
    weight: number;
}

/** The balancer's settings from stack config (see BalancerSettings), plus where it runs and what it fronts. */
export type BalancerConfigInput = Omit<
    BalancerSettings,
    "count" | "vrrp" | "weights" | "tlsCertificate" | "tlsKey" | "tlsMode" | "acme"
> & {
    upstreams: BalancerUpstream[];
    healthPath: string;
    /** PEM bundle (certificate + key) inside the balancer. */
    certPath: string;
    /** Ports the balancer listens on inside its container/host. */
    listen: { http: number; https: number; status: number };
    /** HTTPS port clients see (for the redirect); 443 gives a plain scheme redirect. */
    publicHttpsPort: number;
    /**
     * Published HTTP port (Docker). A request whose Host names this port came through the published door and is sent
     * to `publicHttpsPort`; any other (the floating address, a host's own port 80) keeps its host and goes to 443.
     * @default the redirect always goes to `publicHttpsPort`
     */
    publicHttpPort?: number;
    /** DNS resolver for run-time re-resolution of upstream names. */
    resolver?: string;
    /** Sources that may read `/metrics` on the status port besides the allowlist (the monitoring service). @default [] */
    metricsSources?: string[];
    /** Admin socket (drains, drills). @default "/run/haproxy/admin.sock" */
    adminSocket?: string;
    /**
     * The push servers' subscriber listeners (Push & Pull, docs/push.md): `/bitrix/sub/` and `/bitrix/subws/` go to
     * them; `/bitrix/pub/` is refused at the front door either way. @default none: no push routes
     */
    push?: PushRoute;
    /**
     * The ACME service's challenge server (tlsMode "acme"): plain-HTTP requests under /.well-known/acme-challenge/ go
     * there instead of being redirected, on every balancer. @default none
     */
    acmeChallenge?: { host: string; port: number };
};

/** Where the balancer sends subscribers. */
export interface PushRoute {
    servers: Array<{ name: string; host: string; port: number }>;
    /** Path the subscriber listener serves both long polling and websockets on. */
    listenerPath: string;
    /** Seconds an idle upgraded websocket is kept open (timeout tunnel). */
    tunnelTimeoutS: number;
}

const BALANCE: Record<BalancerAlgorithm, string> = {
    least_conn: "leastconn",
    round_robin: "roundrobin",
    ip_hash: "source",
};

/**
 * Seconds a web node that is being stopped keeps answering its health check with 503 before its processes stop:
 * long enough for every balancer to see `maxFails` failed checks (each up to `healthTimeoutMs`) and take it out,
 * plus a second of slack, rounded up.
 */
export function drainSeconds(s: Pick<BalancerSettings, "maxFails" | "healthIntervalMs" | "healthTimeoutMs">): number {
    return Math.ceil((s.maxFails * s.healthIntervalMs + s.healthTimeoutMs) / 1000) + 1;
}

/** Decoded paths a web server would normalise: empty segments (//) and dot segments (/./, /../). */
export const AMBIGUOUS_PATH = "(//|/\\.\\.?(/|$))";

/** The probe app's URL prefix (allowlist only). */
export const PROBE_PATH = "/probe/";

/** Methods whose failed requests may be replayed on another node (RFC 9110 idempotent methods). */
export const IDEMPOTENT_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"];

/** Check interval of a web node while it is DOWN (downinter). */
export const RECHECK_MS = 500;

export function balancerConfig(input: BalancerConfigInput): string {
    if (input.upstreams.length === 0) throw new Error("balancerConfig: at least one upstream is required");
    const allow = input.adminAllowlist.join(" ");
    const toPublished = `    http-request redirect location https://%[req.hdr(host),field(1,:)]:${input.publicHttpsPort}%[url] code 301`;
    // An ACME challenge is answered over plain HTTP (RFC 8555 §8.3), never redirected.
    const acme = input.acmeChallenge;
    const notAcme = acme ? " !acme_challenge" : "";
    const redirect =
        input.publicHttpsPort === 443
            ? [`    http-request redirect scheme https code 301${acme ? " if !acme_challenge" : ""}`]
            : input.publicHttpPort === undefined
              ? [`${toPublished}${acme ? " if !acme_challenge" : ""}`]
              : [
                    `${toPublished} if { req.hdr(host),field(2,:) -m str ${input.publicHttpPort} }${notAcme}`,
                    `    http-request redirect scheme https code 301${acme ? " if !acme_challenge" : ""}`,
                ];
    const acmeAcl = acme ? [`    acl acme_challenge path_beg ${CHALLENGE_PATH}`] : [];
    const acmeRoute = acme ? ["    use_backend acme if acme_challenge"] : [];
    const acmeBackend = acme
        ? [
              "backend acme",
              "    # lego's challenge server listens only while an order is being validated; 503 otherwise.",
              `    server acme ${acme.host}:${acme.port}${resolverServerOptions(input.resolver)}`,
              "",
          ]
        : [];
    const hsts =
        input.hstsMaxAgeS > 0
            ? [`    http-response set-header Strict-Transport-Security "max-age=${input.hstsMaxAgeS}; includeSubDomains"`]
            : [];
    const cookie = input.stickyCookie ? [`    cookie ${input.stickyCookie} insert indirect nocache httponly secure`] : [];
    // nginx max_fails=N fail_timeout=T: N failed checks take a node out; with checks every `inter`, removal
    // happens within N × inter ≤ T (validated). N connection errors in a row on live traffic (the node takes no
    // connection within healthTimeoutMs) take it out at once; the failed requests are sent to another node.
    // While a node is DOWN it is checked every RECHECK_MS (downinter), then once more 1 s later (fastinter, rise 2):
    // a failure every node shares (the Redis or database master being replaced) takes them all out, and they are back
    // within RECHECK_MS + 1 s of the dependency's return instead of 2 s + 1 s. A node that fails a check is still
    // judged on its next two checks 1 s apart, as before: checking it every 500 ms then too would take out a node
    // that stalls for about a second, and gave no better drill figures. `rise 1` was tried and not measured enough to
    // ship (docs/design.md, Balancer).
    const serverDefaults = [
        "check",
        `inter ${input.healthIntervalMs}ms`,
        "fastinter 1s",
        `downinter ${RECHECK_MS}ms`,
        `fall ${input.maxFails}`,
        "rise 2",
        `observe layer4 error-limit ${input.maxFails} on-error mark-down`,
        "maxconn 256",
    ].join(" ");
    const servers = input.upstreams.map(
        (u) =>
            `    server ${u.name} ${u.host}:${u.port} weight ${u.weight}` +
            (input.stickyCookie ? ` cookie ${u.name}` : "") +
            resolverServerOptions(input.resolver),
    );

    return [
        haproxyPreamble(4096, input.adminSocket ?? "/run/haproxy/admin.sock", input.resolver),
        "defaults",
        "    mode http",
        "    log global",
        "    option httplog",
        "    option dontlognull",
        "    option http-keep-alive",
        "    timeout connect 3s",
        "    timeout client 60s",
        "    timeout server 120s",
        "    timeout http-request 10s",
        "    timeout http-keep-alive 10s",
        "    timeout queue 30s",
        `    timeout check ${input.healthTimeoutMs}ms`,
        "",
        "frontend http",
        `    bind :${input.listen.http}`,
        ...acmeAcl,
        ...redirect,
        ...acmeRoute,
        "",
        ...acmeBackend,
        "frontend https",
        `    bind :${input.listen.https} ssl crt ${input.certPath} alpn h2,http/1.1`,
        "    # The client's address replaces whatever it sent in these headers (appending would let a client name any",
        "    # address it likes as the first hop, and a node trusting this balancer would believe it).",
        "    http-request del-header Forwarded",
        "    http-request set-header X-Forwarded-For %[src]",
        "    # Paths are judged as the web server will see them: percent-decoded and lower-cased. A path that a",
        "    # server would rewrite (empty or dot segments) is refused, so /bitrix//admin or /./bitrix/admin cannot",
        "    # slip past the allowlist.",
        "    http-request set-var(txn.npath) path,url_dec,lower",
        `    http-request deny deny_status 400 if { var(txn.npath) -m reg '${AMBIGUOUS_PATH}' }`,
        "    acl admin_path var(txn.npath) -m beg /bitrix/admin",
        `    acl internal_path var(txn.npath) -m str ${input.healthPath.toLowerCase()}`,
        `    acl internal_path var(txn.npath) -m beg ${PROBE_PATH}`,
        `    acl allowlisted src ${allow}`,
        "    # The admin allowlist is enforced here, at the front door, not on the nodes (seed 002); the health URL",
        "    # and the probe app answer the allowlist only.",
        "    http-request deny deny_status 403 if admin_path !allowlisted",
        "    http-request deny deny_status 403 if internal_path !allowlisted",
        "    # The push servers' publisher takes messages without a signature: it is for PHP on the web nodes only, which",
        "    # reach it through their local route, never through the balancer.",
        `    http-request deny deny_status 403 if { var(txn.npath) -m beg ${PUSH_PATHS.pub} }`,
        "    http-request set-header X-Real-IP %[src]",
        "    http-request set-header X-Forwarded-Proto https",
        "    http-request set-header X-Forwarded-Port %[dst_port]",
        ...hsts,
        ...(input.push
            ? [`    use_backend push if { var(txn.npath) -m beg ${PUSH_PATHS.sub} } || { var(txn.npath) -m beg ${PUSH_PATHS.subws} }`]
            : []),
        "    default_backend web",
        "",
        ...(input.push ? pushBackend(input.push, input.resolver) : []),
        "backend web",
        `    balance ${BALANCE[input.algorithm]}`,
        ...(input.algorithm === "ip_hash" ? ["    hash-type consistent"] : []),
        ...cookie,
        "    option httpchk",
        `    http-check send meth GET uri ${input.healthPath} ver HTTP/1.1 hdr Host ${input.serverName}`,
        "    http-check expect status 200",
        "    # Keepalive to the nodes, as the seeds' nginx upstream keepalive: a client's first request may go over an idle",
        "    # node connection that has already carried a request (not over a new one). The cost: a first request that meets",
        "    # the node closing that connection at the same moment fails; GET and the other idempotent methods are retried.",
        "    http-reuse aggressive",
        "    # A request that failed to reach a node goes to the next node; requests that reached a node are",
        "    # replayed only when idempotent (POST and PATCH never are).",
        "    retries 2",
        "    option redispatch 1",
        "    # A node that takes no connection within the health timeout is failing: a request gives up on it that fast",
        "    # (and goes to another node), and so does a check (its connect timeout is the smaller of this and inter).",
        "    # Only the kernel's SYN-ACK is awaited, so a node busy with PHP still connects in time.",
        `    timeout connect ${input.healthTimeoutMs}ms`,
        "    retry-on conn-failure empty-response response-timeout 502 503 504",
        `    http-request disable-l7-retry unless { method ${IDEMPOTENT_METHODS.join(" ")} }`,
        `    default-server ${serverDefaults}`,
        ...servers,
        "",
        "listen status",
        `    bind :${input.listen.status}`,
        `    acl allowlisted src ${allow}`,
        "    acl local src 127.0.0.0/8",
        ...(input.metricsSources?.length
            ? [
                  `    acl monitoring src ${input.metricsSources.join(" ")}`,
                  "    acl metrics path /metrics",
                  "    http-request deny deny_status 403 if !allowlisted !local !monitoring",
                  "    http-request deny deny_status 403 if !allowlisted !local !metrics",
              ]
            : ["    http-request deny deny_status 403 if !allowlisted !local"]),
        "    http-request use-service prometheus-exporter if { path /metrics }",
        "    stats enable",
        "    stats uri /",
        "    stats refresh 5s",
        "    stats show-legends",
        "    stats show-node",
        "",
    ].join("\n");
}

/**
 * Subscribers' backend: the push servers' sub listener, which serves long polling and websockets on one path (the
 * pull module's /bitrix/sub/ is rewritten to it, as bitrix-env's proxy does). Long-lived connections are spread by
 * count (leastconn); a push server marked down has its connections cut at once (shutdown-sessions), so clients
 * reconnect through the balancer to a live one instead of waiting on a dead socket.
 */
function pushBackend(push: PushRoute, resolver: string | undefined): string[] {
    if (push.servers.length === 0) throw new Error("balancerConfig: push needs at least one server");
    return [
        "backend push",
        "    balance leastconn",
        `    http-request replace-path ^${PUSH_PATHS.sub}(.*) ${push.listenerPath}\\1`,
        "    # An upgraded websocket stays open while idle up to this long; the push server pings every 120 s.",
        `    timeout tunnel ${push.tunnelTimeoutS}s`,
        "    # Long polling: the push server answers within 40 s (a message, or 304).",
        "    timeout server 60s",
        "    # A subscriber without a channel id gets 400 from the push server itself: that answer is its liveness.",
        "    option httpchk",
        `    http-check send meth GET uri ${push.listenerPath} ver HTTP/1.1 hdr Host push`,
        "    http-check expect status 400",
        "    retries 2",
        "    option redispatch 1",
        "    retry-on conn-failure empty-response",
        "    default-server check inter 1s fastinter 500ms downinter 1s fall 2 rise 2 on-marked-down shutdown-sessions maxconn 10000",
        ...push.servers.map((s) => `    server ${s.name} ${s.host}:${s.port}${resolverServerOptions(resolver)}`),
        "",
    ];
}
