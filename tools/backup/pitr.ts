/**
 * Point-in-time recovery as data (pure, unit-tested): the streamer that copies the master's binary log to another
 * machine as it is written, its supervisor script, the recovery target a user asks for, and the replay of the
 * streamed binlogs on top of a restored base backup up to that target.
 *
 * Engines: MariaDB 10.11 (`mariadb-binlog`; every flag here was run against Debian's 10.11 in
 * tests/daemons/pitr.test.ts) and Percona Server 8.0 (`mysqlbinlog`; generated from the MySQL 8.0 reference manual,
 * https://dev.mysql.com/doc/refman/8.0/en/mysqlbinlog.html and .../mysqlbinlog-backup.html, not run here).
 *
 * RPO: the streamer is an asynchronous reader (it acknowledges nothing to semi-sync), so a commit the master
 * acknowledged but had not yet sent when it died is not in the stream. On loopback the last committed row before a
 * SIGKILL was always streamed (0 rows lost, tests/daemons/pitr.test.ts); that is a measurement, not a guarantee.
 */
import { shellQuote } from "../../components/shared/shell";
import { checkStreamerInputs, streamerOptionFile } from "../../components/database/binlogStreamScript";

export { streamerOptionFile };
import { Engine, loadCommand } from "./plan";

/** Where and as whom the streamer reads the master's binary log. */
export interface StreamOptions {
    /** The master's address (host name or IP). */
    host: string;
    port: number;
    /** A login with the REPLICATION SLAVE grant (the replication user is enough on MariaDB 10.11). */
    user: string;
    /**
     * A 0600 option file holding the password (`streamerOptionFile`); the password never appears in argv. It is
     * read with --defaults-file, so nothing else (a [client] socket in /etc/mysql/my.cnf) changes the connection.
     */
    optionFile: string;
    /** Absolute directory the binlog files are written to, under the master's own file names. */
    dir: string;
    /** The binlog file to start from on the first run (`SHOW BINARY LOGS`, the oldest one still needed). */
    firstBinlog: string;
    /**
     * The server id the streamer reports to the master; unique among the master's replicas and streamers (a second
     * connection with the same id makes the master drop the first).
     */
    serverId: number;
}

const BINLOG_NAME = /^([A-Za-z0-9_-][A-Za-z0-9._-]*)\.(\d{6,})$/;

function checkStream(o: StreamOptions): void {
    checkStreamerInputs({ ...o, servers: [{ host: o.host, port: o.port }] }, "master");
    if (!BINLOG_NAME.test(o.firstBinlog)) throw new Error(`pitr: "${o.firstBinlog}" is not a binlog file name (like binlog.000001)`);
}

/**
 * The streamer's argv without the binlog file to start from. `--raw` writes the events byte for byte into one file
 * per master binlog, named `<dir>/<master's file name>` (--result-file is a prefix, hence the trailing slash);
 * `--stop-never` stays connected and implies --to-last-log. MariaDB names the reported id
 * --stop-never-slave-server-id, MySQL 8.0 --connection-server-id (mysqlbinlog-backup.html, "mysqlbinlog Backup
 * Options"); Percona also asks for the server's RSA key, since caching_sha2_password without TLS needs it.
 */
function streamArgs(engine: Engine, o: StreamOptions): string[] {
    checkStream(o);
    const dir = o.dir.endsWith("/") ? o.dir : `${o.dir}/`;
    const common = ["--read-from-remote-server", "--raw", "--stop-never"];
    const conn = [`--host=${o.host}`, `--port=${o.port}`, `--user=${o.user}`, `--result-file=${dir}`];
    return engine === "mariadb"
        ? ["mariadb-binlog", `--defaults-file=${o.optionFile}`, ...common, `--stop-never-slave-server-id=${o.serverId}`, ...conn]
        : [
              "mysqlbinlog",
              `--defaults-file=${o.optionFile}`,
              ...common,
              `--connection-server-id=${o.serverId}`,
              "--get-server-public-key",
              ...conn,
          ];
}

/** The streamer's argv, run on a machine other than the master: a live copy of its binary log from `firstBinlog` on. */
export function binlogStreamCommand(engine: Engine, opts: StreamOptions): string[] {
    return [...streamArgs(engine, opts), opts.firstBinlog];
}

