/**
 * Steady load for the drills: `concurrency` loops, each sending one request at a time on a new connection (as
 * separate browsers would, so a dead connection cannot hide a moved address), recording every request's start,
 * end and outcome. Bounded by the caller's `stop()`.
 */
import * as http from "http";
import * as https from "https";

export interface RequestRecord {
    /** ms since the load started. */
    start: number;
    end: number;
    /** HTTP status, or 0 when the request got no response. */
    status: number;
    error?: string;
    /** The request's sequence number (from 1), as handed to a URL function. */
    seq?: number;
    /** The response body, when the load keeps bodies. */
    body?: string;
}

export interface LoadOptions {
    /** Parallel loops. @default 4 */
    concurrency?: number;
    /** A request without a response after this long counts as failed. @default 5000 */
    timeoutMs?: number;
    /** Pause between one loop's requests. @default 20 */
    pauseMs?: number;
    /** Keep each response's body in its record (the drills that count acknowledged writes). @default false */
    keepBody?: boolean;
    /** The Cookie header each loop sends (by loop index from 0), e.g. one user's session. @default no cookie */
    cookie?: (loop: number) => string;
}

export interface Load {
    /** ms since the load started. */
    now(): number;
    /** The records so far (requests in flight have end 0). */
    seen(): readonly RequestRecord[];
    /** Stops the loops, waits for requests in flight, returns every request's record in start order. */
    stop(): Promise<RequestRecord[]>;
}

/** `url` may be a function of the request's sequence number (unique values for writes). */
export function startLoad(url: string | ((seq: number) => string), opts: LoadOptions = {}): Load {
    const t0 = performance.now();
    const now = () => performance.now() - t0;
    const records: RequestRecord[] = [];
    let running = true;
    const urlOf = typeof url === "string" ? () => url : url;
    const client = new URL(urlOf(0)).protocol === "https:" ? https : http;
    let seq = 0;
    const once = (loop: number) =>
        new Promise<void>((resolve) => {
            const u = new URL(urlOf(++seq));
            const rec: RequestRecord = { start: now(), end: 0, status: 0, seq };
            records.push(rec);
            const done = (status: number, error?: string) => {
                if (rec.end) return;
                rec.end = now();
                rec.status = status;
                if (error) rec.error = error;
                resolve();
            };
            // The drills' certificates are the cluster's own (self-signed unless configured): the point is reachability.
            const cookie = opts.cookie?.(loop);
            const headers = cookie ? { Cookie: cookie } : {};
            const req = client.request(u, { agent: false, rejectUnauthorized: false, timeout: opts.timeoutMs ?? 5000, headers }, (res) => {
                if (opts.keepBody) {
                    let body = "";
                    res.setEncoding("utf8");
                    res.on("data", (c) => (body += c));
                    res.on("end", () => {
                        rec.body = body;
                        done(res.statusCode ?? 0);
                    });
                } else {
                    res.resume();
                    res.on("end", () => done(res.statusCode ?? 0));
                }
                res.on("error", (e) => done(0, e.message));
            });
            req.on("timeout", () => req.destroy(new Error("timeout")));
            req.on("error", (e) => done(0, e.message));
            req.end();
        });
    const loops = Array.from({ length: opts.concurrency ?? 4 }, async (_, loop) => {
        while (running) {
            await once(loop);
            await new Promise((r) => setTimeout(r, opts.pauseMs ?? 20));
        }
    });
    return {
        now,
        seen: () => records,
        async stop() {
            running = false;
            await Promise.all(loops);
            return records.sort((a, b) => a.start - b.start);
        },
    };
}

export interface Interruption {
    /** Requests in the window. */
    requests: number;
    /** Requests answered with a status other than 2xx/3xx, or not at all. */
    failed: number;
    /** Of those, requests that were in flight at the event (started before it, ended after). */
    failedInFlight: number;
    /** Longest time in the window with no request completing successfully, in seconds. */
    gapS: number;
    /** Error texts of the failures, counted. */
    errors: Record<string, number>;
}

