/**
 * scripts/backup.sh lets one backup, restore or clone run per stack: the second is refused at once, before it builds
 * or touches anything. The lock is flock(1) on a file in BITRIX_CLUSTER_HOME, held by the tool's open descriptor.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";

const SCRIPT = path.join(__dirname, "..", "..", "..", "scripts", "backup.sh");

describe("scripts/backup.sh: one run per stack", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "bx-lockhome-"));
    const env = { ...process.env, BITRIX_CLUSTER_HOME: home };
    const run = (args: string[]) => spawnSync("bash", [SCRIPT, ...args], { env, encoding: "utf8", timeout: 20_000 });

    it("refuses a second backup, restore or clone of a stack while one runs, naming the lock", async () => {
        fs.mkdirSync(path.join(home, "locks"), { recursive: true });
        const lock = path.join(home, "locks", "prod.lock");
        const holder = spawn("flock", [lock, "sleep", "30"], { stdio: "ignore" });
        try {
            // flock(1) takes the lock before it runs sleep: wait until a non-blocking attempt fails.
            for (let i = 0; i < 100 && spawnSync("flock", ["-n", lock, "true"]).status === 0; i++)
                await new Promise((r) => setTimeout(r, 50));
            for (const args of [
                ["backup", "--stack", "prod"],
                ["restore", "--stack", "prod", "--snapshot", "latest"],
                ["clone", "--from", "other", "--to", "prod"],
            ]) {
                const r = run(args);
                assert.equal(r.status, 3, `${args.join(" ")}: ${r.stderr}`);
                assert.match(
                    r.stderr,
                    new RegExp(`another backup, restore or clone of stack prod is running \\(lock ${lock.replace(/[.]/g, "\\.")}\\)`),
                );
                assert.doesNotMatch(r.stdout + r.stderr, /tsc|toolchain/, "refused before building anything");
            }
        } finally {
            holder.kill();
        }
    });

    it("refuses a stack name that is not one before using it in a path", () => {
        const r = run(["backup", "--stack", "../../etc/x"]);
        assert.equal(r.status, 2);
        assert.match(r.stderr, /'\.\.\/\.\.\/etc\/x' is not a stack name/);
        assert.equal(fs.existsSync(path.join(home, "etc")), false);
    });
});
