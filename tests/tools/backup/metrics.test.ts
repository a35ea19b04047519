import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { labelValue, runMetricFiles } from "../../../tools/backup/metrics";

const AT = new Date("2026-12-03T06:00:00Z");

describe("backup metrics for the textfile collector", () => {
    it("writes the attempt and, on success, the success file with time, duration and size", () => {
        const files = runMetricFiles({
            kind: "backup",
            stack: "prod",
            method: "physical",
            success: true,
            at: AT,
            seconds: 14.2567,
            bytes: 1234,
        });
        assert.deepEqual(Object.keys(files).sort(), ["bitrix-backup-attempt.prom", "bitrix-backup-success.prom"]);
        assert.match(files["bitrix-backup-attempt.prom"], /^bitrix_backup_last_attempt_timestamp_seconds\{stack="prod"\} 1796277600$/m);
        assert.match(files["bitrix-backup-attempt.prom"], /^bitrix_backup_last_attempt_success\{stack="prod"\} 1$/m);
        const ok = files["bitrix-backup-success.prom"];
        assert.match(ok, /^# TYPE bitrix_backup_last_success_timestamp_seconds gauge$/m);
        assert.match(ok, /^bitrix_backup_last_success_timestamp_seconds\{stack="prod",method="physical"\} 1796277600$/m);
        assert.match(ok, /^bitrix_backup_last_duration_seconds\{stack="prod",method="physical"\} 14.257$/m);
        assert.match(ok, /^bitrix_backup_last_size_bytes\{stack="prod",method="physical"\} 1234$/m);
    });

    it("a failure writes only the attempt, so the last success's time survives it", () => {
        const files = runMetricFiles({ kind: "restore", stack: "prod", method: "unknown", success: false, at: AT, seconds: 3 });
        assert.deepEqual(Object.keys(files), ["bitrix-restore-attempt.prom"]);
        assert.match(files["bitrix-restore-attempt.prom"], /^bitrix_restore_last_attempt_success\{stack="prod"\} 0$/m);
    });

    it("escapes label values by the text format's rules and refuses a nonsense duration", () => {
        assert.equal(labelValue('a"b\\c\nd'), '"a\\"b\\\\c\\nd"');
        assert.throws(
            () => runMetricFiles({ kind: "backup", stack: "x", method: "logical", success: true, at: AT, seconds: NaN }),
            /finite/,
        );
    });
});
