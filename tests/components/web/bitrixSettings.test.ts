import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { bitrixSettings } from "../../../components/web/bitrixSettings";
import { phpString, phpValue } from "../../../components/web/phpValue";

describe("phpValue", () => {
    it("renders strings safely and nests arrays", () => {
        assert.equal(phpString("it's \\ ok"), "'it\\'s \\\\ ok'");
        assert.equal(phpValue({ a: [1, true, null] }), "[\n    'a' => [\n        1,\n        true,\n        null,\n    ],\n]");
        assert.throws(() => phpValue(Number.NaN));
    });
});

describe("bitrixSettings", () => {
    const php = bitrixSettings({
        database: "bitrix",
        user: "bitrix",
        password: "pa'ss",
        master: { host: "bx-db-master", port: 3306 },
        redis: { host: "127.0.0.1", port: 6379, password: "rp" },
        cacheSid: "bx-prod",
    });

    it("is a PHP file returning the settings array", () => {
        assert.ok(php.startsWith("<?php\n"));
        assert.match(php, /\nreturn \[\n/);
        assert.ok(php.trimEnd().endsWith("];"));
    });

    it("has the default (master) connection, host as host:port", () => {
        assert.match(
            php,
            /'default' => \[\n\s+'className' => '\\\\Bitrix\\\\Main\\\\DB\\\\MysqliConnection',\n\s+'host' => 'bx-db-master:3306',\n\s+'database' => 'bitrix',\n\s+'login' => 'bitrix',\n\s+'password' => 'pa\\'ss',\n\s+'options' => 2,\n\s+\],/,
        );
    });

    it("has no slave connection and no readonly flag: the kernel reads replicas from b_cluster_dbnode only", () => {
        assert.doesNotMatch(php, /'slave'/);
        assert.doesNotMatch(php, /'readonly' => true,\n\s+\],\n\s+\],/);
        assert.equal(php.match(/'className' =>/g)?.length, 1, "one connection");
    });

    it("leaves sessions to php.ini: session.value is exactly ['mode' => 'default'], no kernel Redis handler", () => {
        assert.match(php, /'session' => \[\n\s+'value' => \[\n\s+'mode' => 'default',\n\s+\],\n\s+'readonly' => true,\n\s+\],/);
        assert.doesNotMatch(php, /'handlers'/);
    });

    it("loads the authenticating cache engine through required_file, with the kernel's keys at the kernel's levels", () => {
        const cache = php.slice(php.indexOf("'cache' =>"), php.indexOf("'session' =>"));
        assert.match(
            cache,
            /'type' => \[\n\s+'class_name' => '\\\\BitrixCluster\\\\AuthenticatedRedisCache',\n\s+'extension' => 'redis',\n\s+'required_file' => 'php_interface\/bitrix-cluster\/rediscache\.php',\n\s+\],/,
        );
        assert.match(cache, /'redis' => \[\n\s+'host' => '127\.0\.0\.1',\n\s+'port' => '6379',\n\s+'password' => 'rp',\n\s+\],/);
        // Top level of cache.value: where CacheEngine::configure() and CacheEngineRedis read them.
        for (const [key, value] of [
            ["sid", "'bx-prod'"],
            ["serializer", "1"],
            ["persistent", "false"],
            ["timeout", "1"],
            ["use_lock", "false"],
        ]) {
            assert.match(cache, new RegExp(`\\n {12}'${key}' => ${value},\\n`), key);
        }
        assert.doesNotMatch(cache, /'redis' => \[[^\]]*'(serializer|persistent)'/, "nothing the kernel would ignore inside redis");
    });
});
