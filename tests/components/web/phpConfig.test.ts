import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { fpmPool, phpIni } from "../../../components/web/phpConfig";

describe("phpIni", () => {
    const ini = phpIni({
        memoryLimitMb: 512,
        maxExecutionS: 60,
        uploadMaxMb: 64,
        timezone: "Europe/Moscow",
        redis: { host: "127.0.0.1", port: 6379, password: "a&b c" },
    });

    it("is hardened for production (seed 002)", () => {
        assert.match(ini, /^display_errors = Off$/m);
        assert.match(ini, /^display_startup_errors = Off$/m);
        assert.match(ini, /^expose_php = Off$/m);
        assert.match(ini, /^log_errors = On$/m);
    });

    it("keeps sessions in Redis through the local proxy with a URL-encoded password", () => {
        assert.match(ini, /^session\.save_handler = redis$/m);
        assert.match(ini, /^session\.save_path = "tcp:\/\/127\.0\.0\.1:6379\?auth=a%26b%20c&timeout=2/m);
    });

    it("sends the session cookie over HTTPS only, out of scripts' reach, with strict ids (the portal is HTTPS only)", () => {
        assert.match(ini, /^session\.cookie_secure = 1$/m);
        assert.match(ini, /^session\.cookie_httponly = 1$/m);
        assert.match(ini, /^session\.use_strict_mode = 1$/m);
    });

    it("sets deliberate session-lock values: expiry = max_execution_time, bounded wait", () => {
        assert.match(ini, /^redis\.session\.locking_enabled = 1$/m);
        assert.match(ini, /^redis\.session\.lock_expire = 60$/m);
        const wait = Number(/lock_wait_time = (\d+)/.exec(ini)![1]);
        const retries = Number(/lock_retries = (\d+)/.exec(ini)![1]);
        assert.ok(wait * retries <= 10_000_000 + wait && wait * retries >= 9_000_000, `waits ${wait * retries} µs`);
    });

    it("applies limits and the time zone", () => {
        assert.match(ini, /^memory_limit = 512M$/m);
        assert.match(ini, /^upload_max_filesize = 64M$/m);
        assert.match(ini, /^post_max_size = 65M$/m);
        assert.match(ini, /^date\.timezone = "Europe\/Moscow"$/m);
        assert.match(ini, /^opcache\.revalidate_freq = 0$/m);
    });
});

describe("fpmPool", () => {
    const pool = fpmPool({
        socket: "/run/php/php8.2-fpm.sock",
        maxChildren: 16,
        maxExecutionS: 60,
        statusPath: "/fpm-status",
        pingPath: "/fpm-ping",
    });

    it("listens on the socket with the worker limits and a status page", () => {
        assert.match(pool, /^listen = \/run\/php\/php8\.2-fpm\.sock$/m);
        assert.match(pool, /^pm\.max_children = 16$/m);
        assert.match(pool, /^pm\.start_servers = 4$/m);
        assert.match(pool, /^pm\.status_path = \/fpm-status$/m);
        assert.match(pool, /^ping\.path = \/fpm-ping$/m);
    });

    it("kills a worker stuck past max_execution_time instead of losing it", () => {
        assert.match(pool, /^request_terminate_timeout = 90s$/m);
    });

    it("lets workers finish their request on a graceful stop, in a [global] section before the pool", () => {
        assert.match(pool, /^\[global\]\nprocess_control_timeout = 20s\n\n\[www\]$/m);
        assert.match(
            fpmPool({ socket: "/s", maxChildren: 4, maxExecutionS: 30, statusPath: "/st", pingPath: "/p", gracefulStopS: 5 }),
            /^process_control_timeout = 5s$/m,
        );
    });
});
