/**
 * A local HAProxy on every web node that always sends PHP to the current Redis master. PHP's Redis session
 * handler cannot follow Sentinel (phpredis issue 1862) and Bitrix opens a plain \Redis connection, so the node
 * asks each Redis "role:master?" every second and routes 127.0.0.1:6379 to the one that says yes. After a
 * Sentinel failover the old master answers role:slave, is marked down, and its sessions are cut.
 */
import { haproxyPreamble, resolverServerOptions } from "../shared/haproxy";

export interface RedisProxyInput {
    /** Redis nodes (master first, then replicas). */
    nodes: Array<{ name: string; host: string; port: number }>;
    password: string;
    /** Address and port PHP connects to. */
    listen: { address: string; port: number };
    resolver?: string;
    checkIntervalMs: number;
    /** Admin socket. @default "/run/haproxy/redis-proxy.sock" */
    adminSocket?: string;
    /**
     * More `global` lines and sections sharing this process (the web node's database writer route); `runsPrograms`
     * when they run an external check (no chroot then: the program would have to be inside it). @default none
     */
    extra?: { globals: string[]; sections: string[]; runsPrograms?: boolean };
}

/** A Redis command in RESP, hex-encoded for `tcp-check send-binary`: any password byte is safe. */
export function respHex(...args: string[]): string {
    const parts = [`*${args.length}\r\n`, ...args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`)];
    return Buffer.from(parts.join("")).toString("hex");
}

export function redisProxyConfig(input: RedisProxyInput): string {
    if (input.nodes.length === 0) throw new Error("redisProxyConfig: at least one Redis node is required");
    return [
        haproxyPreamble(2048, input.adminSocket ?? "/run/haproxy/redis-proxy.sock", input.resolver, input.extra?.globals, {
            chroot: !input.extra?.runsPrograms,
        }),
        "defaults",
        "    mode tcp",
        "    log global",
        "    # One line per PHP request would drown the log: only failed connections are logged. Without tcplog HAProxy",
        '    # logs a "Connect from" line at every accept, which dontlog-normal does not cover.',
        "    option tcplog",
        "    option dontlog-normal",
        "    timeout connect 1s",
        "    timeout client 1h",
        "    timeout server 1h",
        "    timeout check 1s",
        "",
        "listen redis_master",
        `    bind ${input.listen.address}:${input.listen.port}`,
        "    balance first",
        "    option tcp-check",
        "    tcp-check connect",
        `    tcp-check send-binary ${respHex("AUTH", input.password)}`,
        "    tcp-check expect string +OK",
        "    tcp-check send PING\\r\\n",
        "    tcp-check expect string +PONG",
        "    tcp-check send INFO\\ replication\\r\\n",
        "    tcp-check expect string role:master",
        "    tcp-check send QUIT\\r\\n",
        "    tcp-check expect string +OK",
        `    default-server check inter ${input.checkIntervalMs}ms fall 2 rise 2 on-marked-down shutdown-sessions`,
        ...input.nodes.map((n) => `    server ${n.name} ${n.host}:${n.port}${resolverServerOptions(input.resolver)}`),
        "",
        ...(input.extra?.sections ?? []),
    ].join("\n");
}
