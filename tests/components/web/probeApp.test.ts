import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { probeApp } from "../../../components/web/probeApp";

describe("probeApp", () => {
    const php = probeApp({ settingsPath: "/var/www/html/bitrix/.settings.php", uploadDir: "/var/www/html/upload/probe", replicaWaitS: 5 });

    it("reports the node and keeps a session counter", () => {
        assert.match(php, /'node' => gethostname\(\)/);
        assert.match(php, /\$_SESSION\['count'\] = \(\$_SESSION\['count'\] \?\? 0\) \+ 1;/);
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
