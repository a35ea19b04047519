/**
 * Point-in-time recovery across failovers (MariaDB 10.11, pure, unit-tested): the sources the following streamer
 * (components/database/binlogStreamScript.ts) leaves, one subdirectory per binlog sequence, and their index, which
 * tools/backup/pitrFollowReplay.ts chains into one replay (each GTID once, in order).
 *
 * Every MariaDB behaviour relied on here was tried against Debian's mariadbd/mariadb-binlog 10.11 in
 * tests/daemons/pitrFollow.test.ts:
 * - A replica with log_slave_updates (components/database/serverConfig.ts sets it) writes what it applies under the
 *   original GTID and timestamp, so the new master's binlog repeats the old master's transactions.
 * - `mariadb-binlog --start-position=<GTID>` (exclusive) / `--stop-position=<GTID>` (inclusive) work across server
 *   ids of one domain, and fail ("never reached expected GTID state") when the files do not contain the start.
 *
 * Percona (mysqlbinlog) is not handled here: its GTIDs carry the source's UUID, not a shared sequence.
 */
import { shellQuote } from "../../components/shared/shell";

/** A streamed source's subdirectory: the server's id and when the streamer first saw that binlog sequence. */
export const SOURCE_DIR = /^(\d{1,10})-(\d{8}T\d{6}Z)$/;
const BINLOG_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*\.(\d{6,})$/;

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
