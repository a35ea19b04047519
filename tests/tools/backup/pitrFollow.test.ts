import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import {
    FollowOptions,
    followSourceDirs,
    followStreamerScript,
    parseSourceIndex,
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
