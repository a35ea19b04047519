import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { redisProxyConfig, respHex } from "../../../components/redis/proxyConfig";

describe("redisProxyConfig", () => {
    const cfg = redisProxyConfig({
        nodes: [
            { name: "redis-1", host: "bx-redis-1", port: 6379 },
            { name: "redis-2", host: "bx-redis-2", port: 6379 },
        ],
        password: "a b#c",
        listen: { address: "127.0.0.1", port: 6379 },
        resolver: "127.0.0.11:53",
        checkIntervalMs: 1000,
    });

    it("listens on the node-local address PHP uses", () => {
        assert.match(cfg, /bind 127\.0\.0\.1:6379/);
        assert.match(cfg, /mode tcp/);
    });

    it("routes only to the node that reports role:master, authenticating in RESP so any password byte is safe", () => {
        const hex = /tcp-check send-binary ([0-9a-f]+)/.exec(cfg)![1];
        assert.equal(Buffer.from(hex, "hex").toString(), "*2\r\n$4\r\nAUTH\r\n$5\r\na b#c\r\n");
        assert.equal(respHex("PING"), Buffer.from("*1\r\n$4\r\nPING\r\n").toString("hex"));
        assert.ok(cfg.indexOf("send-binary") < cfg.indexOf("expect string +OK"));
        assert.match(cfg, /tcp-check send INFO\\ replication\\r\\n\n\s+tcp-check expect string role:master/);
        assert.match(cfg, /balance first/);
        assert.match(cfg, /on-marked-down shutdown-sessions/);
    });

    it("lists every Redis node", () => {
        assert.match(cfg, /server redis-1 bx-redis-1:6379 resolvers cluster/);
        assert.match(cfg, /server redis-2 bx-redis-2:6379 resolvers cluster/);
    });

    it("drops root after binding: runs as the haproxy user, chrooted unless an extra section runs a program", () => {
        assert.match(cfg, /^global\n {4}user haproxy\n {4}group haproxy\n {4}chroot \/var\/lib\/haproxy\n/);
        const withCheck = redisProxyConfig({
            nodes: [{ name: "redis-1", host: "r", port: 6379 }],
            password: "x",
            listen: { address: "127.0.0.1", port: 6379 },
            checkIntervalMs: 1000,
            extra: { globals: ["    external-check", "    insecure-fork-wanted"], sections: [], runsPrograms: true },
        });
        // An external check runs inside the chroot: the program and PHP would have to be there. Still not root.
        assert.match(withCheck, /^global\n {4}user haproxy\n {4}group haproxy\n {4}external-check\n {4}insecure-fork-wanted\n/);
        assert.doesNotMatch(withCheck, /chroot/);
    });

    it("refuses an empty node list", () => {
        assert.throws(() =>
            redisProxyConfig({ nodes: [], password: "x", listen: { address: "127.0.0.1", port: 6379 }, checkIntervalMs: 1000 }),
        );
    });
});
