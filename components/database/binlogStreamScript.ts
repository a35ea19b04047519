/**
 * The binlog-stream service's script and option file (pure, unit-tested): the supervisor of a streamer that follows
 * whichever database server is writable, one subdirectory per binlog sequence it copies (the replay that reads them
 * is tools/backup/pitrFollowReplay.ts's), and the checks every streamer's inputs pass.
 *
 * Every MariaDB behaviour relied on here was tried against Debian's mariadbd/mariadb-binlog 10.11 in
 * tests/daemons/pitrFollow.test.ts:
 * - `SELECT @@global.read_only, @@global.server_id` needs no privilege (the replication user reads it).
 * - `mariadb-binlog --read-from-remote-server --stop-never ''` (an empty file name) starts at the server's oldest
 *   binlog; the replication user cannot run SHOW BINARY LOGS (it needs BINLOG MONITOR).
 * - RESET MASTER starts again at binlog.000001 with other content; a streamer connected at that moment exits
 *   ("could not find next log"). Fetching a file the server no longer has fails.
 */
import { shellQuote } from "../shared/shell";

const HOST = /^[A-Za-z0-9]([A-Za-z0-9.:-]{0,252})$/;
const USER = /^[A-Za-z0-9_.@-]{1,80}$/;

/**
 * The checks a streamer's inputs pass before they reach its script: each server's host and port (`what` names them
 * in messages: "master", "server"), the user, the two paths and the reported server id.
 */
export function checkStreamerInputs(
    o: { servers: Array<{ host: string; port: number }>; user: string; dir: string; optionFile: string; serverId: number },
    what: string,
): void {
    for (const s of o.servers) {
        if (!HOST.test(s.host)) throw new Error(`pitr: invalid ${what} host "${s.host}"`);
        if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) throw new Error(`pitr: invalid ${what} port ${s.port}`);
    }
    if (!USER.test(o.user)) throw new Error(`pitr: invalid streamer user "${o.user}"`);
    for (const [path, p] of [
        ["binlog directory", o.dir],
        ["option file", o.optionFile],
    ] as const)
        if (!p.startsWith("/") || /[\n\0]/.test(p)) throw new Error(`pitr: the ${path} must be an absolute path: "${p}"`);
    if (!Number.isInteger(o.serverId) || o.serverId < 1 || o.serverId > 4294967295)
        throw new Error(`pitr: the streamer's server id must be 1..4294967295, not ${o.serverId}`);
}

/**
 * The streamer's option file (write it 0600): the password in the [client] group, which both mariadb-binlog and
 * mysqlbinlog read. Double-quoted, with backslash and quote escaped, so any password survives the option parser.
 */
export function streamerOptionFile(password: string): string {
    if (/[\n\r\0]/.test(password)) throw new Error("pitr: the streamer's password cannot hold a line break or NUL");
    return `[client]\npassword="${password.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"\n`;
}

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
    /**
     * A `*.prom` file for node-exporter's textfile collector, rewritten at every check: `bitrix_binlog_stream_up`,
     * `_lag_bytes` and `_last_caught_up_timestamp_seconds` (see {@link followStreamerScript}). @default none: no lag query
     */
    metricsFile?: string;
}

