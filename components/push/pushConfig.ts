/**
 * Generated text of the Push & Pull layer (docs/push.md): the push server's two config files (subscriber and
 * publisher listener, as bitrix-env's push-server-multi writes them), its Redis's config, the web nodes' local
 * publish route, and the `pull` module settings an operator enters once.
 */
/** Listener ports inside a push service: bitrix-env's first sub (BASE_SUB 801 → 8010) and pub (BASE_PUB 901 → 9010). */
export const PUSH_PORTS = { sub: 8010, pub: 9010 };
/** Paths of the pull module and the push server. The sub listener serves long polling and websockets on `subws`. */
export const PUSH_PATHS = { sub: "/bitrix/sub/", subws: "/bitrix/subws/", pub: "/bitrix/pub/", stat: "/server-stat/" };
/** The web nodes' local publish route: the pull module's default `path_to_publish` address (127.0.0.1:8895). */
export const PUSH_LOCAL_PUB = { address: "127.0.0.1", port: 8895 };
/** Where the push service reads its two config files (bitrix-env's /etc/push-server and file names). */
export const PUSH_CONFIG_DIR = "/etc/push-server";
export const pushConfigPath = (role: "sub" | "pub") => `${PUSH_CONFIG_DIR}/push-server-${role}-${PUSH_PORTS[role]}.json`;
/** The push Redis's port: not 6379, so that on hosts it can share a machine with the cluster's Redis or a web node. */
export const PUSH_REDIS_PORT = 6380;

/** Storage lifetimes, in seconds (the push server's RedisStorage and ClusterAdapter defaults). */
export interface PushTtls {
    /** A stored message (`message:<id>`, SETEX). @default 86400 */
    messageS: number;
    /** A channel's message index (`channel:<id>:messages`, EXPIRE). @default 86400 */
    channelS: number;
    /** A subscriber's presence (`online:<channel>`, SETEX onlineTTL + onlineDelta). @default 120 */
    onlineS: number;
    /** Slack added to onlineS. @default 10 */
    onlineDeltaS: number;
}

export const DEFAULT_PUSH_TTLS: PushTtls = { messageS: 86400, channelS: 86400, onlineS: 120, onlineDeltaS: 10 };

export interface PushServerConfigInput {
    role: "sub" | "pub";
    /** The service name ("push-1"): part of processUniqueId, which keys the server's stats in Redis. */
    service: string;
    /** Signature key (security.key): subscribers' channel ids carry HMAC-SHA1(channel id, key). */
    key: string;
    redis: { host: string; port: number };
    /** @default DEFAULT_PUSH_TTLS */
    ttls?: PushTtls;
}

/**
 * One listener's config, in the shape of bitrix-env's push-server-{sub,pub}-__PORT__.json templates. The TTL keys
 * are spelled as the server's code reads them (`messageTTL`); the templates' `messageTLL` spelling is ignored by it
 * (docs/push.md). Redis is reached by host and port (the templates use a unix socket on the same machine).
 */
