import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";
import { environmentFile, imageLayout, serviceUnit, startScript, systemdArg } from "../../../components/placement/systemdUnit";

const IMAGES = path.join(__dirname, "..", "..", "..", "..", "images");

describe("systemd units for hosts", () => {
    it("runs the image's own entrypoint and CMD, with the files the image copies at the same paths", () => {
        const redis = imageLayout(IMAGES, "redis");
        assert.deepEqual([redis.entrypoint, redis.cmd], [["/usr/local/bin/redis-entrypoint"], ["redis"]]);
        const web = imageLayout(IMAGES, "web");
        assert.deepEqual(web.copies.map((c) => [path.relative(IMAGES, c.source), c.target]), [
            ["web/supervisord.conf", "/etc/supervisor/supervisord.conf"], ["web/entrypoint.sh", "/usr/local/bin/web-entrypoint"],
        ]);
        const db = imageLayout(IMAGES, "mariadb");
        const unit = serviceUnit({ service: "db-master", entrypoint: db.entrypoint, command: db.cmd, stopGraceS: 120, memoryMb: 2048 });
        assert.match(unit, /^ExecStart=\/usr\/local\/bin\/mariadb-entrypoint mariadbd --user=mysql$/m);
        assert.match(unit, /^EnvironmentFile=-\/etc\/bitrix-cluster\/db-master\.env$/m);
        assert.match(unit, /^TimeoutStopSec=120$/m);
        assert.match(unit, /^MemoryMax=2048M$/m);
        assert.match(unit, /^Restart=always$/m);
        assert.match(serviceUnit({ service: "sentinel-1", entrypoint: redis.entrypoint, command: ["sentinel"] }), /redis-entrypoint sentinel$/m);
    });

    it("quotes arguments the way systemd reads them", () => {
        assert.equal(systemdArg("daemon off;"), '"daemon off;"');
        assert.equal(systemdArg("$HOME"), '"$$HOME"');
        assert.equal(systemdArg("100%"), "100%%");
        assert.equal(systemdArg('say "hi"'), '"say \\"hi\\""');
    });

    it("writes environment files systemd parses without a shell, refusing what would break them", () => {
        assert.equal(environmentFile({ A: "x y", B: 'q"uote' }), 'A="x y"\nB="q\\"uote"\n');
        assert.throws(() => environmentFile({ "A-B": "x" }), /not valid/);
        assert.throws(() => environmentFile({ A: "x\ny" }), /spans lines/);
    });

    it("starts the unit and waits for its health command, with the log on failure", () => {
        const script = startScript("web-1", { command: "curl -fsS http://127.0.0.1/fpm-ping", intervalS: 5, retries: 3, startPeriodS: 10 });
        execFileSync("sh", ["-n"], { input: script });
        assert.match(script, /systemctl restart bitrix-web-1\.service/);
        assert.match(script, /until sh -c 'curl -fsS http:\/\/127\.0\.0\.1\/fpm-ping'/);
        assert.match(script, /-ge 6 \]/);
        assert.match(script, /journalctl -u bitrix-web-1\.service/);
    });
});
