import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { GTID_SEQ_FILTER, parseTarget } from "../../../tools/backup/pitr";
import { SourceIndex } from "../../../tools/backup/pitrFollow";
import { followReplayPlan } from "../../../tools/backup/pitrFollowReplay";

/** A source whose transactions are stamped one second apart from `at`. */
const src = (name: string, start: string, gtids: string[], at = 1000): SourceIndex => ({
    name,
    files: ["binlog.000001", "binlog.000002"],
    start,
    gtids: gtids.map((gtid, i) => ({ gtid, at: at + i })),
});
const seq = (server: number, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `0-${server}-${from + i}`);
// The daemon test's history: server 1 to 0-1-19, server 2's binlog from 0-1-14 (it repeats 0-1-15..19) on to 0-2-24,
// server 2 again after RESET MASTER with gtid_binlog_state 0-2-24.
const S1 = src("1-20261203T083144Z", "", seq(1, 1, 19));
const S2 = src("2-20261203T083149Z", "0-1-14", [...seq(1, 15, 19), ...seq(2, 20, 24)], 1014);
const S3 = src("2-20261203T083151Z", "0-2-24", seq(2, 25, 29), 1024);

describe("pitr follow: replay plan", () => {
    it("chains the sources: each GTID once, in order, from the base", () => {
        const plan = followReplayPlan({ startGtid: "0-1-9", binlogDir: "/srv/p/", sources: [S3, S1, S2] });
        assert.deepEqual(plan.segments, [
            { source: S1.name, start: "0-1-9", stop: "0-1-19", count: 10 },
            { source: S2.name, start: "0-1-19", stop: "0-2-24", count: 5 },
            { source: S3.name, start: "0-2-24", stop: "0-2-29", count: 5 },
        ]);
        assert.deepEqual(plan.readers[1], [
            "mariadb-binlog",
            "--start-position=0-1-19",
            "--stop-position=0-2-24",
            `/srv/p/${S2.name}/binlog.000001`,
            `/srv/p/${S2.name}/binlog.000002`,
        ]);
        assert.equal(plan.last, "0-2-29");
        assert.equal(plan.reached, true);
        assert.deepEqual(plan.dropped, []);
        const f = GTID_SEQ_FILTER.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
        assert.equal(
            plan.script(["--socket", "/run/mysqld/mysqld.sock"]),
            [
                "set -euo pipefail",
                "{",
                ...plan.readers.map((r) => `    TZ=UTC ${r.map((a) => `'${a}'`).join(" ")}`),
                `} | ${f} | 'mariadb' '--binary-mode' '--sandbox' '--socket' '/run/mysqld/mysqld.sock'`,
                "",
            ].join("\n"),
        );
        execFileSync("bash", ["-n"], { input: plan.script() });
    });

    it("takes the source that reaches furthest: a new master's binlog that repeats the old one's covers both", () => {
        const whole = src("2-20261203T083149Z", "", [...seq(1, 1, 19), ...seq(2, 20, 24)]);
        const plan = followReplayPlan({ startGtid: "0-1-9", binlogDir: "/p", sources: [S1, whole] });
        assert.deepEqual(plan.segments, [{ source: whole.name, start: "0-1-9", stop: "0-2-24", count: 15 }]);
    });

    it("leaves out an old master's commits that the new master never got, and says which", () => {
        const old = src("1-20261203T083144Z", "", [...seq(1, 1, 15), "0-1-16", "0-1-17"]);
        const promoted = src("2-20261203T083149Z", "", [...seq(1, 1, 15), ...seq(2, 16, 20)]);
        const plan = followReplayPlan({ startGtid: "0-1-9", binlogDir: "/p", sources: [old, promoted] });
        assert.deepEqual(plan.segments, [{ source: promoted.name, start: "0-1-9", stop: "0-2-20", count: 11 }]);
        assert.deepEqual(plan.dropped, ["0-1-16", "0-1-17"]);
        assert.throws(
            () =>
                followReplayPlan({
                    startGtid: "0-1-9",
                    target: { kind: "gtid", gtid: "0-1-16" },
                    binlogDir: "/p",
                    sources: [old, promoted],
                }),
            /0-1-16 is not in the recovered history \(0-2-16 has that sequence number\); it is on a branch the history left/,
        );
        const even = src("2-20261203T083149Z", "", [...seq(1, 1, 15), ...seq(2, 16, 17)]);
        assert.throws(
            () => followReplayPlan({ startGtid: "0-1-9", binlogDir: "/p", sources: [old, even] }),
            /two histories of equal length/,
        );
    });

    it("to a GTID (inclusive), a time (exclusive) or past the end", () => {
        const input = { startGtid: "0-1-9", binlogDir: "/p", sources: [S1, S2, S3] };
        const toB = followReplayPlan({ ...input, target: parseTarget("mariadb", "--to-gtid", "0-2-22") });
        assert.deepEqual(
            toB.segments.map((s) => [s.source, s.stop, s.count]),
            [
                [S1.name, "0-1-19", 10],
                [S2.name, "0-2-22", 3],
            ],
        );
        // 0-2-20 is stamped 1019 (1970-01-01 00:16:59): a target of that second stops before it.
        const toTime = followReplayPlan({ ...input, target: parseTarget("mariadb", "--to", "1970-01-01 00:16:59") });
        assert.equal(toTime.last, "0-1-19");
        assert.equal(toTime.reached, true);
        const past = followReplayPlan({ ...input, target: parseTarget("mariadb", "--to-gtid", "0-2-99") });
        assert.equal(past.last, "0-2-29");
        assert.equal(past.reached, false);
        assert.equal(followReplayPlan({ ...input, target: parseTarget("mariadb", "--to", "2030-01-01 00:00:00") }).reached, false);
        const none = followReplayPlan({ ...input, target: { kind: "gtid", gtid: "0-1-9" } });
        assert.deepEqual([none.segments, none.last, none.reached], [[], "0-1-9", true]);
        assert.match(none.script(), /Nothing to replay/);
    });

    it("refuses a target before the base, a gap before the base, other domains and foreign directories", () => {
        const input = { startGtid: "0-1-9", binlogDir: "/p", sources: [S1, S2, S3] };
        assert.throws(() => followReplayPlan({ ...input, target: { kind: "gtid", gtid: "0-1-5" } }), /before the base backup's position/);
        assert.throws(
            () => followReplayPlan({ ...input, target: parseTarget("mariadb", "--to", "1970-01-01 00:16:48") }),
            /not after the base/,
        );
        assert.throws(() => followReplayPlan({ ...input, sources: [S2, S3] }), /do not reach back to it/);
        assert.throws(() => followReplayPlan({ ...input, startGtid: "0-1-9,1-1-3" }), /not a MariaDB GTID/);
        assert.throws(() => followReplayPlan({ ...input, sources: [src(S1.name, "", ["1-1-10"])] }), /outside domain 0: one domain only/);
        assert.throws(() => followReplayPlan({ ...input, sources: [{ ...S1, name: "../etc" }] }), /not a streamed source directory/);
        assert.throws(() => followReplayPlan({ ...input, binlogDir: "p" }), /absolute path/);
    });
});
