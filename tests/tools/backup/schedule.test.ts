import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { KEYS } from "../../../components/config/keys";
import { backupServiceUnit, backupTimerUnit, checkRootOnly, DEFAULT_ON_CALENDAR, unitName } from "../../../tools/backup/schedule";

const INPUT = { stack: "prod", projectDir: "/opt/bitrix-cluster", home: "/root/.bitrix-cluster" };

describe("backup schedule: systemd service and timer", () => {
    it("runs the project's backup script for the stack, as a oneshot, after Docker, with the stack's home", () => {
        const s = backupServiceUnit({ ...INPUT, method: "physical" });
        assert.match(s, /^Type=oneshot$/m);
        assert.match(s, /^After=network-online.target docker.service$/m);
        assert.match(s, /^Environment=BITRIX_CLUSTER_HOME=\/root\/.bitrix-cluster$/m);
        assert.match(s, /^EnvironmentFile=-\/etc\/bitrix-cluster\/backup-prod.env$/m);
        assert.match(s, /^WorkingDirectory=\/opt\/bitrix-cluster$/m);
        assert.match(s, /^ExecStart=\/bin\/bash \/opt\/bitrix-cluster\/scripts\/backup.sh backup --stack prod --method physical$/m);
    });

    it("leaves the method to the stack's backupMethod, read at each run, when none is given", () => {
        assert.match(backupServiceUnit(INPUT), /^ExecStart=\/bin\/bash \/opt\/bitrix-cluster\/scripts\/backup.sh backup --stack prod$/m);
        assert.equal(KEYS.backupMethod.default, "logical");
        assert.equal(KEYS.backupMethod.allowed("physical"), undefined);
        assert.match(KEYS.backupMethod.allowed("snapshot") ?? "", /one of "logical", "physical"/);
    });

    it("takes its calendar from the stack's backupOnCalendar, whose check refuses what the unit check refuses", () => {
        assert.equal(KEYS.backupOnCalendar.default, DEFAULT_ON_CALENDAR);
        for (const ok of ["*-*-* 02:30", "Mon..Sat 01:00", "daily", "*-*-* 00/6:00"]) {
            assert.equal(KEYS.backupOnCalendar.allowed(ok), undefined, ok);
            assert.match(backupTimerUnit({ ...INPUT, onCalendar: ok }), /^OnCalendar=/m);
        }
        for (const bad of ["daily\nExecStart=/bin/sh", "", "02:30; reboot", "x".repeat(101)]) {
            assert.match(KEYS.backupOnCalendar.allowed(bad) ?? "", /calendar expression/, bad);
            assert.throws(() => backupTimerUnit({ ...INPUT, onCalendar: bad }), /calendar expression|OnCalendar/);
        }
    });

    it("fires daily at 02:30 by default, catches up a missed run, spreads the start", () => {
        const t = backupTimerUnit(INPUT);
        assert.match(t, /^OnCalendar=\*-\*-\* 02:30$/m);
        assert.match(t, /^Persistent=true$/m);
        assert.match(t, /^RandomizedDelaySec=600$/m);
        assert.match(t, /^Unit=bitrix-cluster-backup-prod.service$/m);
        assert.match(t, /^WantedBy=timers.target$/m);
        assert.match(backupTimerUnit({ ...INPUT, onCalendar: "Mon..Fri *-*-* 01:00" }), /^OnCalendar=Mon\.\.Fri \*-\*-\* 01:00$/m);
    });

    it("refuses what would break or escape a unit-file line: names, paths, calendar, delay", () => {
        assert.throws(() => unitName("prod;rm"), /not a stack name/);
        assert.throws(() => backupServiceUnit({ ...INPUT, projectDir: "relative/dir" }), /absolute path/);
        assert.throws(() => backupServiceUnit({ ...INPUT, projectDir: "/opt/my project" }), /absolute path of letters/);
        assert.throws(() => backupServiceUnit({ ...INPUT, home: "/root/%h" }), /absolute path of letters/);
        assert.throws(
            () => backupTimerUnit({ ...INPUT, onCalendar: "daily\nExecStart=/bin/sh" }),
            /characters a calendar expression does not use/,
        );
        assert.throws(() => backupTimerUnit({ ...INPUT, randomizedDelayS: -1 }), /0 to 86400/);
        assert.throws(() => backupServiceUnit({ ...INPUT, method: "snapshot" as never }), /--method/);
    });

    it("refuses to schedule a checkout that anyone but root could change (the service runs it as root)", () => {
        const modes: Record<string, { uid: number; mode: number }> = {
            "/opt/ok": { uid: 0, mode: 0o40755 },
            "/opt/group-writable": { uid: 0, mode: 0o40775 },
            "/opt/others-writable": { uid: 0, mode: 0o100646 },
            "/opt/deploys": { uid: 1000, mode: 0o40755 },
        };
        const stat = (p: string) => modes[p];
        assert.doesNotThrow(() => checkRootOnly(["/opt/ok"], stat));
        for (const p of ["/opt/group-writable", "/opt/others-writable", "/opt/deploys"])
            assert.throws(
                () => checkRootOnly(["/opt/ok", p], stat),
                new RegExp(`${p} must be owned by root and not writable by group or others`),
            );
    });
});
