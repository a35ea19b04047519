/**
 * A new connection with a full TLS handshake per request, as first-time browsers: the drills' node load
 * (tools/drill/load.ts: no agent, so no TLS session is kept to resume), `concurrency` loops without pauses. Its
 * latency runs from opening the connection to the end of the answer, the handshake included. Node's client costs
 * more CPU per request than wrk; on a shared 2-core machine it takes the same share from both sides of a pair.
 */
import { RequestRecord, startLoad } from "../drill/load";
import { RunFigures } from "./paired";

/** The figures of finished requests over `seconds` (latency of the successful ones). */
export function figures(records: RequestRecord[], seconds: number): RunFigures {
    const ok = records.filter((r) => r.status >= 200 && r.status < 400);
    const lat = ok.map((r) => r.end - r.start).sort((a, b) => a - b);
    const pct = (p: number) => (lat.length ? Math.round(lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] * 100) / 100 : 0);
    return {
        reqPerS: Math.round(ok.length / seconds),
        p50Ms: pct(50),
        p99Ms: pct(99),
        requests: records.length,
        errors: records.length - ok.length,
    };
}

export async function runFullHandshake(url: string, opts: { seconds?: number; concurrency?: number } = {}): Promise<RunFigures> {
    const seconds = opts.seconds ?? 10;
    const load = startLoad(url, { concurrency: opts.concurrency ?? 8, pauseMs: 0 });
    await new Promise((r) => setTimeout(r, seconds * 1000));
    return figures(await load.stop(), seconds);
}
