/**
 * wrk (Debian's `wrk`, C, epoll) as the benchmark's load for the peer rows: one thread, a fixed number of
 * connections, a fixed time. Keep-alive: each connection sends its requests one after another. New connection per
 * request: the request says `Connection: close`, the server closes after answering and wrk connects again, resuming
 * its TLS session (wrk keeps the session of its connection's previous handshake: an abbreviated handshake, no
 * certificate signature, as a returning browser). wrk's latency runs from writing the request to the end of the
 * answer, so the handshake shows in req/s, not in the percentiles.
 */
import { execFile } from "child_process";
import { RunFigures } from "./paired";

/** wrk's two ways: keep-alive, or a new connection per request (TLS session resumed). */
export type WrkMode = "keep-alive" | "new-connection";

export interface WrkOptions {
    mode: WrkMode;
    /** @default 8 */
    connections?: number;
    /** @default 10 */
    seconds?: number;
}

export function wrkArgs(url: string, opts: WrkOptions): string[] {
    const connections = opts.connections ?? 8;
    const seconds = opts.seconds ?? 10;
    if (!/^https?:\/\/\S+$/.test(url)) throw new Error(`wrk: ${JSON.stringify(url)} is not an http(s) URL`);
    for (const [k, v] of Object.entries({ connections, seconds }))
        if (!Number.isInteger(v) || v < 1) throw new Error(`wrk: ${k} must be a positive integer, got ${v}`);
    return [
        "-t1",
        `-c${connections}`,
        `-d${seconds}s`,
        // A request without an answer in this long counts as a timeout error.
        "--timeout",
        "5s",
        "--latency",
        ...(opts.mode === "new-connection" ? ["-H", "Connection: close"] : []),
        url,
    ];
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function ms(value: string, unit: string): number {
    const factor = UNIT_MS[unit];
    if (factor === undefined) throw new Error(`wrk: unknown time unit ${unit}`);
    return Math.round(Number(value) * factor * 100) / 100;
}

/** The figures in wrk's report (run with --latency). */
export function parseWrk(stdout: string): RunFigures {
    const rate = /^Requests\/sec:\s+([\d.]+)/m.exec(stdout);
    const requests = /^\s*(\d+) requests in /m.exec(stdout);
    const pct = (p: number) => {
        const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(stdout);
        if (!m) throw new Error(`wrk: no ${p}% latency in its report:\n${stdout}`);
        return ms(m[1], m[2]);
    };
    if (!rate || !requests) throw new Error(`wrk: no request rate in its report:\n${stdout}`);
    const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
    const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
    const errors = (socket ? socket.slice(1).reduce((n, v) => n + Number(v), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0);
    return { reqPerS: Math.round(Number(rate[1])), p50Ms: pct(50), p99Ms: pct(99), requests: Number(requests[1]), errors };
}

/** Runs wrk and returns its figures. */
export function runWrk(url: string, opts: WrkOptions): Promise<RunFigures> {
    const args = wrkArgs(url, opts);
    return new Promise((resolve, reject) =>
        execFile("wrk", args, { encoding: "utf8", timeout: ((opts.seconds ?? 10) + 30) * 1000 }, (err, stdout, stderr) => {
            if (err) reject(new Error(`wrk ${args.join(" ")} failed (is Debian's wrk installed?): ${err.message}\n${stderr}`));
            else {
                try {
                    resolve(parseWrk(stdout));
                } catch (e) {
                    reject(e instanceof Error ? e : new Error(String(e)));
                }
            }
        }),
    );
}
