import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { healthEndpoint } from "../../../components/web/healthEndpoint";

describe("healthEndpoint", () => {
    const php = healthEndpoint({
        settingsPath: "/var/www/html/bitrix/.settings.php",
        heartbeatFile: "/run/bitrix/shared-ok",
        heartbeatMaxAgeS: 10,
        checkTimeoutS: 0.2,
        drainFile: "/run/bitrix/draining",
    });

    it("checks the DB master, Redis and the shared-storage heartbeat with a sub-second budget", () => {
        assert.match(php, /\$timeout = 0\.2;/);
        assert.match(php, /fsockopen\(\$dbHost, \(int\)\$dbPort, \$errno, \$errstr, \$timeout\)/);
        assert.match(php, /\['connections'\]\['value'\]\['default'\]/);
        assert.match(php, /\$redis->connect\(\$r\['host'\], \(int\)\$r\['port'\], \$timeout/);
        assert.match(php, /filemtime\('\/run\/bitrix\/shared-ok'\)/);
        assert.match(php, /time\(\) - \$beat > 10/);
    });

    it("answers 503 naming what failed, and 200 OK otherwise", () => {
        assert.match(php, /503 Service Unavailable', true, 503\)/);
        assert.match(php, /echo 'FAIL ' \. implode/);
        assert.match(php, /echo "OK\\n";/);
    });

    it("answers 503 DRAINING while the node drains, before it spends time on any other check", () => {
        const drain = php.indexOf("if (file_exists('/run/bitrix/draining')) {");
        assert.ok(drain > 0, php);
        assert.ok(drain < php.indexOf("fsockopen") && drain < php.indexOf("$failed = []"));
        assert.match(
            php.slice(drain),
            /^if \(file_exists\('\/run\/bitrix\/draining'\)\) \{\n.*503 Service Unavailable', true, 503\);\n\s+echo "DRAINING\\n";\n\s+return;\n\}/,
        );
    });

    it("writes nothing and touches no mount (seed 004)", () => {
        assert.doesNotMatch(php, /file_put_contents|fopen|touch\(|INSERT|UPDATE|DELETE|->set\(|session_start|curl_/i);
    });
});
