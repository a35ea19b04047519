import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { redisConfig, redisStartEnv, sentinelConfig, sessionLockMinAgeMs } from "../../../components/redis/redisConfig";
import { SESSION_LOCK_PATTERN } from "../../../components/shared/sessionLocks";

describe("redisConfig", () => {
    const master = redisConfig({ host: "bx-redis-1", port: 6379, password: 'p"w\\x', maxMemoryMb: 64, dataDir: "/var/lib/redis" });
    const replica = redisConfig({
        host: "bx-redis-2",
        port: 6379,
        password: "pw",
        maxMemoryMb: 64,
        dataDir: "/var/lib/redis",
        replicaOf: { host: "bx-redis-1", port: 6379 },
    });

    it("protects the node with a password it also uses towards its master, quoted", () => {
        assert.match(master, /^requirepass "p\\"w\\\\x"$/m);
        assert.match(master, /^masterauth "p\\"w\\\\x"$/m);
    });

    it("persists sessions: AOF every second plus snapshots", () => {
        assert.match(master, /^appendonly yes$/m);
        assert.match(master, /^appendfsync everysec$/m);
        assert.match(master, /^save 900 1 300 10 60 10000$/m);
        assert.match(master, /^dir \/var\/lib\/redis$/m);
    });

    it("announces its host name and follows the master only on replicas", () => {
        assert.match(replica, /^replica-announce-ip bx-redis-2$/m);
        assert.match(replica, /^replicaof bx-redis-1 6379$/m);
        assert.doesNotMatch(master, /^replicaof/m);
        assert.match(master, /^maxmemory 64mb$/m);
        assert.match(master, /^maxmemory-policy volatile-lru$/m);
    });
});

describe("sentinelConfig", () => {
    const conf = sentinelConfig({
        host: "bx-sentinel-1",
        port: 26379,
        masterName: "bitrix",
        master: { host: "bx-redis-1", port: 6379 },
        quorum: 2,
        password: "pw",
        downAfterMs: 5000,
        failoverTimeoutMs: 60000,
        dataDir: "/var/lib/redis",
    });

    it("monitors the master with the quorum, auth and timings", () => {
        assert.match(conf, /^sentinel monitor bitrix bx-redis-1 6379 2$/m);
        assert.match(conf, /^sentinel auth-pass bitrix "pw"$/m);
        assert.match(conf, /^sentinel down-after-milliseconds bitrix 5000$/m);
        assert.match(conf, /^sentinel failover-timeout bitrix 60000$/m);
        assert.match(conf, /^sentinel parallel-syncs bitrix 1$/m);
    });

    it("resolves and announces host names, which container names need", () => {
        assert.match(conf, /^sentinel resolve-hostnames yes$/m);
        assert.match(conf, /^sentinel announce-hostnames yes$/m);
        assert.match(conf, /^sentinel announce-ip bx-sentinel-1$/m);
    });

    it("declares resolve-hostnames before the monitor line that needs it", () => {
        assert.ok(conf.indexOf("resolve-hostnames") < conf.indexOf("sentinel monitor"));
    });

    it("protects sentinels with the same password among themselves", () => {
        assert.match(conf, /^requirepass "pw"$/m);
        assert.match(conf, /^sentinel sentinel-pass "pw"$/m);
    });

    it("runs the session-lock cleanup on a failover only when given the script", () => {
        assert.doesNotMatch(conf, /client-reconfig-script/);
        const withScript = sentinelConfig({
            host: "s",
            port: 26379,
            masterName: "bitrix",
            master: { host: "r", port: 6379 },
            quorum: 2,
            password: "pw",
            downAfterMs: 5000,
            failoverTimeoutMs: 60000,
            dataDir: "/d",
            reconfigScript: "/usr/local/bin/redis-session-locks",
        });
        assert.match(withScript, /^sentinel client-reconfig-script bitrix "\/usr\/local\/bin\/redis-session-locks"$/m);
    });
});

describe("redisStartEnv", () => {
    it("quotes values for the shell, including single quotes", () => {
        const env = redisStartEnv({ self: "bx-redis-1", port: 6379, masterName: "bitrix", sentinels: ["a:1", "b:2"], password: "it's" });
        assert.match(env, /^REDIS_SENTINELS='a:1 b:2'$/m);
        assert.match(env, /^REDIS_PASSWORD='it'\\''s'$/m);
        assert.match(env, /^REDIS_SELF='bx-redis-1'$/m);
        assert.doesNotMatch(env, /SESSION_LOCK/, "a Redis node has no session-lock settings");
    });

    it("gives a sentinel the session-lock settings, the glob quoted so the shell never expands it", () => {
        const env = redisStartEnv({
            self: "s",
            port: 26379,
            masterName: "bitrix",
            sentinels: [],
            password: "pw",
            sessionLocks: { pattern: SESSION_LOCK_PATTERN, expireMs: 60000, minAgeMs: sessionLockMinAgeMs(5000) },
        });
        assert.match(env, /^SESSION_LOCK_PATTERN='PHPREDIS_SESSION:\*_LOCK'$/m);
        assert.match(env, /^SESSION_LOCK_EXPIRE_MS=60000$/m);
        assert.match(env, /^SESSION_LOCK_MIN_AGE_MS=2500$/m);
    });
});
