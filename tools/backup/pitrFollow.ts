/**
 * Point-in-time recovery across failovers (MariaDB 10.11, pure, unit-tested): a streamer supervisor that follows
 * whichever database server is writable, one subdirectory per binlog sequence it copies, and the index of those
 * subdirectories that tools/backup/pitrFollowReplay.ts chains into one replay (each GTID once, in order).
 *
 * Every MariaDB behaviour relied on here was tried against Debian's mariadbd/mariadb-binlog 10.11 in
 * tests/daemons/pitrFollow.test.ts:
 * - `SELECT @@global.read_only, @@global.server_id` needs no privilege (the replication user reads it).
 * - `mariadb-binlog --read-from-remote-server --stop-never ''` (an empty file name) starts at the server's oldest
 *   binlog; the replication user cannot run SHOW BINARY LOGS (it needs BINLOG MONITOR).
 * - A replica with log_slave_updates (components/database/serverConfig.ts sets it) writes what it applies under the
 *   original GTID and timestamp, so the new master's binlog repeats the old master's transactions.
 * - RESET MASTER starts again at binlog.000001 with other content; a streamer connected at that moment exits
 *   ("could not find next log"). Fetching a file the server no longer has fails.
 * - `mariadb-binlog --start-position=<GTID>` (exclusive) / `--stop-position=<GTID>` (inclusive) work across server
 *   ids of one domain, and fail ("never reached expected GTID state") when the files do not contain the start.
 *
 * Percona (mysqlbinlog) is not handled here: its GTIDs carry the source's UUID, not a shared sequence.
 */
import { shellQuote } from "../../components/shared/shell";
import { checkStreamerInputs } from "./pitr";

/** One database server the streamer may read from. */
export interface FollowServer {
    host: string;
    port: number;
}

/** Where and as whom the following streamer reads. */
export interface FollowOptions {
    /** Every database server of the cluster; each attempt streams from the first writable one (read_only = 0). */
    servers: FollowServer[];
    /** A login with REPLICATION SLAVE (the replication user); it also reads read_only and server_id. */
    user: string;
    /** 0600 option file with the password (`streamerOptionFile`), read with --defaults-file by both clients. */
    optionFile: string;
    /** Absolute directory; each binlog sequence goes to its own `<server_id>-<UTC time first seen>` subdirectory. */
    dir: string;
    /** The server id the streamer reports; unique among the servers' replicas and streamers. */
    serverId: number;
}

/** A streamed source's subdirectory: the server's id and when the streamer first saw that binlog sequence. */
export const SOURCE_DIR = /^(\d{1,10})-(\d{8}T\d{6}Z)$/;
const BINLOG_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*\.(\d{6,})$/;

function checkFollow(o: FollowOptions): void {
    if (o.servers.length === 0) throw new Error("pitr: the streamer needs at least one database server");
    checkStreamerInputs(o, "server");
}

/**
 * The supervisor (bash) of a streamer that follows failovers. Each attempt:
 * 1. asks every server in turn `SELECT @@global.read_only, @@global.server_id` (the `mariadb` client with the option
 *    file as --defaults-file, a 3 s connect timeout; a server that does not answer is skipped) and takes the first
 *    with read_only = 0;
 * 2. picks the subdirectory: that server's newest `<server_id>-<time>` one if its newest file is still the start of
 *    the server's file of that name (fetched again into `<dir>/.check` and compared with `cmp -n`), so the stream
 *    resumes there from that file's start; otherwise (first time, a RESET MASTER, a binlog truncated or purged) a new
 *    subdirectory, streamed from the server's oldest binlog. A new binlog sequence therefore never overwrites a file
 *    already streamed;
 * 3. runs `mariadb-binlog --raw --stop-never` into it, and every `checkSeconds` asks the server again: once it is no
 *    longer writable (a failover made it read-only) the streamer is stopped and the next attempt picks the new one.
 *
 * Costs: a resume fetches the newest file twice (check, then stream), at most 2 × max_binlog_size; a new sequence
 * copies all the binlogs the server still has (expire_logs_days).
 * @param retrySeconds Pause after the streamer exits or when no server is writable. @default 2
 * @param checkSeconds Interval of the read_only check while streaming. @default 2
 */
