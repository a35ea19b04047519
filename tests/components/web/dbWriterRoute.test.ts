import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { dbWriterCheckScript, dbWriterCredentials, dbWriterSection } from "../../../components/web/dbWriterRoute";

describe("database writer route", () => {
    it("listens on 127.0.0.1:6033 and sends connections to the first server the external check finds writable", () => {
        const s = dbWriterSection({
            nodes: [
                { name: "db-master", host: "m", port: 3306 },
                { name: "db-replica-1", host: "r", port: 3307 },
            ],
            resolver: "127.0.0.11",
        });
        assert.match(s, /^listen db_writer\n {4}bind 127\.0\.0\.1:6033\n {4}mode tcp\n {4}balance first\n/);
        assert.match(s, /external-check command \/usr\/local\/bin\/bitrix-db-writer-check/);
        assert.match(s, /default-server check inter 1000ms fall 2 rise 1 on-marked-down shutdown-sessions/);
        assert.deepEqual(
            s.match(/^ {4}server \S+ \S+/gm)?.map((l) => l.trim()),
            ["server db-master m:3306", "server db-replica-1 r:3307"],
        );
        assert.match(s, /r:3307 resolvers cluster/);
        assert.throws(() => dbWriterSection({ nodes: [] }), /at least one/);
    });

    it("checks read_only with a login read as data from the generated credentials file, never from PHP the web user can write", () => {
        const php = dbWriterCheckScript("/etc/haproxy/db-writer.json");
        assert.match(php, /^#!\/usr\/bin\/php\n<\?php\n/);
        // .settings.php is writable by www-data (Bitrix rewrites it): the check neither includes nor reads it.
        assert.doesNotMatch(php, /\b(include|require)(_once)?\b|settings\.php|eval\(/);
        assert.match(php, /json_decode\(@file_get_contents\('\/etc\/haproxy\/db-writer\.json'\), true\)/);
        assert.match(php, /SELECT @@global\.read_only/);
        assert.match(php, /\(int\)\$row\['ro'\] === 0 \? 0 : 1/);
    });

    it("writes the credentials as JSON, so any password byte survives", () => {
        const password = `p'"\\$x #{}\n;`;
        assert.deepEqual(JSON.parse(dbWriterCredentials({ user: "bitrix", password })), { user: "bitrix", password });
    });
});
