/**
 * The rolling-update drill on a Docker stack: under steady load through the floating address, a PHP setting is
 * changed in the stack's config and `pulumi up` runs. Every web node is replaced; the drill watches the balancer's
 * status page the whole time and checks that the nodes left rotation one at a time (each drained before it stopped,
 * back UP before the next one left), that every node runs the new setting afterwards, and counts failed requests.
 * Goal: 0 failed requests, never fewer than (nodes − 1) nodes in rotation.
 */
import { docker, waitUntil } from "./docker";
import { interruption, Interruption, RequestRecord, startLoad } from "./load";
import { webServerRows } from "../balancerStatus";
import { statusCsv, webStates } from "./webNodeDrill";

export interface RollingUpdateDrillInput {
    /** e.g. https://172.28.20.5 */
    base: string;
    /** The status page of the balancer holding the floating address. */
    statusUrl: string;
    /** Web node containers, in order (`<prefix>-web-N`); their servers at the balancer are `web-N`. */
    webs: string[];
    /** The php.ini setting to watch and the value it must have afterwards, e.g. ["memory_limit", "384M"]. */
    setting: [string, string];
    /** Changes the setting in the stack's config and runs `pulumi up`; resolves with the update's seconds. */
    update: () => Promise<number>;
    /** @default 4 */
    concurrency?: number;
    log?: (line: string) => void;
}

/** One stretch of a server out of rotation at the balancer, in seconds from the start of the update. */
export interface OutOfRotation {
    server: string;
    fromS: number;
    toS: number;
    /** The balancer's last check of the server when it left rotation ("L7STS 503 3ms" = drained, "L7TOUT 501ms"). */
    check?: string;
}

/** One look at the status page: each server's state and last check, at `t` (the load's clock or seconds). */
export interface Sample {
    t: number;
    states: Record<string, string>;
    checks?: Record<string, string>;
}

export interface RollingUpdateDrillResult extends Interruption {
    updateS: number;
    /** Stretches each server spent out of rotation (not UP), in the order they began. */
    outOfRotation: OutOfRotation[];
    /** Fewest servers UP at once during the update. */
    minUp: number;
    /** Every container was replaced (new id) and runs the new setting. */
    replaced: boolean;
    applied: boolean;
    pass: boolean;
}

/** Out-of-rotation stretches from timed samples of every server's state. */
export function stretches(samples: Sample[], servers: string[]): OutOfRotation[] {
    const out: OutOfRotation[] = [];
    const open = new Map<string, { fromS: number; check?: string }>();
    for (const { t, states, checks } of samples) {
        for (const s of servers) {
            const up = (states[s] ?? "").startsWith("UP");
            if (!up && !open.has(s)) open.set(s, { fromS: t, ...(checks?.[s] ? { check: checks[s] } : {}) });
            if (up && open.has(s)) {
                out.push({ server: s, ...open.get(s)!, toS: t });
                open.delete(s);
            }
        }
    }
    const end = samples[samples.length - 1]?.t ?? 0;
    for (const [server, o] of open) out.push({ server, ...o, toS: end });
    return out.sort((a, b) => a.fromS - b.fromS);
}

/** "web-1 8.5–19.5 s (L7STS 503 3ms), web-2 26.8–37.8 s": the stretches for a report line, with the check that took each out. */
export function formatStretches(out: readonly OutOfRotation[]): string {
    return out.map((o) => `${o.server} ${o.fromS.toFixed(1)}–${o.toS.toFixed(1)} s${o.check ? ` (${o.check})` : ""}`).join(", ");
}

/** The value PHP-FPM runs with for an ini setting inside a web node. */
async function fpmIni(container: string, key: string): Promise<string> {
    const out = await docker(["exec", container, "php-fpm8.2", "-i"]);
    return new RegExp(`^${key} => (\\S+)`, "m").exec(out)?.[1] ?? "";
}

/** How long the drill waits for every web node to be UP at the balancer before it starts. */
export const PRECONDITION_WAIT_MS = 30_000;

export async function rollingUpdateDrill(input: RollingUpdateDrillInput): Promise<RollingUpdateDrillResult> {
    const log = input.log ?? (() => undefined);
    const servers = input.webs.map((w) => w.replace(/^.*-(web-\d+)$/, "$1"));
    // Every node UP at this balancer before the update starts. A drill just before may have restarted a node and
    // seen it UP at another balancer, whose checks run at other moments: this one may still be a check behind.
    const t0 = performance.now();
    let first = await webStates(input.statusUrl);
    while (!servers.every((s) => first[s] === "UP")) {
        if (performance.now() - t0 > PRECONDITION_WAIT_MS)
            throw new Error(`drill rolling-update: not every web node is UP at the balancer: ${JSON.stringify(first)}`);
        await new Promise((r) => setTimeout(r, 200));
        first = await webStates(input.statusUrl);
    }
    const ids = async () => Promise.all(input.webs.map(async (w) => (await docker(["inspect", "-f", "{{.Id}}", w])).trim()));
    const before = await ids();

    const load = startLoad(`${input.base}/probe/?action=node`, { concurrency: input.concurrency ?? 4 });
    const samples: Sample[] = [];
    let watching = true;
    let at = 0;
    let updateS = 0;
    let records: RequestRecord[] = [];
    // Samples carry the load's clock (ms); a status page that did not answer is no sample (not "every node out").
    const watcher = (async () => {
        while (watching) {
            const rows = await statusCsv(input.statusUrl)
                .then(webServerRows)
                .catch(() => undefined);
            if (rows)
                samples.push({
                    t: load.now(),
                    states: Object.fromEntries(Object.entries(rows).map(([s, r]) => [s, r.status])),
                    checks: Object.fromEntries(Object.entries(rows).map(([s, r]) => [s, r.check])),
                });
            await new Promise((r) => setTimeout(r, 200));
        }
    })();
    try {
        await new Promise((r) => setTimeout(r, 1500));
        at = load.now();
        log(`drill: pulumi up with ${input.setting.join(" = ")}`);
        updateS = await input.update();
        log(`drill: pulumi up took ${updateS} s; waiting for every node UP`);
        await waitUntil(
            "every web node UP after the update",
            async () => {
                const s = await webStates(input.statusUrl).catch((): Record<string, string> => ({}));
                return servers.every((x) => s[x] === "UP");
            },
            60_000,
        );
        await new Promise((r) => setTimeout(r, 1000));
    } finally {
        watching = false;
        await watcher;
        records = await load.stop();
    }
    const during = samples.filter((s) => s.t >= at).map((s) => ({ ...s, t: (s.t - at) / 1000 }));
    const outOfRotation = stretches(during, servers);
    const minUp = Math.min(...during.map((s) => servers.filter((x) => (s.states[x] ?? "").startsWith("UP")).length));
    const after = await ids();
    const replaced = after.every((id, i) => id !== before[i]);
    const values = await Promise.all(input.webs.map((w) => fpmIni(w, input.setting[0])));
    const applied = values.every((v) => v === input.setting[1]);
    const seen = interruption(records, at, at - 1000, records[records.length - 1]?.end ?? at);
    return {
        ...seen,
        updateS,
        outOfRotation,
        minUp,
        replaced,
        applied,
        pass: seen.failed === 0 && minUp >= servers.length - 1 && replaced && applied && outOfRotation.length >= servers.length,
    };
}
