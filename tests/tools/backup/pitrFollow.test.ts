import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { GTID_SEQ_FILTER, parseTarget } from "../../../tools/backup/pitr";
import {
    FollowOptions,
    followReplayPlan,
    followSourceDirs,
    followStreamerScript,
    parseSourceIndex,
    SourceIndex,
    sourceFiles,
    sourceIndexScript,
} from "../../../tools/backup/pitrFollow";

const OPTS: FollowOptions = {
    servers: [
        { host: "10.0.0.5", port: 3306 },
        { host: "db-2.internal", port: 3307 },
    ],
    user: "replicator",
    optionFile: "/etc/bitrix-pitr/streamer.cnf",
    dir: "/srv/pitr/binlogs/",
    serverId: 9001,
};

describe("pitr follow: streamer supervisor", () => {
    const script = followStreamerScript(OPTS);

    it("is valid bash that asks every server in order, with the option file and nothing else", () => {
        execFileSync("bash", ["-n"], { input: script });
        assert.match(script, /^dir='\/srv\/pitr\/binlogs'\nopt='\/etc\/bitrix-pitr\/streamer\.cnf'\nuser='replicator'\n/m);
        assert.match(script, /^hosts=\('10\.0\.0\.5' 'db-2\.internal'\)\nports=\(3306 3307\)\n/m);
        assert.ok(
            script.includes(
                `probe() { mariadb --defaults-file="$opt" --host="$host" --port="$port" --user="$user" --connect-timeout=3 -N -B -e 'SELECT @@global.read_only, @@global.server_id'; }`,
            ),
        );
        // The first server that answers read_only = 0 with a numeric server id; the others are skipped.
        assert.ok(
            script.includes(`if row=$(host=\${hosts[$i]} port=\${ports[$i]} probe 2>/dev/null) && [[ $row =~ ^0$'\\t'[0-9]+$ ]]; then`),
        );
        assert.ok(!/pass/i.test(script.replace(/--defaults-file/g, "")));
    });

    it("resumes a server's newest subdirectory only if its newest file is still the start of the server's", () => {
        assert.ok(script.includes(`prev=$(find "$dir" -mindepth 1 -maxdepth 1 -type d -name "$sid-*" -printf '%f\\n' | sort | tail -n 1)`));
        assert.ok(
            script.includes(
                `if mariadb-binlog --defaults-file="$opt" --host="$host" --port="$port" --user="$user" --read-from-remote-server --raw --result-file="$dir/.check/" "$last" 2>/dev/null &&\n` +
                    `                cmp -s -n "$(stat -c %s "$dir/$prev/$last")" "$dir/$prev/$last" "$dir/.check/$last"; then\n` +
                    "                sub=$dir/$prev start=$last\n",
            ),
        );
        // Otherwise a new subdirectory, never an existing one, streamed from the oldest binlog (an empty file name).
        assert.ok(script.includes(`sub=$dir/$sid-$(date -u +%Y%m%dT%H%M%SZ)\n        mkdir "$sub" 2>/dev/null || { sub=; sleep 1; }`));
        assert.ok(
            script.includes(
                `mariadb-binlog --defaults-file="$opt" --host="$host" --port="$port" --user="$user" --read-from-remote-server --raw --stop-never --stop-never-slave-server-id=9001 --result-file="$sub/" "$start" &\n`,
            ),
        );
    });

    it("stops the streamer once its server is read-only, at the check interval", () => {
        const s = followStreamerScript(OPTS, 3, 5);
        assert.match(s, /sleep 5 & wait \$! \|\| true\n {8}kill -0 "\$child" 2>\/dev\/null \|\| break\n/);
        assert.match(s, /if \[ -n "\$row" \] && \[ "\$\{row%%\$'\\t'\*\}" != 0 \]; then\n[^\n]*read-only now[^\n]*\n {12}kill "\$child"/);
        assert.match(s, /next attempt in 3 s"\n {4}sleep 3\ndone\n$/);
    });

    it("refuses values that would change the commands", () => {
        const bad: [Partial<FollowOptions>, RegExp][] = [
            [{ servers: [] }, /at least one/],
            [{ servers: [{ host: "-h evil", port: 1 }] }, /invalid server host/],
            [{ servers: [{ host: "a", port: 70000 }] }, /invalid server port/],
            [{ user: "a b" }, /invalid streamer user/],
            [{ dir: "rel" }, /absolute path/],
            [{ optionFile: "/a\nb" }, /absolute path/],
            [{ serverId: 0 }, /server id/],
        ];
        for (const [o, re] of bad) assert.throws(() => followStreamerScript({ ...OPTS, ...o }), re);
        assert.throws(() => followStreamerScript(OPTS, 0), /retry pause/);
        assert.throws(() => followStreamerScript(OPTS, 1, 1.5), /check interval/);
    });
});

describe("pitr follow: sources and their index", () => {
    it("lists source subdirectories by first-seen time, and binlog files by number", () => {
        assert.deepEqual(followSourceDirs(["2-20261203T083151Z", ".check", "1-20261203T083144Z", "2-20261203T083149Z", "notes", "x-1"]), [
            "1-20261203T083144Z",
            "2-20261203T083149Z",
            "2-20261203T083151Z",
        ]);
        assert.deepEqual(sourceFiles(["binlog.000010", "binlog.index", "binlog.000009", "binlog.1000000"]), [
            "binlog.000009",
            "binlog.000010",
            "binlog.1000000",
        ]);
    });

    it("indexes a source with mariadb-binlog in UTC, keeping the GTID and Gtid list lines", () => {
        assert.equal(
            sourceIndexScript("/srv/p/2-20261203T083149Z/", ["binlog.000002", "binlog.000001"]),
            "set -euo pipefail\nTZ=UTC mariadb-binlog '/srv/p/2-20261203T083149Z/binlog.000001' '/srv/p/2-20261203T083149Z/binlog.000002' | " +
                "{ grep -E '^#[0-9]{6} .*\t(GTID [0-9]|Gtid list )' || true; }\n",
        );
        assert.throws(() => sourceIndexScript("rel", ["binlog.000001"]), /absolute path/);
        assert.throws(() => sourceIndexScript("/s", ["binlog.index"]), /not binlog files/);
    });

    it("parses the GTIDs with their UTC timestamps and the first Gtid list (output of mariadb-binlog 10.11)", () => {
        const out = [
            "#261203  8:24:38 server id 2  end_log_pos 299 CRC32 0xc3c08a10 \tGtid list [0-2-11]",
            "#261203  8:24:35 server id 1  end_log_pos 797 CRC32 0x54cc6043 \tGTID 0-1-10 cid=26 trans",
            "#261203 18:04:05 server id 2  end_log_pos 1239 CRC32 0x87bab664 \tGTID 0-2-12 trans",
            "#261203 18:04:05 server id 2  end_log_pos 1239 CRC32 0x87bab664 \tGtid list [0-2-12]",
            "#261203 18:04:06 server id 1  end_log_pos 367 CRC32 0x39b27824 \tGTID 0-1-13 ddl",
            "",
        ].join("\n");
        assert.deepEqual(parseSourceIndex("2-20261203T082400Z", ["binlog.000002", "binlog.000001"], out), {
            name: "2-20261203T082400Z",
            files: ["binlog.000001", "binlog.000002"],
            start: "0-2-11",
            gtids: [
                { gtid: "0-1-10", at: Date.UTC(2026, 11, 3, 8, 24, 35) / 1000 },
                { gtid: "0-2-12", at: Date.UTC(2026, 11, 3, 18, 4, 5) / 1000 },
                { gtid: "0-1-13", at: Date.UTC(2026, 11, 3, 18, 4, 6) / 1000 },
            ],
        });
        assert.equal(
            parseSourceIndex(
                "1-20261203T082400Z",
                ["binlog.000001"],
                "#261203  8:23:50 server id 1  end_log_pos 285 CRC32 0x4a70945d \tGtid list []\n",
            ).start,
            "",
        );
        assert.throws(() => parseSourceIndex("1-20261203T082400Z", ["binlog.000001"], ""), /no Gtid list event/);
    });
});

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
                `} | ${f} | 'mariadb' '--binary-mode' '--socket' '/run/mysqld/mysqld.sock'`,
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