/**
 * The supervisor (bash) that keeps the streamer running. Neither mariadb-binlog nor mysqlbinlog reconnects when the
 * connection ends ("mysqlbinlog Backup Restrictions": it "does not automatically reconnect ... if the connection is
 * lost"), so the script restarts it after `retrySeconds`.
 *
 * Resuming: the newest file in the directory may be incomplete (the connection or the master died in the middle of
 * it, or mid-event). The streamer is restarted *from that file's start*: it fetches the whole file again and
 * overwrites the local copy ("Output files are overwritten if they exist", mysqlbinlog-backup.html, "Output File
 * Naming"), then follows the newer ones. Resuming at a byte offset would keep a torn event; re-fetching costs at most
 * one binlog file (max_binlog_size) of transfer. Older files are complete: the master rotated past them before the
 * streamer moved on. If the master no longer has that file (purged by expire_logs_days while the streamer was down)
 * the streamer fails on every attempt, and says so on stderr: that gap needs a new base backup.
 * @param retrySeconds Pause between a disconnect and the next attempt. @default 2
 */
export function streamerScript(engine: Engine, opts: StreamOptions, retrySeconds = 2): string {
    const args = streamArgs(engine, opts);
    if (!Number.isInteger(retrySeconds) || retrySeconds < 1) throw new Error(`pitr: retry pause must be a whole number of seconds ≥ 1`);
    const base = BINLOG_NAME.exec(opts.firstBinlog)![1];
    const tool = args[0];
    return [
        "#!/usr/bin/env bash",
        `# Live copy of the master's binary log (${opts.host}:${opts.port}) into ${opts.dir}, generated by tools/backup/pitr.ts.`,
        `# ${tool} does not reconnect on its own: this loop restarts it, from the start of the newest file it has`,
        "# (possibly cut short), which it fetches again and overwrites.",
        "set -euo pipefail",
        `dir=${shellQuote(opts.dir)}`,
        `first=${shellQuote(opts.firstBinlog)}`,
        'mkdir -p "$dir"',
        "child=",
        'trap \'[ -n "$child" ] && kill "$child" 2>/dev/null; exit 0\' TERM INT',
        "while :; do",
        `    last=$(find "$dir" -maxdepth 1 -type f -name ${shellQuote(`${base}.[0-9]*`)} -printf '%f\\n' | sort -V | tail -n 1)`,
        "    start=${last:-$first}",
        `    echo "pitr-streamer: ${tool} from $start" >&2`,
        `    ${args.map(shellQuote).join(" ")} "$start" &`,
        "    child=$!",
        '    if wait "$child"; then status=0; else status=$?; fi',
        "    child=",
        `    echo "pitr-streamer: ${tool} exited with status $status; restarting in ${retrySeconds} s" >&2`,
        `    sleep ${retrySeconds}`,
        "done",
        "",
    ].join("\n");
}

/** A recovery target: a moment (UTC) or one transaction's GTID, inclusive. */
export type PitrTarget = { kind: "time"; utc: string; epochSeconds: number } | { kind: "gtid"; gtid: string };

const MARIADB_GTID = /^\d{1,10}-\d{1,10}-\d{1,20}$/;
const UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
const PERCONA_GTID = new RegExp(`^(${UUID}):([1-9]\\d{0,18})$`);
const PERCONA_SET = new RegExp(`^${UUID}(:[1-9]\\d*(-[1-9]\\d*)?)+(,${UUID}(:[1-9]\\d*(-[1-9]\\d*)?)+)*$`);
const MARIADB_LIST = /^\d{1,10}-\d{1,10}-\d{1,20}(,\d{1,10}-\d{1,10}-\d{1,20})*$/;

/**
 * The target of `--to "<time>"` or `--to-gtid <gtid>`.
 *
 * Times are UTC, always: `YYYY-MM-DD HH:MM:SS`, optionally followed by `Z` or ` UTC` (a `T` may replace the space).
 * Any other offset is refused rather than converted, so nobody recovers to the wrong hour by accident. The replay
 * runs the binlog reader with TZ=UTC, since both readers read --stop-datetime in the local time zone of the machine
 * they run on (mariadb-binlog --help on 10.11; MySQL 8.0 --start-datetime). The time is exclusive: transactions
 * stamped before that second are replayed, none from it on (binlog timestamps have whole seconds).
 *
 * GTIDs are inclusive: MariaDB `domain-server-seq` (`0-1-42`), Percona `source_uuid:transaction_id`.
 */