export function followStreamerScript(opts: FollowOptions, retrySeconds = 2, checkSeconds = 2): string {
    checkFollow(opts);
    for (const [what, n] of [
        ["retry pause", retrySeconds],
        ["check interval", checkSeconds],
    ] as const)
        if (!Number.isInteger(n) || n < 1) throw new Error(`pitr: ${what} must be a whole number of seconds ≥ 1`);
    const q = shellQuote;
    const conn = `--defaults-file="$opt" --host="$host" --port="$port" --user="$user"`;
    return [
        "#!/usr/bin/env bash",
        `# Live copy of the binary log of whichever of ${opts.servers.length} server(s) is writable, into one subdirectory per`,
        "# binlog sequence of <dir>; generated by tools/backup/pitrFollow.ts.",
        "set -euo pipefail",
        `dir=${q(opts.dir.replace(/\/+$/, ""))}`,
        `opt=${q(opts.optionFile)}`,
        `user=${q(opts.user)}`,
        `hosts=(${opts.servers.map((s) => q(s.host)).join(" ")})`,
        `ports=(${opts.servers.map((s) => String(s.port)).join(" ")})`,
        'mkdir -p "$dir"',
        "child=",
        'trap \'[ -n "$child" ] && kill "$child" 2>/dev/null; exit 0\' TERM INT',
        'log() { echo "pitr-streamer: $*" >&2; }',
        "# read_only and server_id of one server, tab-separated; fails when it does not answer.",
        `probe() { mariadb ${conn} --connect-timeout=3 -N -B -e 'SELECT @@global.read_only, @@global.server_id'; }`,
        "# The newest streamed binlog file of a subdirectory.",
        "newest() { find \"$1\" -maxdepth 1 -type f -regextype posix-extended -regex '.*/[A-Za-z0-9_-][A-Za-z0-9._-]*\\.[0-9]{6,}' -printf '%f\\n' | sort -V | tail -n 1; }",
        "while :; do",
        "    host= port= sid=",
        '    for i in "${!hosts[@]}"; do',
        "        if row=$(host=${hosts[$i]} port=${ports[$i]} probe 2>/dev/null) && [[ $row =~ ^0$'\\t'[0-9]+$ ]]; then",
        "            host=${hosts[$i]} port=${ports[$i]} sid=${row##*$'\\t'}",
        "            break",
        "        fi",
        "    done",
        '    if [ -z "$sid" ]; then',
        `        log "no writable server answers; retrying in ${retrySeconds} s"`,
        `        sleep ${retrySeconds}`,
        "        continue",
        "    fi",
        "    sub= start=",
        '    prev=$(find "$dir" -mindepth 1 -maxdepth 1 -type d -name "$sid-*" -printf \'%f\\n\' | sort | tail -n 1)',
        '    if [ -n "$prev" ]; then',
        '        last=$(newest "$dir/$prev")',
        '        if [ -z "$last" ]; then',
        "            sub=$dir/$prev",
        "        else",
        '            rm -rf "$dir/.check" && mkdir "$dir/.check"',
        `            if mariadb-binlog ${conn} --read-from-remote-server --raw --result-file="$dir/.check/" "$last" 2>/dev/null &&`,
        '                cmp -s -n "$(stat -c %s "$dir/$prev/$last")" "$dir/$prev/$last" "$dir/.check/$last"; then',
        "                sub=$dir/$prev start=$last",
        "            else",
        '                log "$host:$port (server $sid) no longer has $prev/$last as streamed: a new binlog sequence"',
        "            fi",
        '            rm -rf "$dir/.check"',
        "        fi",
        "    fi",
        '    while [ -z "$sub" ]; do',
        "        sub=$dir/$sid-$(date -u +%Y%m%dT%H%M%SZ)",
        '        mkdir "$sub" 2>/dev/null || { sub=; sleep 1; }',
        "    done",
        '    log "streaming $host:$port (server $sid) into ${sub##*/} from ${start:-its oldest binlog}"',
        `    mariadb-binlog ${conn} --read-from-remote-server --raw --stop-never --stop-never-slave-server-id=${opts.serverId} --result-file="$sub/" "$start" &`,
        "    child=$!",
        '    while kill -0 "$child" 2>/dev/null; do',
        `        sleep ${checkSeconds} & wait $! || true`,
        '        kill -0 "$child" 2>/dev/null || break',
        "        row=$(probe 2>/dev/null) || row=",
        '        if [ -n "$row" ] && [ "${row%%$\'\\t\'*}" != 0 ]; then',
        '            log "$host:$port is read-only now: stopping the streamer to look for the writable server"',
        '            kill "$child" 2>/dev/null || true',
        "        fi",
        "    done",
        '    if wait "$child"; then status=0; else status=$?; fi',
        "    child=",
        `    log "mariadb-binlog exited with status $status; next attempt in ${retrySeconds} s"`,
        `    sleep ${retrySeconds}`,
        "done",
        "",
    ].join("\n");
}

