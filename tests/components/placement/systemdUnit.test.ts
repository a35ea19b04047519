import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import {
    environmentFile,
    fileManifestScript,
    HOST_ENV_DIR,
    imageLayout,
    mountUnit,
    mountUnitName,
    removeServiceScript,
    serviceUnit,
    startScript,
    systemdArg,
} from "../../../components/placement/systemdUnit";

const IMAGES = path.join(__dirname, "..", "..", "..", "..", "images");

describe("systemd units for hosts", () => {
    it("runs the image's own entrypoint and CMD, with the files the image copies at the same paths", () => {
        const redis = imageLayout(IMAGES, "redis");
        assert.deepEqual([redis.entrypoint, redis.cmd], [["/usr/local/bin/redis-entrypoint"], ["redis"]]);
        const web = imageLayout(IMAGES, "web");
        assert.deepEqual(
            web.copies.map((c) => [path.relative(IMAGES, c.source), c.target]),
            [
                ["web/supervisord.conf", "/etc/supervisor/supervisord.conf"],
                ["web/entrypoint.sh", "/usr/local/bin/web-entrypoint"],
            ],
        );
        // An image without ENTRYPOINT runs its CMD (the ACME service).
        const acme = imageLayout(IMAGES, "acme");
        assert.deepEqual([acme.entrypoint, acme.cmd], [[], ["/usr/local/bin/acme-run", "service"]]);
        assert.match(
            serviceUnit({ service: "acme", entrypoint: acme.entrypoint, command: acme.cmd }),
            /^ExecStart=\/usr\/local\/bin\/acme-run service$/m,
        );
        const db = imageLayout(IMAGES, "mariadb");
        const unit = serviceUnit({ service: "db-master", entrypoint: db.entrypoint, command: db.cmd, stopGraceS: 120, memoryMb: 2048 });
        assert.match(unit, /^ExecStart=\/usr\/local\/bin\/mariadb-entrypoint mariadbd --user=mysql$/m);
        assert.match(unit, /^EnvironmentFile=-\/etc\/bitrix-cluster\/db-master\.env$/m);
        assert.match(unit, /^TimeoutStopSec=120$/m);
        assert.match(unit, /^MemoryMax=2048M$/m);
        assert.match(unit, /^Restart=always$/m);
        // Under systemd stdout is a socket that /dev/stdout cannot open: output goes to a rotated file.
        assert.match(unit, /^StandardOutput=append:\/var\/log\/bitrix-cluster\/db-master\.log$/m);
        assert.doesNotMatch(unit, /ExecReload|RequiresMountsFor/);
        const lb = serviceUnit({
            service: "web-1",
            entrypoint: ["/e"],
            command: ["x"],
            reload: ["/bin/kill -USR2 $MAINPID"],
            requiresMountsFor: ["/var/www/html/upload"],
        });
        assert.match(lb, /^ExecReload=\/bin\/kill -USR2 \$MAINPID$/m);
        assert.match(lb, /^RequiresMountsFor=\/var\/www\/html\/upload$/m);
        assert.match(
            serviceUnit({ service: "sentinel-1", entrypoint: redis.entrypoint, command: ["sentinel"] }),
            /redis-entrypoint sentinel$/m,
        );
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
        const script = startScript(
            "web-1",
            { command: "curl -fsS http://127.0.0.1/fpm-ping", intervalS: 5, retries: 3, startPeriodS: 10 },
            {
                restartDigest: "abc123",
                dirs: ["/var/www/html"],
                mounts: ["var-www-html-upload.mount"],
                mounted: [],
            },
        );
        execFileSync("sh", ["-n"], { input: script });
        assert.match(
            script,
            /if false; then\n {4}systemctl reload bitrix-web-1\.service\nelse\n {4}systemctl restart bitrix-web-1\.service\nfi/,
        );
        assert.match(script, /mkdir -p \/var\/log\/bitrix-cluster '\/var\/www\/html'/);
        assert.match(
            script,
            /systemctl enable 'var-www-html-upload\.mount' >\/dev\/null 2>&1; systemctl start 'var-www-html-upload\.mount'\n/,
        );
        assert.match(script, /until sh -c 'curl -fsS http:\/\/127\.0\.0\.1\/fpm-ping'/);
        // Checked at once and every 0.25 s until Docker's own verdict would be in: 10 s + 5 s × (3 + 1).
        assert.match(script, /deadline=\$\(\( \$\(date \+%s\) \+ 30 \)\)\n/);
        assert.match(script, /\n {4}sleep 0\.25\ndone/);
        assert.match(script, /tail -n 30 \/var\/log\/bitrix-cluster\/web-1\.log/);
        assert.match(script, /echo abc123 > \/etc\/bitrix-cluster\/web-1\.restart-digest/);
    });

    it("reloads a reloadable unit only while it runs and its restart digest is unchanged", () => {
        const script = startScript("balancer", undefined, { restartDigest: "d1", reloadable: true });
        execFileSync("sh", ["-n"], { input: script });
        assert.match(
            script,
            /if systemctl is-active -q bitrix-balancer\.service && \[ "\$\(cat \/etc\/bitrix-cluster\/balancer\.restart-digest 2>\/dev\/null\)" = d1 \]; then\n {4}systemctl reload/,
        );
    });

    it("refuses to start over a shared path the user has not mounted (sharedStorage external)", () => {
        const script = startScript("web-1", undefined, { restartDigest: "d", mounted: ["/var/www/html/upload"] });
        assert.match(script, /mountpoint -q '\/var\/www\/html\/upload' \|\| \{ echo "web-1: \/var\/www\/html\/upload is not a mount point/);
    });

    it("names mount units exactly as the real `systemd-escape --path --suffix=mount` does", (t) => {
        const paths = [
            "/var/www/html/upload",
            "/var/www/html/my-files",
            "/var/www/html/a b",
            "/var/www/html/.hidden",
            "/.a",
            "/a//b/",
            "/a/./b",
            "/",
            "/var/www/html/ünï",
            "/a/b\\c",
            "/a/b.c:d_e",
            "/a/x%y~z@w",
            "/a/-x",
        ];
        const real = (p: string) => execFileSync("systemd-escape", ["--path", "--suffix=mount", p], { encoding: "utf8" }).trim();
        try {
            real("/");
        } catch {
            t.skip("systemd-escape is not installed");
            return;
        }
        for (const p of paths) assert.equal(mountUnitName(p), real(p), p);
        // systemd refuses to escape a path with "..": so does the program.
        assert.throws(() => real("/a/../b"));
        assert.throws(() => mountUnitName("/a/../b"), /not a normalized/);
    });

    it("passes mount unit names to systemctl as single shell words (\\x2d survives the shell)", () => {
        const unit = mountUnitName("/var/www/html/my-files");
        const script = startScript("web-1", undefined, { restartDigest: "d", mounts: [unit] });
        const lines = script.split("\n").filter((l) => l.includes(".mount"));
        const out = execFileSync("sh", ["-c", `systemctl() { printf '%s\\n' "$*"; }\n${lines.join("\n")}`], { encoding: "utf8" });
        // (enable's output goes to /dev/null in the script)
        assert.equal(out, `start ${unit}\n`);
    });

    it("names mount units as systemd-escape does and writes soft NFS mounts", () => {
        assert.equal(mountUnitName("/var/www/html/upload"), "var-www-html-upload.mount");
        assert.equal(mountUnitName("/var/www/html/bitrix/cache"), "var-www-html-bitrix-cache.mount");
        assert.equal(mountUnitName("/var/www/html/my-files/"), "var-www-html-my\\x2dfiles.mount");
        const unit = mountUnit({ what: "10.0.0.5:/bitrix/upload", where: "/var/www/html/upload", type: "nfs4", options: "soft,timeo=50" });
        assert.match(unit, /^What=10\.0\.0\.5:\/bitrix\/upload$/m);
        assert.match(unit, /^Where=\/var\/www\/html\/upload$/m);
        assert.match(unit, /^Type=nfs4$/m);
        assert.match(unit, /^Options=soft,timeo=50$/m);
    });
});

describe("a service's file manifest", () => {
    it("records the files a service owns and removes, on the next start, those it no longer owns (only those)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bx-manifest-"));
        const at = (p: string) => path.join(dir, p);
        // The script as generated, with the records' directory moved into the temp dir.
        const runScript = (paths: string[]) => execFileSync("sh", ["-c", fileManifestScript("web-9", paths).split(HOST_ENV_DIR).join(dir)]);
        for (const f of ["a.conf", "b.conf", "other.conf", "it's.conf"]) fs.writeFileSync(at(f), "x");
        runScript([at("a.conf"), at("b.conf"), at("it's.conf")]);
        assert.equal(fs.readFileSync(at("web-9.files"), "utf8"), `${at("a.conf")}\n${at("b.conf")}\n${at("it's.conf")}\n`);
        runScript([at("a.conf")]);
        assert.deepEqual(fs.readdirSync(dir).sort(), ["a.conf", "other.conf", "web-9.files"]);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("removes the unit, its mount units, its files and its records on delete", () => {
        const script = removeServiceScript("web-2", [
            "/var/www/html/bitrix/.settings.php",
            "/etc/systemd/system/var-www-html-my\\x2dfiles.mount",
        ]);
        assert.match(script, /^systemctl disable --now bitrix-web-2\.service /m);
        assert.match(script, /^systemctl disable --now 'var-www-html-my\\x2dfiles\.mount' /m);
        assert.match(
            script,
            /^rm -f -- '\/var\/www\/html\/bitrix\/\.settings\.php' '\/etc\/systemd\/system\/var-www-html-my\\x2dfiles\.mount' '\/etc\/bitrix-cluster\/web-2\.restart-digest' '\/etc\/bitrix-cluster\/web-2\.files'$/m,
        );
    });
});
