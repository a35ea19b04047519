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
        database: "bitrix", user: "bitrix", password: "pa'ss",
        master: { host: "bx-db-master", port: 3306 }, replica: { host: "bx-db-replica-1", port: 3306 },
        redis: { host: "127.0.0.1", port: 6379, password: "rp" }, cacheSid: "bx-prod",
    });

    it("is a PHP file returning the settings array", () => {
        assert.ok(php.startsWith("<?php\n"));
        assert.match(php, /\nreturn \[\n/);
        assert.ok(php.trimEnd().endsWith("];"));
    });

    it("has the default (master) connection", () => {
        assert.match(php, /'default' => \[\n\s+'className' => '\\\\Bitrix\\\\Main\\\\DB\\\\MysqliConnection',\n\s+'host' => 'bx-db-master:3306',\n\s+'database' => 'bitrix',\n\s+'login' => 'bitrix',\n\s+'password' => 'pa\\'ss',\n\s+'options' => 2,\n\s+\],/);
    });

    it("has a read-only slave connection to the replica", () => {
        assert.match(php, /'slave' => \[\n(?:\s+'[a-zA-Z]+' => .*\n)*?\s+'host' => 'bx-db-replica-1:3306',\n(?:\s+'[a-zA-Z]+' => .*\n)*?\s+'readonly' => true,/);
    });

    it("puts cache and sessions in Redis through the local proxy, with one cache namespace for all nodes", () => {
        assert.match(php, /'class_name' => '\\\\Bitrix\\\\Main\\\\Data\\\\CacheEngineRedis'/);
        assert.match(php, /'sid' => 'bx-prod'/);
        assert.match(php, /'session' => \[\n\s+'value' => \[\n\s+'mode' => 'default',\n\s+'handlers' => \[\n\s+'general' => \[\n\s+'type' => 'redis',\n\s+'host' => '127\.0\.0\.1',\n\s+'port' => '6379',/);
    });
});