/** Streamed source subdirectories among the names in the streamer's directory, oldest first (by first-seen time). */
export function followSourceDirs(names: string[]): string[] {
    return names
        .map((n) => ({ n, m: SOURCE_DIR.exec(n) }))
        .filter((s): s is { n: string; m: RegExpExecArray } => !!s.m)
        .sort((a, b) => (a.m[2] < b.m[2] ? -1 : a.m[2] > b.m[2] ? 1 : Number(a.m[1]) - Number(b.m[1])))
        .map((s) => s.n);
}

/** Binlog files of one source, in order (by number). */
export function sourceFiles(names: string[]): string[] {
    return names
        .map((n) => ({ n, m: BINLOG_NAME.exec(n) }))
        .filter((f): f is { n: string; m: RegExpExecArray } => !!f.m)
        .sort((a, b) => (BigInt(a.m[1]) < BigInt(b.m[1]) ? -1 : BigInt(a.m[1]) > BigInt(b.m[1]) ? 1 : 0))
        .map((f) => f.n);
}

/** One streamed source as the index script saw it. */
export interface SourceIndex {
    /** The subdirectory's name (`<server_id>-<time>`). */
    name: string;
    /** Its binlog files, in order. */
    files: string[];
    /** The GTID list at the start of its first file (`Gtid list [...]`): what the server had before; "" when empty. */
    start: string;
    /** Every transaction in order: its GTID and its timestamp (seconds since the epoch, UTC). */
    gtids: { gtid: string; at: number }[];
}

const INDEX_LINE = /^#(\d{2})(\d{2})(\d{2}) +(\d{1,2}):(\d{2}):(\d{2}) server id \d+ .*\t(?:GTID (\d+-\d+-\d+)\b|Gtid list \[([0-9,-]*)\])/;

/**
 * Bash that lists one source's GTIDs with their timestamps: `mariadb-binlog` decodes the files (TZ=UTC: it prints
 * times in the local zone) and grep keeps the `GTID d-s-n` and `Gtid list [...]` event lines.
 */
export function sourceIndexScript(sourceDir: string, files: string[]): string {
    if (!sourceDir.startsWith("/") || /[\n\0]/.test(sourceDir)) throw new Error(`pitr: not an absolute path: "${sourceDir}"`);
    const ordered = sourceFiles(files);
    if (ordered.length !== files.length || ordered.length === 0) throw new Error(`pitr: not binlog files: ${files.join(", ")}`);
    const dir = sourceDir.replace(/\/+$/, "");
    return [
        "set -euo pipefail",
        `TZ=UTC mariadb-binlog ${ordered.map((f) => shellQuote(`${dir}/${f}`)).join(" ")} | { grep -E ${shellQuote("^#[0-9]{6} .*\t(GTID [0-9]|Gtid list )")} || true; }`,
        "",
    ].join("\n");
}

/** The index of one source from `sourceIndexScript`'s output. */
export function parseSourceIndex(name: string, files: string[], output: string): SourceIndex {
    let start: string | undefined;
    const gtids: SourceIndex["gtids"] = [];
    for (const line of output.split("\n")) {
        const m = INDEX_LINE.exec(line);
        if (!m) continue;
        const [yy, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
        if (m[7]) gtids.push({ gtid: m[7], at: Date.UTC(2000 + yy, mo - 1, d, h, mi, s) / 1000 });
        else if (start === undefined) start = m[8];
    }
    if (start === undefined) throw new Error(`pitr: source ${name}: no Gtid list event at the start of its first file`);
    return { name, files: sourceFiles(files), start, gtids };
}
