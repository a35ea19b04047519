import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { probeApp } from "../../../components/web/probeApp";

describe("probeApp", () => {
    const php = probeApp({
        settingsPath: "/var/www/html/bitrix/.settings.php",
        uploadDir: "/var/www/html/upload/probe",
        replicaWaitS: 5,
        docroot: "/var/www/html",
    });

    it("reports the node and keeps a session counter", () => {
        assert.match(php, /'node' => gethostname\(\)/);
        assert.match(php, /\$_SESSION\['count'\] = \(\$_SESSION\['count'\] \?\? 0\) \+ 1;/);
        assert.match(php, /if \(!@session_start\(\)\) probe_fail\(503, 'session store unavailable: '/);
        // phpredis returns true from a refused write (lock not held) and only warns: the warning counts as failure.
        assert.match(
            php,
            /error_clear_last\(\);\n\s+if \(!@session_write_close\(\) \|\| error_get_last\(\) !== null\) probe_fail\(503, 'session not saved: '/,
        );
    });

    it("answers each acknowledged write with its id, value and the server that took it", () => {
        assert.equal(php.match(/INSERT INTO probe_rows/g)?.length, 1, "one insert helper for db and write");
        assert.match(php, /case 'write':\n(?:.*\n)*?\s+\$out \+= probe_insert\(\$master, /);
        assert.match(php, /\$out\['server'\] = \$master->query\('SELECT @@hostname AS h'\)/);
    });

    it("writes through the default connection and reads back through the replica the kernel would pick", () => {
        assert.match(php, /\$master = probe_db\(\$settings\['connections'\]\['value'\]\['default'\]\);/);
        assert.doesNotMatch(php, /\['slave'\]/, "no connection named slave is read");
        assert.match(php, /SELECT \* FROM b_cluster_dbnode WHERE STATUS = 'ONLINE' AND \(SELECTABLE IS NULL OR SELECTABLE = 'Y'\)/);
        assert.match(php, /\$max = 10;/);
        assert.match(php, /NAME = 'max_slave_delay'/);
        assert.match(php, /\(\$st\['Seconds_Behind_Master'\] \?\? 0\) > \$max/);
        assert.match(php, /b_cluster_dbnode absent \(cluster module not installed\): reads go to the master/);
        assert.match(php, /microtime\(true\) \+ 5;/);
    });

    it("uses php.ini's session handler only for session.value === ['mode' => 'default'], else the kernel's (no AUTH)", () => {
        assert.match(
            php,
            /if \(\(!\$config \|\| \$config === \['mode' => 'default'\]\) && ini_get\('session.save_handler'\) !== 'files'\)/,
        );
        assert.match(php, /\$redis->setnx\('probe:kernel-session-lock', 1\);/);
    });

    it("authenticates the cache only through the project's engine class, and reads top-level serializer", () => {
        assert.match(php, /\$ours = \$class === 'BitrixCluster\\\\AuthenticatedRedisCache';/);
        assert.match(php, /if \(\$ours && \(string\)\(\$r\['password'\] \?\? ''\) !== ''\) \$redis->auth/);
        assert.match(php, /\(string\)\(\$c\['serializer'\] \?\? ''\)/);
        assert.match(php, /'\/var\/www\/html' \. '\/bitrix\/' \. \$file/);
    });

    it("stores and reads files under upload/ with safe names only", () => {
        assert.match(php, /\$dir = '\/var\/www\/html\/upload\/probe';/);
        assert.ok(php.includes("preg_match('/^[A-Za-z0-9_-]{1,60}\\.txt$/', $name)"), "only .txt names");
        assert.match(php, /rename\(\$path \. '\.tmp', \$path\)/);
    });
});
