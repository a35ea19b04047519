/**
 * The balancer drill on a Docker stack with two or more balancers: under steady load through the floating address,
 * (1) kill the balancer holding the address (SIGKILL, as a crash), (2) start it again, (3) stop the new holder
 * cleanly (SIGTERM, as in maintenance), (4) start that one again. For each step it reports the gap (longest time
 * without a successful response), the failed requests and how many of them were in flight at that moment, and who
 * holds the address afterwards. Goal: gap ≤ 3 s and no failures other than requests in flight.
 */
import { docker, healthy, waitUntil } from "./docker";
import { interruption, Interruption, RequestRecord, startLoad } from "./load";

export interface BalancerDrillInput {
    /** The stack's floating address. */
    floatingAddress: string;
    /** The balancers' container names. */
    containers: string[];
    /** URL the load requests, through the floating address. */
    url: string;
    /** Parallel request loops. @default 4 */
    concurrency?: number;
    /** Seconds each step is watched after its event. @default 8 */
    watchS?: number;
    log?: (line: string) => void;
}

export interface DrillStep extends Interruption {
    step: string;
    /** The balancer acted on. */
    target: string;
    /** Seconds from the event until another balancer held the address (steps that move it). */
    takeoverS?: number;
    /** Who holds the address at the end of the step. */
    holderAfter: string;
    /** Seconds between asking for the signal and being told it was sent (the in-flight window). */
    signalS: number;
    pass: boolean;
}

export const GOAL = { gapS: 3 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The balancers whose eth0 carries the floating address right now. */
export async function holders(containers: string[], address: string): Promise<string[]> {
    const holds = await Promise.all(
        containers.map(async (c) => {
            try {
                return (await docker(["exec", c, "ip", "-4", "-o", "addr", "show", "dev", "eth0"])).includes(` ${address}/32 `);
            } catch {
                return false; // stopped or killed
            }
        }),
    );
    return containers.filter((_, i) => holds[i]);
}

export async function balancerDrill(input: BalancerDrillInput): Promise<DrillStep[]> {
    const log = input.log ?? (() => undefined);
    const watch = (input.watchS ?? 8) * 1000;
    const { containers, floatingAddress: vip } = input;
    if (containers.length < 2) throw new Error("drill balancer: needs two or more balancers (config balancers)");
    const single = async () => {
        const h = await holders(containers, vip);
        if (h.length !== 1)
            throw new Error(`drill balancer: ${h.length} balancers hold ${vip} (${h.join(", ") || "none"}); expected exactly one`);
        return h[0];
    };
    await waitUntil("every balancer healthy", async () => (await Promise.all(containers.map(healthy))).every(Boolean), 60_000);
    const load = startLoad(input.url, { concurrency: input.concurrency ?? 4 });
    const events: Array<{ step: string; target: string; at: number; atLatest: number; takeoverS?: number; holderAfter: string }> = [];
    let records: RequestRecord[] = [];
    try {
        await sleep(2000);
        for (const [step, signal] of [
            ["kill the holder (SIGKILL)", "kill"],
            ["stop the holder cleanly (SIGTERM)", "stop"],
        ] as const) {
            const target = await single();
            log(`drill: ${step}: ${target}`);
            const at = load.now();
            // `docker kill` returns once the signal is sent; `docker stop` only when the container has ended, so a clean
            // stop's moment is when it was asked for.
            let atLatest = at;
            const acted = docker(signal === "kill" ? ["kill", target] : ["stop", "-t", "15", target]).then(() => {
                if (signal === "kill") atLatest = load.now();
            });
            const takeoverS = await waitUntil(
                `another balancer taking ${vip}`,
                async () => (await holders(containers, vip)).some((h) => h !== target),
                15_000,
            );
            await acted;
            await sleep(Math.max(0, watch - (load.now() - at)));
            events.push({ step, target, at, atLatest, takeoverS, holderAfter: await single() });
            log(`drill: start ${target} again`);
            const back = load.now();
            await docker(["start", target]);
            await waitUntil(`${target} healthy again`, () => healthy(target), 60_000);
            await sleep(3000);
            events.push({
                step: `start ${signal === "kill" ? "the killed" : "the stopped"} balancer again`,
                target,
                at: back,
                atLatest: back,
                holderAfter: await single(),
            });
        }
    } finally {
        records = await load.stop();
    }
    return events.map((e, i) => {
        const end = i + 1 < events.length ? events[i + 1].at : (records[records.length - 1]?.end ?? e.at + watch);
        const seen = interruption(records, e.at, e.at - 1000, end, e.atLatest);
        const { atLatest: _, ...step } = e;
        return {
            ...step,
            signalS: Math.round(e.atLatest - e.at) / 1000,
            ...seen,
            pass: seen.gapS <= GOAL.gapS && seen.failed === seen.failedInFlight,
        };
    });
}

/** The drill's steps as a plain-text table. */
export function drillTable(steps: DrillStep[]): string {
    const rows = steps.map((s) => [
        s.step,
        s.target,
        s.takeoverS === undefined ? "" : s.takeoverS.toFixed(2),
        s.gapS.toFixed(2),
        String(s.requests),
        String(s.failed),
        String(s.failedInFlight),
        s.holderAfter,
        s.pass ? "pass" : "FAIL",
    ]);
    const head = ["step", "balancer", "takeover s", "gap s", "requests", "failed", "in flight", "holder after", "result"];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) =>
        cells
            .map((c, i) => c.padEnd(widths[i]))
            .join("  ")
            .trimEnd();
    return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
