import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import {
    PUSH_LOCAL_PUB,
    pullModuleSettings,
    pullSettingsPhp,
    pushConfigPath,
    pushPubSection,
    pushRedisConfig,
    pushServerConfig,
} from "../../../components/push/pushConfig";

const KEY = "K3y0fTheTestPushServer0123456789abcdef";
const redis = { host: "bx-push-redis", port: 6379 };

describe("pushServerConfig", () => {
    const sub = JSON.parse(pushServerConfig({ role: "sub", service: "push-1", key: KEY, redis }));
    const pub = JSON.parse(pushServerConfig({ role: "pub", service: "push-1", key: KEY, redis }));

    it("writes the subscriber listener as bitrix-env's sub template does: one server on 8010 routing sub to /bitrix/subws/", () => {
        assert.deepEqual(sub.servers, [
            { name: "sub-8010", port: 8010, hostname: "0.0.0.0", backlog: 1024, routes: { sub: "/bitrix/subws/" } },
        ]);
        assert.equal(sub.publishMode, undefined);
        assert.equal(sub.clusterMode, true);
        assert.equal(sub.processUniqueId, "push-1-sub-8010");
    });

    it("writes the publisher listener on 9010 with the pub and stat routes, in publish mode", () => {
        assert.deepEqual(pub.servers[0].routes, { pub: "/bitrix/pub/", stat: "/server-stat/" });
        assert.equal(pub.servers[0].port, 9010);
        assert.equal(pub.publishMode, true);
        assert.equal(pub.processUniqueId, "push-1-pub-9010");
    });

    it("stores in Redis with the TTL keys spelled as the server's code reads them, and carries the signature key", () => {
        for (const c of [sub, pub]) {
            assert.deepEqual(c.storage, {
                type: "redis",
                host: "bx-push-redis",
                port: 6379,
                messageTTL: 86400,
                channelTTL: 86400,
                onlineTTL: 120,
                onlineDelta: 10,
            });
            assert.deepEqual(c.security, { key: KEY });
        }
        const short = JSON.parse(
            pushServerConfig({
                role: "sub",
                service: "push-2",
                key: KEY,
                redis,
                ttls: { messageS: 600, channelS: 900, onlineS: 60, onlineDeltaS: 5 },
            }),
        );
        assert.deepEqual(
            [short.storage.messageTTL, short.storage.channelTTL, short.storage.onlineTTL, short.storage.onlineDelta],
            [600, 900, 60, 5],
        );
    });

    it("refuses a key with characters the push server does not allow (it would also break the JSON's meaning)", () => {
        assert.throws(() => pushServerConfig({ role: "sub", service: "push-1", key: 'abc"def', redis }), /letters and digits/);
        assert.throws(() => pushServerConfig({ role: "sub", service: "push-1", key: "", redis }), /letters and digits/);
    });

    it("keeps the files where the image reads them: bitrix-env's directory and names", () => {
        assert.equal(pushConfigPath("sub"), "/etc/push-server/push-server-sub-8010.json");
        assert.equal(pushConfigPath("pub"), "/etc/push-server/push-server-pub-9010.json");
    });
});

describe("pushRedisConfig", () => {
    const cfg = pushRedisConfig({ maxMemoryMb: 64 });
    it("keeps messages in memory only, bounded, evicting the nearest expiry first", () => {
        assert.match(cfg, /^save ""$/m);
        assert.match(cfg, /^appendonly no$/m);
        assert.match(cfg, /^maxmemory 64mb$/m);
        assert.match(cfg, /^maxmemory-policy volatile-ttl$/m);
    });
    it("turns off the commands that reconfigure or wipe it (the push server sends none of them)", () => {
        for (const c of ["CONFIG", "FLUSHALL", "FLUSHDB", "DEBUG", "SHUTDOWN", "REPLICAOF", "SLAVEOF", "MODULE"])
            assert.match(cfg, new RegExp(`^rename-command ${c} ""$`, "m"));
    });
});

describe("pushPubSection (web nodes' local publish route)", () => {
    const cfg = pushPubSection({
        servers: [
            { name: "push-1", host: "bx-push-1", port: 9010 },
            { name: "push-2", host: "bx-push-2", port: 9010 },
        ],
        resolverOptions: " resolvers cluster",
    });
    it("listens on the pull module's default publish address only", () => {
        assert.equal(`${PUSH_LOCAL_PUB.address}:${PUSH_LOCAL_PUB.port}`, "127.0.0.1:8895");
        assert.match(cfg, /^ {4}bind 127\.0\.0\.1:8895$/m);
    });
    it("sends to the first healthy publisher, checked on its stat route every second", () => {
        assert.match(cfg, /^ {4}balance first$/m);
        assert.match(cfg, /http-check send meth GET uri \/server-stat\//);
        assert.match(cfg, /default-server check inter 1s fastinter 500ms fall 2 rise 2/);
        assert.match(cfg, /^ {4}server push-1 bx-push-1:9010 resolvers cluster$/m);
        assert.match(cfg, /^ {4}server push-2 bx-push-2:9010 resolvers cluster$/m);
    });
    it("passes only the publisher's paths", () => {
        assert.match(cfg, /http-request deny deny_status 403 unless \{ path_beg \/bitrix\/pub\/ \} \|\| \{ path_beg \/server-stat\/ \}/);
    });
    it("needs a push server", () => assert.throws(() => pushPubSection({ servers: [], resolverOptions: "" }), /at least one/));
});

describe("pullModuleSettings", () => {
    const s = pullModuleSettings({ publishUrl: "http://127.0.0.1:8895/bitrix/pub/", key: KEY });
    it("gives every option of the pull module's default_option.php that a push server with websockets needs, with bitrix-env's values", () => {
        assert.deepEqual(s, {
            path_to_listener: "http://#DOMAIN#/bitrix/sub/",
            path_to_listener_secure: "https://#DOMAIN#/bitrix/sub/",
            path_to_modern_listener: "http://#DOMAIN#/bitrix/sub/",
            path_to_modern_listener_secure: "https://#DOMAIN#/bitrix/sub/",
            path_to_mobile_listener: "http://#DOMAIN#/bitrix/sub/",
            path_to_mobile_listener_secure: "https://#DOMAIN#/bitrix/sub/",
            path_to_websocket: "ws://#DOMAIN#/bitrix/subws/",
            path_to_websocket_secure: "wss://#DOMAIN#/bitrix/subws/",
            path_to_publish: "http://127.0.0.1:8895/bitrix/pub/",
            nginx_version: "4",
            nginx_command_per_hit: "100",
            nginx: "Y",
            nginx_headers: "N",
            push: "Y",
            websocket: "Y",
            signature_key: KEY,
            signature_algo: "sha1",
            guest: "N",
        });
    });
    it("renders the same as the .settings.php block, quotes escaped", () => {
        const php = pullSettingsPhp({ a: "it's", b: "back\\slash" });
        assert.equal(
            php,
            "'pull' => array(\n    'value' => array(\n        'a' => 'it\\'s',\n        'b' => 'back\\\\slash',\n    ),\n),\n",
        );
    });
});
