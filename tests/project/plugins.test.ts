/**
 * scripts/plugins.sh: the archives it builds from match the versions the npm packages pin, and it stops with
 * instructions (never a half-built plugin) when a source is missing or not the archive it was written for.
 * Runs the script itself in throwaway PULUMI_HOME, cache and source folders; nothing is built or installed.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";

const ROOT = path.join(__dirname, "..", "..", "..");
const script = fs.readFileSync(path.join(ROOT, "scripts", "plugins.sh"), "utf8");
const npmVersion = (name: string) =>
    JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", "@pulumi", name, "package.json"), "utf8")).pulumi.version;

/** Runs plugins.sh --build-only with its own empty plugin home and cache, and the given source folder. */
function run(sources: string): { status: number | null; stderr: string } {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bx-plugins-"));
    const r = spawnSync("bash", [path.join(ROOT, "scripts", "plugins.sh"), "--build-only"], {
        encoding: "utf8",
        env: {
            ...process.env,
            PULUMI_HOME: path.join(tmp, "home"),
            BITRIX_TOOLCHAIN_CACHE: path.join(tmp, "cache"),
            BITRIX_PLUGIN_SOURCES: sources,
        },
    });
    fs.rmSync(tmp, { recursive: true, force: true });
    return { status: r.status, stderr: r.stderr };
}

describe("scripts/plugins.sh", () => {
    it("pins one archive and one SHA-256 per plugin, the command archive at the version npm asks for", () => {
        for (const name of ["command", "random", "docker"]) {
            assert.match(script, new RegExp(`^archive\\[${name}\\]=pulumi-${name}-[\\w.]+\\.tar\\.gz$`, "m"), name);
            assert.match(script, new RegExp(`^sha\\[${name}\\]=[0-9a-f]{64}$`, "m"), name);
        }
        assert.match(
            script,
            new RegExp(`^archive\\[command\\]=pulumi-command-v${npmVersion("command").replace(/\./g, "\\.")}\\.tar\\.gz$`, "m"),
        );
        assert.deepEqual(["docker", "random", "command"].map(npmVersion), ["5.2.0", "4.21.2", "1.2.1"]);
    });

    it("says how to get a plugin when neither it nor its source archive is there", () => {
        const r = run(fs.mkdtempSync(path.join(os.tmpdir(), "bx-no-sources-")));
        assert.equal(r.status, 1);
        assert.match(
            r.stderr,
            /no command 1\.2\.1 plugin is installed and its source archive .*pulumi-command-v1\.2\.1\.tar\.gz is not there/,
        );
        assert.match(r.stderr, /pulumi plugin install resource command 1\.2\.1$/m);
        assert.match(r.stderr, /BITRIX_PLUGIN_SOURCES/);
    });

    it("refuses an archive that is not the one it pins, before building anything", () => {
        const sources = fs.mkdtempSync(path.join(os.tmpdir(), "bx-bad-sources-"));
        fs.writeFileSync(path.join(sources, "pulumi-command-v1.2.1.tar.gz"), "not the release\n");
        const r = run(sources);
        assert.equal(r.status, 1);
        assert.match(
            r.stderr,
            /pulumi-command-v1\.2\.1\.tar\.gz: SHA-256 [0-9a-f]{64}, expected 802a8d32[0-9a-f]{56} \(not the archive this project was built against\)/,
        );
        assert.doesNotMatch(r.stderr, /building/);
    });
});
