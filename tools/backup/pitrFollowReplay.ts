/**
 * The replay of the following streamer's sources (tools/backup/pitrFollow.ts) on a server restored from the base
 * backup: each GTID once, in order, from the base's position to the target, across failovers and RESET MASTER
 * (pure, unit-tested; run against Debian's mariadbd/mariadb-binlog 10.11 in tests/daemons/pitrFollow.test.ts).
 */
import { shellQuote } from "../../components/shared/shell";
import { GTID_SEQ_FILTER, MARIADB_REPLAY_CLIENT, PitrTarget } from "./pitr";
import { SOURCE_DIR, SourceIndex } from "./pitrFollow";

const GTID = /^(\d{1,10})-(\d{1,10})-(\d{1,20})$/;

export interface FollowReplayInput {
    /** The base backup's GTID position (one domain: the cluster writes domain 0 only). */
    startGtid: string;
    target?: PitrTarget;
    /** The streamer's directory (the parent of the source subdirectories). */
    binlogDir: string;
    sources: SourceIndex[];
}

/** One stretch of the replay: a source's files from `start` (exclusive) to `stop` (inclusive). */
export interface ReplaySegment {
    source: string;
    start: string;
    stop: string;
    /** Transactions it applies. */
    count: number;
}

export interface FollowReplayPlan {
    segments: ReplaySegment[];
    /** One reader per segment (run with TZ=UTC), in order. */
    readers: string[][];
    /** The last GTID applied (the base position when there is nothing to apply). */
    last: string;
    /** False when the streamed binlogs end before the target (everything streamed is replayed). */
    reached: boolean;
    /** Transactions of a branch the history left (an old master's, never replicated): not applied. */
    dropped: string[];
    /** The readers' output, filtered (`GTID_SEQ_FILTER`), into one `MARIADB_REPLAY_CLIENT` session. */
    script(connection?: string[]): string;
}

type Gtid = { domain: string; server: string; seq: bigint; text: string };
function gtidOf(text: string, what: string): Gtid {
    const m = GTID.exec(text);
    if (!m) throw new Error(`pitr: ${what} "${text}" is not a MariaDB GTID`);
    return { domain: m[1], server: m[2], seq: BigInt(m[3]), text };
}

/**
 * The replay of streamed sources (`followSourceDirs`, indexed by `sourceIndexScript`) on a server restored from the
 * base backup. From the current position (first the base's), the next segment comes from a source that holds that
 * exact GTID (or starts right after it: its first Gtid list is that GTID) and continues past it; of several, the one
 * that reaches furthest (the new master's binlog repeats the old master's transactions, so one source usually covers
 * a failover). Transactions other candidates have at sequence numbers the chosen one covers differently are a
 * branch the history left (an old master's last commits that no replica got): they are listed in `dropped`, not
 * applied. Two branches of equal length are refused. The target cuts the chain: a GTID (inclusive, which must be in
 * it), or a time (exclusive: stop before the first transaction stamped at or after it, as --stop-datetime does).
 * Each segment is `mariadb-binlog --start-position=<GTID> --stop-position=<GTID> <its files>` (strict mode, the
 * default, checks the files reach back to the start); the outputs go in order through the filter into one client.
 */
