/**
 * The generated backup service and timer (tools/backup/schedule.ts) read by systemd's own tools: `systemd-analyze
 * verify` loads both units, and `systemd-analyze calendar` is what the schedule CLI asks before writing anything.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { backupServiceUnit, backupTimerUnit, unitName } from "../../tools/backup/schedule";
import { requireBinary, tmpDir } from "../helpers/daemons";

const PROJECT = path.join(__dirname, "..", "..", "..");

describe("backup schedule: the units in systemd 252's own checks", () => {
    it("passes systemd-analyze verify, and verify fails on a broken unit (the check can fail)", () => {
        const analyze = requireBinary("systemd-analyze");
        const dir = tmpDir("schedule");
        const input = { stack: "prod", projectDir: PROJECT, home: dir, onCalendar: "*-*-* 02:30" };
        const service = path.join(dir, `${unitName("prod")}.service`);
        const timer = path.join(dir, `${unitName("prod")}.timer`);
        fs.writeFileSync(service, backupServiceUnit(input));
        fs.writeFileSync(timer, backupTimerUnit(input));
        const ok = spawnSync(analyze, ["verify", service, timer], { encoding: "utf8" });
        assert.equal(ok.status, 0, ok.stdout + ok.stderr);
        assert.equal(ok.stderr.trim(), "", "no warnings");
        fs.writeFileSync(timer, backupTimerUnit(input).replace("OnCalendar=*-*-* 02:30", "OnCalendar=*-*-* 25:99"));
        const bad = spawnSync(analyze, ["verify", service, timer], { encoding: "utf8" });
        assert.notEqual(bad.status, 0);
        assert.match(bad.stderr, /Failed to parse calendar specification/);
    });

    it("the CLI writes nothing for an expression systemd refuses, and both units for one it accepts", () => {
        const dir = tmpDir("schedule-cli");
        // A root-only copy of the checkout (the CLI refuses one that others could change), whatever this clone's umask.
        const project = tmpDir("schedule-project");
        fs.chmodSync(project, 0o755);
        fs.cpSync(path.join(PROJECT, "build"), path.join(project, "build"), { recursive: true });
        // The checkout's dependencies, as in a real one (the CLI reads the key table, which loads ipaddr.js).
        fs.symlinkSync(path.join(PROJECT, "node_modules"), path.join(project, "node_modules"));
        fs.mkdirSync(path.join(project, "scripts"), { mode: 0o755 });
        fs.chmodSync(path.join(project, "scripts"), 0o755);
        fs.copyFileSync(path.join(PROJECT, "scripts", "backup.sh"), path.join(project, "scripts", "backup.sh"));
        fs.chmodSync(path.join(project, "scripts", "backup.sh"), 0o755);
        const cli = path.join(project, "build", "tools", "backup-schedule-cli.js");
        const refused = spawnSync("node", [cli, "--stack", "prod", "--on-calendar", "every tuesday", "--dir", dir], { encoding: "utf8" });
        assert.equal(refused.status, 1);
        assert.match(refused.stderr, /systemd-analyze calendar refused "every tuesday"/);
        assert.deepEqual(fs.readdirSync(dir), []);
        const r = spawnSync("node", [cli, "--stack", "prod", "--on-calendar", "Sun *-*-* 03:00", "--method", "physical", "--dir", dir], {
            encoding: "utf8",
        });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(fs.readdirSync(dir).sort(), ["bitrix-cluster-backup-prod.service", "bitrix-cluster-backup-prod.timer"]);
        assert.match(fs.readFileSync(path.join(dir, "bitrix-cluster-backup-prod.timer"), "utf8"), /^OnCalendar=Sun \*-\*-\* 03:00$/m);
        assert.match(
            fs.readFileSync(path.join(dir, "bitrix-cluster-backup-prod.service"), "utf8"),
            new RegExp(`^WorkingDirectory=${project}$`, "m"),
        );
        // Made group-writable, the same checkout is refused, and nothing is written.
        fs.chmodSync(path.join(project, "scripts"), 0o775);
        const open = tmpDir("schedule-cli-open");
        const refusedOpen = spawnSync("node", [cli, "--stack", "prod", "--dir", open], { encoding: "utf8" });
        assert.equal(refusedOpen.status, 1);
        assert.match(refusedOpen.stderr, /scripts must be owned by root and not writable by group or others/);
        assert.deepEqual(fs.readdirSync(open), []);
    });
});
