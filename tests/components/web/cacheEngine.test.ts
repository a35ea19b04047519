import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { CACHE_ENGINE_CLASS, CACHE_ENGINE_REQUIRED_FILE, cacheEngineClass } from "../../../components/web/cacheEngine";

describe("cacheEngineClass", () => {
    const php = cacheEngineClass();

    it("declares the class .settings.php names, as a subclass of the kernel's Redis engine", () => {
        assert.equal(CACHE_ENGINE_CLASS, "\\BitrixCluster\\AuthenticatedRedisCache");
        assert.equal(CACHE_ENGINE_REQUIRED_FILE, "php_interface/bitrix-cluster/rediscache.php");
        assert.match(php, /^<\?php\n/);
        assert.match(php, /\nnamespace BitrixCluster;\n/);
        assert.match(php, /\nclass AuthenticatedRedisCache extends CacheEngineRedis\n/);
        assert.match(php, /use Bitrix\\Main\\Data\\CacheEngineRedis;/);
    });

    it("overrides only connect(): authenticates with cache.value.redis.password and sets the top-level serializer", () => {
        assert.equal(php.match(/function /g)?.length, 1);
        assert.match(php, /protected function connect\(\$config\)/);
        assert.match(php, /\$ok = \$redis->auth\(\(string\)\$r\['password'\]\);/);
        assert.match(
            php,
            /\$redis->setOption\(\\Redis::OPT_SERIALIZER, \(int\)\(\$config\['serializer'\] \?\? \\Redis::SERIALIZER_PHP\)\);/,
        );
        assert.match(php, /self::\$engine = \$ok \? \$redis : null;\n\s+self::\$isConnected = \(bool\)\$ok;/);
    });

    it("holds no secret", () => {
        assert.doesNotMatch(php, /password' => /);
    });
});