export function followReplayPlan(input: FollowReplayInput): FollowReplayPlan {
    if (!input.binlogDir.startsWith("/") || /[\n\0]/.test(input.binlogDir))
        throw new Error(`pitr: the binlog directory must be an absolute path: "${input.binlogDir}"`);
    const dir = input.binlogDir.replace(/\/+$/, "");
    const base = gtidOf(input.startGtid.trim(), "the base backup's GTID position (one domain)");
    const domain = base.domain;
    const sources = input.sources.map((s) => {
        if (!SOURCE_DIR.test(s.name)) throw new Error(`pitr: "${s.name}" is not a streamed source directory`);
        if (s.files.length === 0) throw new Error(`pitr: source ${s.name} has no binlog files`);
        const startList = s.start === "" ? [] : s.start.split(",").map((g) => gtidOf(g, `source ${s.name}'s Gtid list entry`));
        const events = s.gtids.map((e) => ({ ...gtidOf(e.gtid, `source ${s.name}'s GTID`), at: e.at }));
        const other = [...startList, ...events].find((g) => g.domain !== domain);
        if (other) throw new Error(`pitr: source ${s.name} has GTID ${other.text} outside domain ${domain}: one domain only`);
        return { ...s, startGtid: startList.length ? startList[0] : undefined, events };
    });
    type Ev = (typeof sources)[number]["events"][number];

    // The chain of segments to the end of the streamed history.
    const chain: { source: (typeof sources)[number]; start: Gtid; events: Ev[] }[] = [];
    const dropped = new Set<string>();
    let cur = base;
    for (;;) {
        const cands = sources
            .map((s) => {
                const i = s.events.findIndex((e) => e.text === cur.text);
                const from = i >= 0 ? i + 1 : s.startGtid?.text === cur.text ? 0 : -1;
                return { s, rest: from < 0 ? [] : s.events.slice(from) };
            })
            .filter((c) => c.rest.length > 0);
        if (cands.length === 0) break;
        const end = (c: (typeof cands)[number]) => c.rest[c.rest.length - 1];
        cands.sort((a, b) => (end(a).seq !== end(b).seq ? (end(a).seq < end(b).seq ? 1 : -1) : 0));
        const best = cands[0];
        for (const c of cands.slice(1)) {
            if (end(c).seq === end(best).seq && end(c).text !== end(best).text)
                throw new Error(
                    `pitr: sources ${best.s.name} and ${c.s.name} hold two histories of equal length after ${cur.text} (${end(best).text}, ${end(c).text}): remove the one to leave out`,
                );
            const kept = new Set(best.rest.map((e) => e.text));
            for (const e of c.rest) if (!kept.has(e.text)) dropped.add(e.text);
        }
        chain.push({ source: best.s, start: cur, events: best.rest });
        cur = end(best);
    }
    if (chain.length === 0 && !sources.some((s) => s.events.some((e) => e.text === base.text) || s.startGtid?.text === base.text))
        throw new Error(`pitr: no streamed source holds the base backup's position ${base.text}: the binlogs do not reach back to it`);

    // The target cuts the chain.
    const all = chain.flatMap((c) => c.events);
    let cut = all.length;
    let reached = !input.target;
    const t = input.target;
    if (t?.kind === "gtid") {
        const g = gtidOf(t.gtid, "the target");
        if (g.domain !== domain) throw new Error(`pitr: the target ${g.text} is outside domain ${domain}`);
        if (g.seq <= base.seq && g.text !== base.text)
            throw new Error(`pitr: the target ${g.text} is before the base backup's position ${base.text}`);
        const i = all.findIndex((e) => e.text === g.text);
        if (i >= 0) [cut, reached] = [i + 1, true];
        else if (g.text === base.text) [cut, reached] = [0, true];
        else if (all.length > 0 && g.seq <= all[all.length - 1].seq)
            throw new Error(
                `pitr: the target ${g.text} is not in the recovered history (${all.find((e) => e.seq === g.seq)?.text ?? "no transaction"} has that sequence number)${dropped.has(g.text) ? "; it is on a branch the history left" : ""}`,
            );
    } else if (t?.kind === "time") {
        const baseAt = sources.flatMap((s) => s.events).find((e) => e.text === base.text)?.at;
        if (baseAt !== undefined && baseAt >= t.epochSeconds)
            throw new Error(`pitr: the target "${t.utc}" UTC is not after the base backup's last transaction`);
        const i = all.findIndex((e) => e.at >= t.epochSeconds);
        if (i >= 0) [cut, reached] = [i, true];
    }

    const segments: ReplaySegment[] = [];
    const readers: string[][] = [];
    let n = 0;
    for (const c of chain) {
        const take = Math.min(c.events.length, cut - n);
        n += c.events.length;
        if (take <= 0) break;
        const stop = c.events[take - 1].text;
        segments.push({ source: c.source.name, start: c.start.text, stop, count: take });
        readers.push([
            "mariadb-binlog",
            `--start-position=${c.start.text}`,
            `--stop-position=${stop}`,
            ...c.source.files.map((f) => `${dir}/${c.source.name}/${f}`),
        ]);
    }
    const last = segments.length ? segments[segments.length - 1].stop : base.text;
    return {
        segments,
        readers,
        last,
        reached,
        dropped: [...dropped],
        script: (connection = []) =>
            readers.length === 0
                ? "set -euo pipefail\n# Nothing to replay: the base backup is at the target.\n"
                : [
                      "set -euo pipefail",
                      "{",
                      ...readers.map((r) => `    TZ=UTC ${r.map(shellQuote).join(" ")}`),
                      `} | ${GTID_SEQ_FILTER.map(shellQuote).join(" ")} | ${[...MARIADB_REPLAY_CLIENT, ...connection].map(shellQuote).join(" ")}`,
                      "",
                  ].join("\n"),
    };
}