function checkFollow(o: FollowOptions): void {
    if (o.servers.length === 0) throw new Error("pitr: the streamer needs at least one database server");
    checkStreamerInputs(o, "server");
    if (o.metricsFile !== undefined && !/^\/[A-Za-z0-9_./-]+\.prom$/.test(o.metricsFile))
        throw new Error(`pitr: the metrics file must be an absolute path ending in .prom, without spaces: "${o.metricsFile}"`);
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
 * With `metricsFile`, every check also asks the server `SHOW BINARY LOGS` (BINLOG MONITOR, which initSql.ts grants
 * the replication user on MariaDB) and writes, replacing the file by rename (the collector never reads half of it):
 * - `bitrix_binlog_stream_up`: 1 while streaming from a writable server, else 0;
 * - `bitrix_binlog_stream_lag_bytes`: bytes of the server's binlogs, from the newest one streamed on, that the
 *   subdirectory does not hold yet (0 = everything the server had logged when asked);
 * - `bitrix_binlog_stream_last_caught_up_timestamp_seconds`: when a check last found the lag 0 (taken before the
 *   query, so every transaction committed before that second is on disk): `--to` can reach that point. It is read
 *   back from the file when the service restarts, so a restart does not make an old stream look fresh or absent.
 *
 * Costs: a resume fetches the newest file twice (check, then stream), at most 2 × max_binlog_size; a new sequence
 * copies all the binlogs the server still has (expire_logs_days). With metrics, one more query every check.
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
    const caughtMetric = "bitrix_binlog_stream_last_caught_up_timestamp_seconds";
    const metrics = opts.metricsFile
        ? [
              `mf=${q(opts.metricsFile)}`,
              "# The last caught-up time a previous run recorded (the file is this service's own).",
              `caught=$(sed -n 's/^${caughtMetric} \\([0-9]\\{1,12\\}\\)$/\\1/p' "$mf" 2>/dev/null | tail -n 1) || caught=`,
              "lag_refused=",
              "# metrics <up 0|1> [lag bytes]: the textfile collector's file, replaced by rename.",
              "metrics() {",
              "    {",
              `        printf '# HELP bitrix_binlog_stream_up 1 while the binlog stream copies a writable server, else 0.\\n# TYPE bitrix_binlog_stream_up gauge\\nbitrix_binlog_stream_up %s\\n' "$1"`,
              `        [ -z "\${2:-}" ] || printf '# HELP bitrix_binlog_stream_lag_bytes Bytes the writable server has logged that the stream does not hold yet.\\n# TYPE bitrix_binlog_stream_lag_bytes gauge\\nbitrix_binlog_stream_lag_bytes %s\\n' "$2"`,
              `        [ -z "$caught" ] || printf '# HELP ${caughtMetric} When the stream last held everything the writable server had logged.\\n# TYPE ${caughtMetric} gauge\\n${caughtMetric} %s\\n' "$caught"`,
              '    } > "$mf.tmp" && chmod 0644 "$mf.tmp" && mv -f "$mf.tmp" "$mf" || log "cannot write $mf"',
              "}",
              "# Bytes of the server's binlogs from the newest file streamed into $sub on that $sub lacks; fails if refused.",
              "lag() {",
              "    local logs last total=0 name size have",
              `    logs=$(mariadb ${conn} --connect-timeout=3 -N -B -e 'SHOW BINARY LOGS') || return 1`,
              '    last=$(newest "$sub")',
              "    while IFS=$'\\t' read -r name size _; do",
              "        [[ $name =~ ^[A-Za-z0-9_-][A-Za-z0-9._-]*\\.[0-9]{6,}$ && $size =~ ^[0-9]+$ ]] || return 1",
              '        if [ -n "$last" ] && (( 10#${name##*.} < 10#${last##*.} )); then continue; fi',
              '        have=$(stat -c %s "$sub/$name" 2>/dev/null) || have=0',
              "        if (( size > have )); then total=$(( total + size - have )); fi",
              '    done <<< "$logs"',
              '    echo "$total"',
              "}",
          ]
        : ["metrics() { :; }"];
    const measure = opts.metricsFile
        ? [
              '        elif [ -n "$row" ]; then',
              "            if behind=$(lag 2>/dev/null); then",
              '                if [ "$behind" = 0 ]; then caught=$now; fi',
              '                metrics 1 "$behind"',
              "            else",
              '                [ -n "$lag_refused" ] || log "SHOW BINARY LOGS fails on $host:$port: no lag metric (the user $user needs BINLOG MONITOR)"',
              "                lag_refused=1",
              "                metrics 1",
              "            fi",
          ]
        : [];
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
        ...metrics,
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
        "        metrics 0",
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
        "        now=$(date +%s)",
        "        row=$(probe 2>/dev/null) || row=",
        '        if [ -n "$row" ] && [ "${row%%$\'\\t\'*}" != 0 ]; then',
        '            log "$host:$port is read-only now: stopping the streamer to look for the writable server"',
        '            kill "$child" 2>/dev/null || true',
        ...measure,
        "        fi",
        "    done",
        '    if wait "$child"; then status=0; else status=$?; fi',
        "    child=",
        "    metrics 0",
        `    log "mariadb-binlog exited with status $status; next attempt in ${retrySeconds} s"`,
        `    sleep ${retrySeconds}`,
        "done",
        "",
    ].join("\n");
}
