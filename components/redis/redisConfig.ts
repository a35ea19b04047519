/**
 * redis.conf and sentinel.conf. Persistence is on (AOF every second plus RDB snapshots) so sessions survive a
 * restart; replicas follow the master with the same password; sentinels announce host names, which works with
 * container names and with real host names alike.
 */
import { shellQuote } from "../shared/shell";

export interface RedisNodeInput {
    /** This node's host name, announced to Sentinel and replicas. */
    host: string;
    port: number;
    password: string;
    /** Master to replicate from; undefined for the master. */
    replicaOf?: { host: string; port: number };
    maxMemoryMb: number;
    dataDir: string;
}

/** Lines Redis and Sentinel share: where they listen (password-protected), their directory, logs to stdout. */
function processLines(port: number, dataDir: string): string[] {
    return [`port ${port}`, "bind * -::*", "protected-mode no", `dir ${dataDir}`, "daemonize no", 'logfile ""', "loglevel notice"];
}

export function redisConfig(input: RedisNodeInput): string {
    const lines = [
        ...processLines(input.port, input.dataDir),
        `requirepass ${quote(input.password)}`,
        `masterauth ${quote(input.password)}`,
        `replica-announce-ip ${input.host}`,
        `replica-announce-port ${input.port}`,
        "# Sessions must survive a restart: AOF fsynced every second, plus RDB snapshots.",
        "appendonly yes",
        "appendfsync everysec",
        "save 900 1 300 10 60 10000",
        `maxmemory ${input.maxMemoryMb}mb`,
        "# When full, keys with a TTL (cache entries, and sessions too) are evicted rather than writes refused.",
        "maxmemory-policy volatile-lru",
        "replica-read-only yes",
        "replica-serve-stale-data yes",
        "repl-diskless-sync yes",
        "min-replicas-to-write 0",
        "tcp-keepalive 60",
        "timeout 0",
        'rename-command FLUSHALL ""',
        'rename-command DEBUG ""',
    ];
    if (input.replicaOf) lines.push(`replicaof ${input.replicaOf.host} ${input.replicaOf.port}`);
    return lines.join("\n") + "\n";
}

export interface SentinelInput {
    /** This sentinel's host name. */
    host: string;
    port: number;
    masterName: string;
    master: { host: string; port: number };
    quorum: number;
    password: string;
    downAfterMs: number;
    failoverTimeoutMs: number;
    dataDir: string;
    /**
     * Sentinel's client-reconfig-script: the image's `redis-session-locks`, which clears the session locks a failover
     * leaves on the promoted replica (images/redis/session-locks.sh). @default none
     */
    reconfigScript?: string;
}

/** The first config of a sentinel; Sentinel rewrites it, so it is copied to a writable place at start. */
export function sentinelConfig(input: SentinelInput): string {
    const m = input.masterName;
    return [
        ...processLines(input.port, input.dataDir),
        "sentinel resolve-hostnames yes",
        "sentinel announce-hostnames yes",
        `sentinel announce-ip ${input.host}`,
        `sentinel announce-port ${input.port}`,
        `requirepass ${quote(input.password)}`,
        `sentinel sentinel-pass ${quote(input.password)}`,
        `sentinel monitor ${m} ${input.master.host} ${input.master.port} ${input.quorum}`,
        `sentinel auth-pass ${m} ${quote(input.password)}`,
        `sentinel down-after-milliseconds ${m} ${input.downAfterMs}`,
        `sentinel failover-timeout ${m} ${input.failoverTimeoutMs}`,
        `sentinel parallel-syncs ${m} 1`,
        ...(input.reconfigScript ? [`sentinel client-reconfig-script ${m} ${quote(input.reconfigScript)}`] : []),
        "",
    ].join("\n");
}

/** Redis config strings are double-quoted with backslash escapes. */
function quote(value: string): string {
    return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export interface RedisStartEnvInput {
    /** This node's host name. */
    self: string;
    port: number;
    masterName: string;
    /** Sentinels as host:port, asked at start which node is the master now. */
    sentinels: string[];
    password: string;
    /** A sentinel's settings for redis-session-locks (see `SessionLockCleanup`). @default none (a Redis node) */
    sessionLocks?: SessionLockCleanup;
}

/** Which keys are session locks, how long one lives, and how old one must be to predate a failover. */
export interface SessionLockCleanup {
    /** Redis glob of the locks (SESSION_LOCK_PATTERN). */
    pattern: string;
    /** phpredis' lock lifetime, `redis.session.lock_expire` (ms). */
    expireMs: number;
    /** Locks at least this old when the promoted replica takes over were taken on the old master. */
    minAgeMs: number;
}

/**
 * How old a lock must be to be cleared: half of down-after-milliseconds. A lock from before the failover is at least
 * down-after old when the leader promotes a replica; one taken on the new master is younger than the time Sentinel
 * needs to see the promotion (its 1 s INFO period) plus the web proxies' checks to send clients there.
 */
export function sessionLockMinAgeMs(downAfterMs: number): number {
    return Math.floor(downAfterMs / 2);
}

/**
 * Shell variables for the image's start script. Before a Redis node starts it asks the sentinels for the
 * current master: a restarted old master then comes back as a replica instead of a second master.
 */
export function redisStartEnv(input: RedisStartEnvInput): string {
    return [
        `REDIS_SELF=${shellQuote(input.self)}`,
        `REDIS_PORT=${input.port}`,
        `REDIS_MASTER_NAME=${shellQuote(input.masterName)}`,
        `REDIS_SENTINELS=${shellQuote(input.sentinels.join(" "))}`,
        `REDIS_PASSWORD=${shellQuote(input.password)}`,
        ...(input.sessionLocks
            ? [
                  `SESSION_LOCK_PATTERN=${shellQuote(input.sessionLocks.pattern)}`,
                  `SESSION_LOCK_EXPIRE_MS=${Math.round(input.sessionLocks.expireMs)}`,
                  `SESSION_LOCK_MIN_AGE_MS=${Math.round(input.sessionLocks.minAgeMs)}`,
              ]
            : []),
        "",
    ].join("\n");
}
