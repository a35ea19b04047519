/**
 * `npm run restore -- --to "<UTC time>" | --to-gtid <gtid>`: the replay of the binlog-stream service's copy
 * (components/database/binlogStream.ts) on top of a restored backup. The sources are indexed where they are (the
 * streamer's container or machine), the replay planned before anything is changed (followReplayPlan: each GTID once,
 * across failovers and RESET MASTER; refused when the stream does not reach the target), and run as one pipe:
 * mariadb-binlog on the streamer → the GTID filter → the writable server's client.
 */
import { BINLOG_DIR } from "../../components/database/binlogStream";
import type { StackAccess } from "./access";
import { GTID_SEQ_FILTER, MARIADB_REPLAY_CLIENT, PitrTarget } from "./pitr";
import { followSourceDirs, parseSourceIndex, sourceFiles, sourceIndexScript } from "./pitrFollow";
import { followReplayPlan, FollowReplayPlan } from "./pitrFollowReplay";
import { SnapshotListing } from "./plan";
import { dbRootScript, Target } from "./remote";
import { q, sh } from "./shell";

/**
 * The backup a point-in-time restore starts from: for a time, the stack's newest snapshot taken before it; for a
 * GTID, the newest (its position is checked against the target once its manifest is read).
 */
export function pitrBaseSnapshot(list: SnapshotListing[], stack: string, target: PitrTarget): string {
    const ours = list.filter((s) => s.tags?.includes(`stack=${stack}`)).sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
    const base = target.kind === "time" ? ours.find((s) => Date.parse(s.time) / 1000 < target.epochSeconds) : ours[0];
    if (!base)
        throw new Error(
            target.kind === "time"
                ? `restore: stack ${stack} has no backup taken before ${target.utc} UTC to replay from`
                : `restore: stack ${stack} has no backup to replay from`,
        );
    return base.short_id;
}

/** `<source>/<file>` lines of the streamer's directory, grouped by source (valid names only, in order). */
export function groupSources(listing: string): Array<{ name: string; files: string[] }> {
    const bySource = new Map<string, string[]>();
    for (const line of listing.split("\n")) {
        const [source, file, extra] = line.trim().split("/");
        if (!source || !file || extra !== undefined) continue;
        bySource.set(source, [...(bySource.get(source) ?? []), file]);
    }
    return followSourceDirs([...bySource.keys()])
        .map((name) => ({ name, files: sourceFiles(bySource.get(name)!) }))
        .filter((s) => s.files.length > 0);
}

/**
 * The bash that writes the replay's SQL to stdout on the streamer: each segment's reader in order, then the filter.
 * @param database Replay only this database's changes (`--database`: a logical base restored that database alone;
 * a physical base is the whole server, so everything is replayed). @default every database
 */
export function replayReadScript(plan: FollowReplayPlan, database?: string): string {
    if (database !== undefined && !/^[A-Za-z0-9_]{1,64}$/.test(database)) throw new Error(`restore: invalid database name "${database}"`);
    const reader = (r: string[]) => [r[0], ...(database ? [`--database=${database}`] : []), ...r.slice(1)].map(q).join(" ");
    return [
        "set -euo pipefail",
        "export TZ=UTC",
        `{ ${plan.readers.map((r) => `${reader(r)};`).join(" ")} } | ${GTID_SEQ_FILTER.map(q).join(" ")}`,
        "",
    ].join("\n");
}

/** Indexes what the streamer holds and plans the replay from `startGtid` to the target; throws when it cannot reach it. */
export function planReplay(access: StackAccess, stream: Target, startGtid: string, target: PitrTarget): FollowReplayPlan {
    const listing = access.run(stream, `cd ${q(BINLOG_DIR)} && find . -mindepth 2 -maxdepth 2 -type f -printf '%P\\n'`);
    const sources = groupSources(listing).map((s) =>
        parseSourceIndex(s.name, s.files, access.run(stream, `exec bash -c ${q(sourceIndexScript(`${BINLOG_DIR}/${s.name}`, s.files))}`)),
    );
    if (sources.length === 0) throw new Error(`restore: the binlog streamer (${stream.name}) holds no streamed binlog in ${BINLOG_DIR}`);
    const plan = followReplayPlan({ startGtid, target, binlogDir: BINLOG_DIR, sources });
    if (!plan.reached)
        throw new Error(
            `restore: the streamed binlogs end at ${plan.last}, before ${target.kind === "time" ? `${target.utc} UTC` : target.gtid}; nothing was restored`,
        );
    return plan;
}

/** Runs the planned replay into the writable server; returns the number of transactions read. */
export function runReplay(access: StackAccess, stream: Target, master: Target, plan: FollowReplayPlan, database?: string): number {
    if (plan.segments.length === 0) return 0;
    sh(
        `${access.command(stream, `exec bash -c ${q(replayReadScript(plan, database))}`)} | ${access.command(master, dbRootScript(master, MARIADB_REPLAY_CLIENT))}`,
    );
    return plan.segments.reduce((n, s) => n + s.count, 0);
}
