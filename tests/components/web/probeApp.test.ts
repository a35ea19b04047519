import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { probeApp } from "../../../components/web/probeApp";

describe("probeApp", () => {
    const php = probeApp({ settingsPath: "/var/www/html/bitrix/.settings.php", uploadDir: "/var/www/html/upload/probe", replicaWaitS: 5 });

    it("reports the node and keeps a session counter", () => {
        assert.match(php, /'node' => gethostname\(\)/);
        assert.match(php, /\$_SESSION\['count'\] = \(\$_SESSION\['count'\] \?\? 0\) \+ 1;/);
        assert.match(php, /if \(!@session_start\(\)\) probe_fail\(503, 'session store unavailable: '/);
        assert.match(php, /if \(!@session_write_close\(\)\) probe_fail\(503, 'session not saved: '/);
    });

    it("answers each acknowledged write with its id, value and the server that took it", () => {
        assert.equal(php.match(/INSERT INTO probe_rows/g)?.length, 1, "one insert helper for db and write");
        assert.match(php, /case 'write':\n(?:.*\n)*?\s+\$out \+= probe_insert\(\$master, /);
        assert.match(php, /\$out\['server'\] = \$master->query\('SELECT @@hostname AS h'\)/);
    });

    it("writes through the default connection and reads back through the slave connection", () => {
        assert.match(php, /\$master = probe_db\(\$settings\['connections'\]\['value'\]\['default'\]\);/);
        assert.match(php, /INSERT INTO probe_rows/);
        assert.match(php, /\$replica = probe_db\(\$settings\['connections'\]\['value'\]\['slave'\]\);/);
        assert.match(php, /microtime\(true\) \+ 5;/);
    });

    it("stores and reads files under upload/ with safe names only", () => {
        assert.match(php, /\$dir = '\/var\/www\/html\/upload\/probe';/);
        assert.ok(php.includes("preg_match('/^[A-Za-z0-9_-]{1,60}\\.txt$/', $name)"), "only .txt names");
        assert.match(php, /rename\(\$path \. '\.tmp', \$path\)/);
    });
});
