/**
 * The soak drill on a Docker stack: steady session, cache and database writes through the floating address for
 * `minutes`, and nothing killed. Every failure detector of the cluster acts within seconds (Sentinel's down-after,
 * the node-local Redis proxies' checks, the balancers' web checks, VRRP, the database failover manager), so a busy
 * machine could make one of them act when nothing failed. The drill compares what it finds before and after (the
 * Redis master, the database master, the floating address's holder, each balancer's count of web servers marked
 * DOWN) and counts what Sentinel and the failover manager logged in the window. Goal: no failover, no request failed.
 */
import { holders } from "./balancerDrill";
import { writable } from "./dbMasterDrill";
import { docker } from "./docker";
import { interruption, Interruption, RequestRecord, startLoad } from "./load";
import { findRedisMaster } from "./redisMasterDrill";
import { webServerRows } from "../balancerStatus";
import { statusCsv } from "./webNodeDrill";

export interface SoakDrillInput {
    base: string;
    /** Container names start with this (the stack's `namePrefix`). */
    prefix: string;
    /** Each balancer's status page, first to last. */
    statusUrls: string[];
    /** "" with one balancer. */
    floatingAddress: string;
    redisNodes: number;
    sentinels: number;
    dbReplicas: number;
    /** @default 10 */
    minutes?: number;
    /** Parallel request loops. @default 6 */
    concurrency?: number;
    log?: (line: string) => void;
}

/** Where each role is, and what the balancers have counted so far. */
export interface ClusterRoles {
    redisMaster: string;
    dbMaster: string;
    /** The balancer holding the floating address ("" with one balancer). */
    addressHolder: string;
    /** Per balancer: web server → times HAProxy marked it DOWN since it started (the status page's `chkdown`). */
    webDowns: Array<Record<string, number>>;
}

export interface SoakDrillResult extends Interruption {
    minutes: number;
    before: ClusterRoles;
    after: ClusterRoles;
    /** Sentinel log lines in the window that start or make a failover (objectively down, election, new master). */
    sentinelEvents: string[];
    /**
     * Sentinel log lines in the window where one sentinel alone saw an instance down (`+sdown`/`-sdown`): no failover
     * without a quorum agreeing, but a near miss (often the sentinel itself stalled: it then sees everything down).
     */
    sentinelNearMisses: string[];
    /** Failover manager log lines in the window that promote or fence a server. */
    dbManagerEvents: string[];
    /** Web servers marked DOWN by a balancer in the window (summed over balancers). */
    webDowns: number;
    /** Slowest request and the 99th percentile, in seconds. */
    slowestS: number;
    p99S: number;
    pass: boolean;
}

/** Each web server's `chkdown` from a balancer's status page CSV (column named in its header line). */
export function webDownCounts(csv: string): Record<string, number> {
    return Object.fromEntries(Object.entries(webServerRows(csv)).map(([server, r]) => [server, r.chkdown]));
}

/** Lines that mean a detector acted: Sentinel's failover events, the manager's promotions and fencing. */
export const SENTINEL_EVENT = /[+-](odown|try-failover|switch-master|failover-end|elected-leader)\b/;
/** One sentinel's own view that an instance is down (its quorum decides whether anything happens). */
export const SENTINEL_NEAR_MISS = /[+-]sdown\b/;
export const DB_MANAGER_EVENT = /promot|failing over|unreachable|read-only/i;

async function logsSince(container: string, since: string): Promise<string[]> {
    // Sentinel and the manager log to the container's output (stdout and stderr).
    const out = await docker(["logs", "--since", since, container]).catch(() => "");
    return out.split("\n").filter(Boolean);
}

async function roles(input: SoakDrillInput): Promise<ClusterRoles> {
    const dbServers = [
        `${input.prefix}-db-master`,
        ...Array.from({ length: input.dbReplicas }, (_, i) => `${input.prefix}-db-replica-${i + 1}`),
    ];
    const writes = await Promise.all(dbServers.map(writable));
    const balancers = input.statusUrls.map((_, i) => `${input.prefix}-balancer-${i + 1}`);
    return {
        redisMaster: await findRedisMaster(input.prefix, input.redisNodes),
        dbMaster: dbServers.filter((_, i) => writes[i]).join(",") || "none",
        addressHolder: input.floatingAddress ? (await holders(balancers, input.floatingAddress)).join(",") : "",
        webDowns: await Promise.all(input.statusUrls.map(async (u) => webDownCounts(await statusCsv(u)))),
    };
}

function percentile(sorted: number[], p: number): number {
    if (sorted.length === 0) return 0;
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export async function soakDrill(input: SoakDrillInput): Promise<SoakDrillResult> {
    const log = input.log ?? (() => undefined);
    const minutes = input.minutes ?? 10;
    const before = await roles(input);
    const since = new Date().toISOString();
    const run = `s${Date.now().toString(36)}`;
    // Thirds: a session write, a cache write, a database row (through the write route to the master).
    const load = startLoad(
        (seq) =>
            seq % 3 === 0
                ? `${input.base}/probe/?action=session`
                : seq % 3 === 1
                  ? `${input.base}/probe/?action=cache&key=soak-${seq % 16}&value=${seq}`
                  : `${input.base}/probe/?action=write&value=${run}-${seq}`,
        { concurrency: input.concurrency ?? 6, timeoutMs: 10_000 },
    );
    let records: RequestRecord[] = [];
    try {
        for (let m = 1; m <= minutes; m++) {
            await new Promise((r) => setTimeout(r, 60_000));
            const seen = load.seen();
            log(`drill soak: ${m}/${minutes} min, ${seen.length} requests, ${seen.filter((r) => r.end && r.status !== 200).length} failed`);
        }
    } finally {
        records = await load.stop();
    }
    const after = await roles(input);
    const sentinels = Array.from({ length: input.sentinels }, (_, i) => `${input.prefix}-sentinel-${i + 1}`);
    const sentinelLines = (await Promise.all(sentinels.map(async (c) => (await logsSince(c, since)).map((l) => `${c}: ${l}`)))).flat();
    const sentinelEvents = sentinelLines.filter((l) => SENTINEL_EVENT.test(l));
    const sentinelNearMisses = sentinelLines.filter((l) => SENTINEL_NEAR_MISS.test(l));
    const dbManagerEvents = (await logsSince(`${input.prefix}-db-failover`, since)).filter((l) => DB_MANAGER_EVENT.test(l));
    const webDowns = after.webDowns.reduce(
        (sum, counts, i) => sum + Object.entries(counts).reduce((s, [server, n]) => s + n - (before.webDowns[i]?.[server] ?? 0), 0),
        0,
    );
    const end = records[records.length - 1]?.end ?? 0;
    const durations = records
        .filter((r) => r.end)
        .map((r) => r.end - r.start)
        .sort((a, b) => a - b);
    const summary = interruption(records, 0, 0, end);
    const same =
        before.redisMaster === after.redisMaster && before.dbMaster === after.dbMaster && before.addressHolder === after.addressHolder;
    return {
        ...summary,
        minutes,
        before,
        after,
        sentinelEvents,
        sentinelNearMisses,
        dbManagerEvents,
        webDowns,
        slowestS: Math.round(durations[durations.length - 1] ?? 0) / 1000,
        p99S: Math.round(percentile(durations, 99)) / 1000,
        pass: same && sentinelEvents.length === 0 && dbManagerEvents.length === 0 && webDowns === 0 && summary.failed === 0,
    };
}