export function parseTarget(engine: Engine, flag: "--to" | "--to-gtid", value: string): PitrTarget {
    const v = value.trim();
    if (flag === "--to-gtid") {
        if (engine === "mariadb" ? MARIADB_GTID.test(v) : PERCONA_GTID.test(v)) return { kind: "gtid", gtid: v.toLowerCase() };
        throw new Error(
            `pitr: --to-gtid "${value}" is not a ${engine === "mariadb" ? "MariaDB GTID (domain-server-seq, like 0-1-42)" : "GTID (source_uuid:transaction_id, like 3e11fa47-71ca-11e1-9e33-c80aa9429562:23)"}`,
        );
    }
    const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:Z| UTC)?$/.exec(v);
    if (!m) {
        const zoned = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(.+)$/.exec(v);
        throw new Error(
            zoned
                ? `pitr: --to "${value}": give the time in UTC (YYYY-MM-DD HH:MM:SS, optionally with Z or UTC); "${zoned[1].trim()}" is not accepted`
                : `pitr: --to "${value}" is not a time: expected "YYYY-MM-DD HH:MM:SS" in UTC`,
        );
    }
    const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
    const ms = Date.UTC(y, mo - 1, d, h, mi, s);
    const back = new Date(ms);
    if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59)
        throw new Error(`pitr: --to "${value}" is not a valid date and time`);
    return { kind: "time", utc: `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]}`, epochSeconds: ms / 1000 };
}

const checkedTime = (engine: Engine, t: { utc: string }) => (parseTarget(engine, "--to", t.utc) as { utc: string }).utc;
const checkedGtid = (engine: Engine, t: { gtid: string }) => (parseTarget(engine, "--to-gtid", t.gtid) as { gtid: string }).gtid;

/**
 * What mariadb-binlog 10.11 prints on stderr (exit status 0) when the streamed files end before the target: the replay covered
 * everything there is, but not up to the point asked for. A runner reports it rather than claiming the target.
 */
export const TARGET_NOT_REACHED = /Did not reach stop (datetime|position)/;

/**
 * The streamed binlog files to replay, in order: every file of the streamer's directory named like the master's
 * binlogs (`<base>.<number>`), sorted by number. The file names are the index (the streamer writes no index file);
 * all of them are read, the readers skip what lies before the start GTID themselves.
 */
export function replayFiles(names: string[]): string[] {
    const files = names
        .map((n) => ({ n, m: BINLOG_NAME.exec(n) }))
        .filter((f): f is { n: string; m: RegExpExecArray } => !!f.m)
        .sort((a, b) => (BigInt(a.m[2]) < BigInt(b.m[2]) ? -1 : BigInt(a.m[2]) > BigInt(b.m[2]) ? 1 : 0));
    const bases = new Set(files.map((f) => f.m[1]));
    if (bases.size > 1) throw new Error(`pitr: binlogs of more than one server in one directory: ${[...bases].join(", ")}`);
    if (files.length === 0) throw new Error("pitr: no streamed binlog files to replay");
    return files.map((f) => f.n);
}

/**
 * The client a replay runs as the database's root. The decoded binlog carries statement text the application wrote,
 * and a plain `mariadb` runs a line `\! <command>` in its input as a shell command (as root on the database's
 * machine). `--binary-mode` (needed anyway: the decoded events hold any bytes) turns off every client command but
 * `\C` and DELIMITER in batch mode, which already refuses it ("Unknown command '\!'", tests/daemons/pitrFollow.test.ts);
 * `--sandbox` (MariaDB 10.11.8 and later) refuses every command that reaches the file system, as a second guard.
 */
export const MARIADB_REPLAY_CLIENT = ["mariadb", "--binary-mode", "--sandbox"];

/**
 * Drops mariadb-binlog's `SET @@session.gtid_seq_no=N` lines, so the restored server commits the replayed
 * transactions under its own next sequence numbers (see `replayPlan`).
 */
export const GTID_SEQ_FILTER = ["sed", "-E", "/^\\/\\*M!100001 SET @@session\\.gtid_seq_no=[0-9]+\\*\\/\\/\\*!\\*\\/;$/d"];

export interface ReplayInput {
    /** The GTID position of the base backup (gtidOf of its dump): MariaDB GTID list, Percona GTID set. */
    startGtid: string;
    /** Where to stop; none replays everything streamed (recovery to the last transaction). */
    target?: PitrTarget;
    /** Absolute directory holding the streamed files. */
    binlogDir: string;
    /** The file names in it (any order; others are ignored). */
    binlogFiles: string[];
}

