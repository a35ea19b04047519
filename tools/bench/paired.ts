/**
 * Paired runs for the peer rows: ours, the peer, ours, the peer, … so that drift on a shared machine (another
 * process, a warming cache) falls on both sides alike; every run is kept, the sides are compared by their means.
 */
/** One run's figures, whichever tool made the load. */
export interface RunFigures {
    reqPerS: number;
    p50Ms: number;
    p99Ms: number;
    requests: number;
    /** Requests that failed: socket errors and timeouts, answers other than 2xx/3xx. */
    errors: number;
}

/**
 * keep-alive: requests one after another on open connections; new-connection: a connection per request, the TLS
 * session resumed (wrk); full-handshake: a connection per request with a full TLS handshake (node, no session kept).
 */
export type Mode = "keep-alive" | "new-connection" | "full-handshake";

export interface Side {
    /** Every run, in the order they ran. */
    runs: RunFigures[];
    /** Means over the runs. */
    reqPerS: number;
    p50Ms: number;
    p99Ms: number;
    /** Sum over the runs. */
    errors: number;
}

export interface Comparison {
    /** What generated the load. */
    tool: string;
    mode: Mode;
    ours: Side;
    peer: Side;
    /** Ours relative to the peer, > 1 is ours better: req/s ours ÷ peer; latency peer ÷ ours. */
    ratio: { reqPerS: number; p50: number; p99: number };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

export function side(runs: RunFigures[]): Side {
    if (runs.length === 0) throw new Error("paired: a side with no runs");
    return {
        runs,
        reqPerS: Math.round(mean(runs.map((r) => r.reqPerS))),
        p50Ms: round(mean(runs.map((r) => r.p50Ms)), 2),
        p99Ms: round(mean(runs.map((r) => r.p99Ms)), 2),
        errors: runs.reduce((n, r) => n + r.errors, 0),
    };
}

/** `ratio` of x to y, 0 when y is 0 (nothing to compare with). */
const ratio = (x: number, y: number) => (y > 0 ? round(x / y, 2) : 0);

export function compare(tool: string, mode: Mode, ours: RunFigures[], peer: RunFigures[]): Comparison {
    const a = side(ours);
    const b = side(peer);
    return {
        tool,
        mode,
        ours: a,
        peer: b,
        ratio: { reqPerS: ratio(a.reqPerS, b.reqPerS), p50: ratio(b.p50Ms, a.p50Ms), p99: ratio(b.p99Ms, a.p99Ms) },
    };
}

/** `pairs` × (ours, then the peer), one at a time. */
export async function pairedRuns(
    pairs: number,
    ours: () => Promise<RunFigures>,
    peer: () => Promise<RunFigures>,
): Promise<{ ours: RunFigures[]; peer: RunFigures[] }> {
    const out = { ours: [] as RunFigures[], peer: [] as RunFigures[] };
    for (let i = 0; i < pairs; i++) {
        out.ours.push(await ours());
        out.peer.push(await peer());
    }
    return out;
}