export function pushServerConfig(input: PushServerConfigInput): string {
    if (!/^[A-Za-z0-9]+$/.test(input.key)) throw new Error("pushServerConfig: the signature key must be letters and digits only");
    const t = input.ttls ?? DEFAULT_PUSH_TTLS;
    const routes = input.role === "sub" ? { sub: PUSH_PATHS.subws } : { pub: PUSH_PATHS.pub, stat: PUSH_PATHS.stat };
    const config = {
        servers: [
            { name: `${input.role}-${PUSH_PORTS[input.role]}`, port: PUSH_PORTS[input.role], hostname: "0.0.0.0", backlog: 1024, routes },
        ],
        ...(input.role === "pub" ? { publishMode: true } : {}),
        processUniqueId: `${input.service}-${input.role}-${PUSH_PORTS[input.role]}`,
        clusterMode: true,
        storage: {
            type: "redis",
            host: input.redis.host,
            port: input.redis.port,
            messageTTL: t.messageS,
            channelTTL: t.channelS,
            onlineTTL: t.onlineS,
            onlineDelta: t.onlineDeltaS,
        },
        security: { key: input.key },
    };
    return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * redis.conf of the push Redis: messages are ephemeral (a day at most), so no persistence; bounded memory, oldest
 * keys with a TTL evicted first. No password: the push server's Redis client sends none (docs/push.md); only the
 * push and web services reach it.
 */
export function pushRedisConfig(input: { maxMemoryMb: number }): string {
    return [
        `port ${PUSH_REDIS_PORT}`,
        "bind 0.0.0.0",
        "protected-mode no",
        'save ""',
        "appendonly no",
        `maxmemory ${input.maxMemoryMb}mb`,
        "maxmemory-policy volatile-ttl",
        "# Commands the push server never sends, off so a client on the network cannot reconfigure or wipe it.",
        'rename-command CONFIG ""',
        'rename-command FLUSHALL ""',
        'rename-command FLUSHDB ""',
        'rename-command DEBUG ""',
        'rename-command SHUTDOWN ""',
        'rename-command REPLICAOF ""',
        'rename-command SLAVEOF ""',
        'rename-command MODULE ""',
        "",
    ].join("\n");
}

export interface PushPubRouteInput {
    /** The push services' publisher listeners. */
    servers: Array<{ name: string; host: string; port: number }>;
    /** Resolver for run-time re-resolution (Docker). */
    resolverOptions: string;
}

/**
 * A section for the web node's local HAProxy: 127.0.0.1:8895 → the first healthy push service's publisher. PHP
 * publishes to the local address only, so the publisher is never exposed beyond the cluster's own hosts, and a dead
 * push service is skipped within about two seconds (checks every second, two failures).
 */
export function pushPubSection(input: PushPubRouteInput): string {
    if (input.servers.length === 0) throw new Error("pushPubSection: at least one push server is required");
    return [
        "listen push_pub",
        `    bind ${PUSH_LOCAL_PUB.address}:${PUSH_LOCAL_PUB.port}`,
        "    mode http",
        "    option httplog",
        "    timeout client 10s",
        "    timeout server 10s",
        "    balance first",
        "    option httpchk",
        `    http-check send meth GET uri ${PUSH_PATHS.stat} ver HTTP/1.1 hdr Host push`,
        "    http-check expect status 200",
        "    # Only the publisher's own paths: this route exists for PHP's publish calls, nothing else.",
        `    http-request deny deny_status 403 unless { path_beg ${PUSH_PATHS.pub} } || { path_beg ${PUSH_PATHS.stat} }`,
        "    retries 2",
        "    option redispatch 1",
        "    retry-on conn-failure empty-response",
        "    default-server check inter 1s fastinter 500ms fall 2 rise 2",
        ...input.servers.map((s) => `    server ${s.name} ${s.host}:${s.port}${input.resolverOptions}`),
        "",
    ].join("\n");
}

export interface PullSettingsInput {
    /** Where PHP publishes: the web node's local route. */
    publishUrl: string;
    key: string;
}

/**
 * The `pull` module's options for a push server with websockets, as bitrix-env writes them into .settings.php
 * (between "BEGIN GENERATED PUSH SETTINGS" markers) and as the module's settings page shows them; names from
 * modules/pull/default_option.php. #DOMAIN# is the module's own placeholder for the portal's host.
 */
export function pullModuleSettings(input: PullSettingsInput): Record<string, string> {
    return {
        path_to_listener: `http://#DOMAIN#${PUSH_PATHS.sub}`,
        path_to_listener_secure: `https://#DOMAIN#${PUSH_PATHS.sub}`,
        path_to_modern_listener: `http://#DOMAIN#${PUSH_PATHS.sub}`,
        path_to_modern_listener_secure: `https://#DOMAIN#${PUSH_PATHS.sub}`,
        path_to_mobile_listener: `http://#DOMAIN#${PUSH_PATHS.sub}`,
        path_to_mobile_listener_secure: `https://#DOMAIN#${PUSH_PATHS.sub}`,
        path_to_websocket: `ws://#DOMAIN#${PUSH_PATHS.subws}`,
        path_to_websocket_secure: `wss://#DOMAIN#${PUSH_PATHS.subws}`,
        path_to_publish: input.publishUrl,
        nginx_version: "4",
        nginx_command_per_hit: "100",
        nginx: "Y",
        nginx_headers: "N",
        push: "Y",
        websocket: "Y",
        signature_key: input.key,
        signature_algo: "sha1",
        guest: "N",
    };
}

/** The same settings as the `pull` block of bitrix/.settings.php (PHP), for operators who keep them there. */
export function pullSettingsPhp(settings: Record<string, string>): string {
    const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/'/g, "\\'");
    return [
        "'pull' => array(",
        "    'value' => array(",
        ...Object.entries(settings).map(([k, v]) => `        '${esc(k)}' => '${esc(v)}',`),
        "    ),",
        "),",
        "",
    ].join("\n");
}