const ok = (r: RequestRecord) => r.status >= 200 && r.status < 400;

/**
 * What the load saw around an event: requests that ended in [from, to]. The event happened at some moment in
 * [at, atLatest] (a signal is sent between asking for it and being told it was): a request that started before
 * `atLatest` and ended after `at` was in flight at that moment.
 */
export function interruption(records: RequestRecord[], at: number, from: number, to: number, atLatest = at): Interruption {
    const window = records.filter((r) => r.end >= from && r.end <= to);
    const failed = window.filter((r) => !ok(r));
    const successes = window
        .filter(ok)
        .map((r) => r.end)
        .sort((a, b) => a - b);
    let gap = 0;
    let last = from;
    for (const t of [...successes, to]) {
        gap = Math.max(gap, t - last);
        last = t;
    }
    const errors: Record<string, number> = {};
    for (const r of failed) {
        const key = r.error ?? `HTTP ${r.status}`;
        errors[key] = (errors[key] ?? 0) + 1;
    }
    return {
        requests: window.length,
        failed: failed.length,
        failedInFlight: failed.filter((r) => r.start < atLatest && r.end >= at).length,
        gapS: Math.round(gap) / 1000,
        errors,
    };
}

/**
 * Seconds from the event at `at` (ms) until the service worked again for good: the end of the outage, which is the
 * later of (a) the success that closed the longest stretch without a success after the event and (b) the first
 * success that started after the last failure. Requests that slipped through before the event took effect (a kill
 * takes a moment to land) do not count as recovery. Infinity when it never succeeded again.
 */
export function recoveredAfter(records: readonly RequestRecord[], at: number): number {
    const after = records.filter((r) => r.start > at);
    const lastFailure = Math.max(-Infinity, ...after.filter((r) => r.status !== 200).map((r) => r.start));
    const firstGood = after
        .filter((r) => r.status === 200 && r.start > lastFailure)
        .map((r) => r.end)
        .sort((a, b) => a - b)[0];
    if (firstGood === undefined) return Infinity;
    const ends = [at, ...records.filter((r) => r.status === 200 && r.end > at).map((r) => r.end)].sort((a, b) => a - b);
    let gapEnd = at;
    let longest = 0;
    for (let i = 1; i < ends.length; i++)
        if (ends[i] - ends[i - 1] > longest) {
            longest = ends[i] - ends[i - 1];
            gapEnd = ends[i];
        }
    return Math.round(Math.max(firstGood, gapEnd) - at) / 1000;
}

/**
 * Whether the service works again for good after the event at `at` (ms): the last `count` finished requests all
 * succeeded and all started at least `settleMs` after the event (so requests that slipped through while a kill
 * was landing cannot end a drill early).
 */
export function steadyAgain(records: readonly RequestRecord[], at: number, count = 10, settleMs = 1000): boolean {
    const tail = records
        .filter((r) => r.end > 0)
        .sort((a, b) => a.end - b.end)
        .slice(-count);
    return tail.length === count && tail.every((r) => r.status === 200 && r.start >= at + settleMs);
}

/** One GET (HTTPS with the cluster's own certificate accepted, or HTTP), a new connection, optional Cookie header. */
export function fetchOnce(url: string, cookie = ""): Promise<{ status: number; body: string; setCookie: string[] }> {
    const client = new URL(url).protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
        const req = client.request(
            url,
            { agent: false, rejectUnauthorized: false, timeout: 10_000, headers: cookie ? { Cookie: cookie } : {} },
            (res) => {
                let body = "";
                res.setEncoding("utf8");
                res.on("data", (c) => (body += c));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, body, setCookie: res.headers["set-cookie"] ?? [] }));
            },
        );
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", reject);
        req.end();
    });
}