export interface ReplayPlan {
    /** Reads the streamed binlogs from the base backup's position to the target, as SQL. */
    reader: string[];
    /** The reader's environment: TZ=UTC, so --stop-datetime is read as UTC. */
    env: { TZ: "UTC" };
    /** Rewrites the reader's output before it is applied (MariaDB), or nothing. */
    filter?: string[];
    /** Applies the SQL; the caller adds the connection (a root login on the restored server). */
    client: string[];
    /** The three as one bash pipeline, `client` completed by the caller's connection words. */
    script(connection?: string[]): string;
}

/**
 * The replay of the streamed binlogs on a server restored from the base backup, up to the target.
 *
 * MariaDB 10.11: `mariadb-binlog --start-position=<base GTID list>` (exclusive: only what follows the base) and
 * `--stop-position=<GTID>` (inclusive) or `--stop-datetime`, over all files in order. Its --gtid-strict-mode (on by
 * default) makes a gap fatal: if the files do not reach back to the base position it fails ("Binary logs are missing
 * data for domain 0") instead of replaying a hole; a target before the start fails too; a target after the end of the
 * files replays everything and warns "Did not reach stop ..." (exit 0). The output sets each transaction's original
 * GTID (`SET @@session.gtid_seq_no=N`); the restored server has moved past those sequence numbers (loading the dump
 * wrote its own), so with gtid_strict_mode they are refused (error 1950, out-of-order). The filter drops those lines:
 * the transactions are committed as new ones with the server's next sequence numbers, and replicate as usual.
 * mariadb-binlog 10.11 has no --skip-gtids.
 *
 * Percona 8.0: `mysqlbinlog --exclude-gtids=<base set>` ("Do not display any of the groups listed"), with
 * `--stop-datetime` or, for a GTID target, `--include-gtids=<uuid>:1-<N>` ("Display only the groups listed"), and
 * `--skip-gtids` so the transactions take new GTIDs: a server whose gtid_executed already holds the originals (the
 * same cluster) would otherwise skip them silently. A GTID target only replays that source's transactions: the
 * streamed files are one master's, whose transactions carry its own UUID (a failover between the base and the
 * target needs the earlier master's UUID added; not handled here).
 *
 * Both clients run with --binary-mode (MySQL 8.0 point-in-time-recovery: output with \0 cannot be parsed without it);
 * MariaDB's in sandbox mode too ({@link MARIADB_REPLAY_CLIENT}).
 */
export function replayPlan(engine: Engine, input: ReplayInput): ReplayPlan {
    if (!input.binlogDir.startsWith("/") || /[\n\0]/.test(input.binlogDir))
        throw new Error(`pitr: the binlog directory must be an absolute path: "${input.binlogDir}"`);
    const dir = input.binlogDir.replace(/\/+$/, "");
    const files = replayFiles(input.binlogFiles).map((f) => `${dir}/${f}`);
    const start = input.startGtid.replace(/\s+/g, "");
    const t = input.target;
    let reader: string[];
    let filter: string[] | undefined;
    if (engine === "mariadb") {
        if (!MARIADB_LIST.test(start))
            throw new Error(`pitr: the base backup's GTID position "${input.startGtid}" is not a MariaDB GTID list`);
        const stop = !t
            ? []
            : t.kind === "time"
              ? [`--stop-datetime=${checkedTime(engine, t)}`]
              : [`--stop-position=${checkedGtid(engine, t)}`];
        reader = ["mariadb-binlog", `--start-position=${start}`, ...stop, ...files];
        filter = GTID_SEQ_FILTER;
    } else {
        if (!PERCONA_SET.test(start)) throw new Error(`pitr: the base backup's GTID set "${input.startGtid}" is not a GTID set`);
        let stop: string[] = [];
        if (t?.kind === "time") stop = [`--stop-datetime=${checkedTime(engine, t)}`];
        if (t?.kind === "gtid") {
            const [, uuid, n] = PERCONA_GTID.exec(checkedGtid(engine, t))!;
            stop = [`--include-gtids=${uuid}:1-${n}`];
        }
        reader = ["mysqlbinlog", "--skip-gtids", `--exclude-gtids=${start}`, ...stop, ...files];
    }
    const client = engine === "mariadb" ? MARIADB_REPLAY_CLIENT : [...loadCommand(engine), "--binary-mode"];
    return {
        reader,
        env: { TZ: "UTC" },
        filter,
        client,
        script: (connection = []) =>
            [
                "set -euo pipefail",
                [
                    `TZ=UTC ${reader.map(shellQuote).join(" ")}`,
                    ...(filter ? [filter.map(shellQuote).join(" ")] : []),
                    [...client, ...connection].map(shellQuote).join(" "),
                ].join(" | "),
                "",
            ].join("\n"),
    };
}
