import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { FollowOptions, followStreamerScript } from "../../../components/database/binlogStreamScript";

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
            [{ metricsFile: "relative.prom" }, /metrics file/],
            [{ metricsFile: "/var/lib/x/stream.txt" }, /metrics file/],
            [{ metricsFile: "/var/lib/x/a b.prom" }, /metrics file/],
            [{ metricsFile: "/var/lib/x/$(id).prom" }, /metrics file/],
        ];
        for (const [o, re] of bad) assert.throws(() => followStreamerScript({ ...OPTS, ...o }), re);
        assert.throws(() => followStreamerScript(OPTS, 0), /retry pause/);
        assert.throws(() => followStreamerScript(OPTS, 1, 1.5), /check interval/);
    });

    it("with a metrics file, measures the lag at every check and writes it by rename", () => {
        const s = followStreamerScript({ ...OPTS, metricsFile: "/var/lib/prometheus/node-exporter/bitrix-binlog-stream.prom" });
        execFileSync("bash", ["-n"], { input: s });
        assert.match(s, /^mf='\/var\/lib\/prometheus\/node-exporter\/bitrix-binlog-stream\.prom'$/m);
        assert.ok(s.includes(`} > "$mf.tmp" && chmod 0644 "$mf.tmp" && mv -f "$mf.tmp" "$mf" || log "cannot write $mf"`));
        // The time is taken before the queries; caught up = lag 0 at that check.
        assert.match(s, / {8}now=\$\(date \+%s\)\n {8}row=\$\(probe 2>\/dev\/null\) \|\| row=\n/);
        assert.match(
            s,
            /if behind=\$\(lag 2>\/dev\/null\); then\n {16}if \[ "\$behind" = 0 \]; then caught=\$now; fi\n {16}metrics 1 "\$behind"\n/,
        );
        // up 0 when no server is writable and after the streamer exits; the last caught-up time is read back at start.
        assert.equal(s.match(/^ +metrics 0$/gm)!.length, 2);
        assert.match(s, /^caught=\$\(sed -n 's\/\^bitrix_binlog_stream_last_caught_up_timestamp_seconds /m);
        // Only binlogs from the newest streamed one on count (older ones were streamed whole before it).
        assert.ok(s.includes('if [ -n "$last" ] && (( 10#${name##*.} < 10#${last##*.} )); then continue; fi'));
    });
});
