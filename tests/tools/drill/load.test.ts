import { strict as assert } from "node:assert";
import * as http from "node:http";
import { describe, it } from "node:test";
import { drillTable } from "../../../tools/drill/balancerDrill";
import { fetchOnce, interruption, recoveredAfter, RequestRecord, startLoad, steadyAgain } from "../../../tools/drill/load";

const rec = (start: number, end: number, status: number, error?: string): RequestRecord => ({
    start,
    end,
    status,
    ...(error ? { error } : {}),
});

describe("interruption", () => {
    it("measures the longest stretch without a success, and separates failures in flight at the event", () => {
        const records = [
            rec(0, 100, 200),
            rec(100, 200, 200),
            rec(950, 6000, 0, "timeout"), // in flight at the event (1000): started before, ended after
            rec(1010, 2900, 200), // a new connection that waited for the address to move
            rec(1020, 1500, 502), // failed after the event: not in flight
            rec(2950, 3000, 200),
            rec(3000, 3100, 200),
        ];
        const r = interruption(records, 1000, 0, 7000);
        assert.equal(r.requests, 7);
        assert.equal(r.failed, 2);
        assert.equal(r.failedInFlight, 1);
        assert.deepEqual(r.errors, { timeout: 1, "HTTP 502": 1 });
        // Successes at 200 and 2900: a 2.7 s gap; then 3100 → 7000 (the window's end) is 3.9 s.
        assert.equal(r.gapS, 3.9);
        assert.equal(interruption(records, 1000, 0, 3100).gapS, 2.7);
    });

    it("counts a request started while the signal was being sent as in flight", () => {
        const records = [
            rec(990, 1200, 0, "read ECONNRESET"),
            rec(1030, 1100, 0, "read ECONNRESET"),
            rec(1060, 1300, 0, "read ECONNRESET"),
        ];
        assert.equal(interruption(records, 1000, 0, 2000).failedInFlight, 1);
        assert.equal(interruption(records, 1000, 0, 2000, 1050).failedInFlight, 2);
    });

    it("counts only requests that ended inside the window", () => {
        const r = interruption([rec(0, 50, 200), rec(60, 5000, 200)], 100, 100, 1000);
        assert.equal(r.requests, 0);
        assert.equal(r.gapS, 0.9);
    });
});

describe("recoveredAfter", () => {
    it("times recovery from the first success after the last failure, not from a request that slipped through", () => {
        const records = [
            rec(900, 950, 200),
            rec(1010, 1030, 200), // answered before the kill took effect
            rec(1020, 3000, 0, "timeout"),
            rec(1100, 1500, 503),
            rec(4000, 4300, 503),
            rec(4400, 4700, 200),
            rec(4500, 4600, 200),
            rec(4800, 4900, 200),
        ];
        assert.equal(recoveredAfter(records, 1000), 3.6); // 4600 − 1000
        assert.equal(recoveredAfter([rec(1200, 1300, 200)], 1000), 0.3);
        assert.equal(recoveredAfter([rec(1200, 1300, 503)], 1000), Infinity);
    });

    it("times recovery from the end of the longest stretch without a success when requests waited instead of failing", () => {
        const waited = [
            rec(900, 950, 200),
            rec(1005, 1025, 200), // slipped through while the kill landed
            rec(1030, 5900, 200),
            rec(1040, 5910, 200), // held until the promoted server took them
            rec(5920, 5950, 200),
            rec(5960, 5990, 200),
        ];
        assert.equal(recoveredAfter(waited, 1000), 4.9); // 5900 − 1000, not 0.025
    });
});

describe("steadyAgain", () => {
    const ok = (start: number) => rec(start, start + 20, 200);
    it("needs the last N finished requests to succeed, all started a settling time after the event", () => {
        const slipped = [ok(1005), ok(1010), ok(1015)];
        assert.equal(steadyAgain(slipped, 1000, 3), false, "requests that slipped through while the kill landed");
        const back = [...slipped, rec(1100, 1200, 503), ok(2100), ok(2200), ok(2300)];
        assert.equal(steadyAgain(back, 1000, 3), true);
        assert.equal(steadyAgain([...back, rec(2400, 2410, 503)], 1000, 3), false, "a failure after it");
        assert.equal(steadyAgain([...back, { start: 2500, end: 0, status: 0 }], 1000, 3), true, "requests in flight do not count yet");
        assert.equal(steadyAgain([ok(2100), ok(2200)], 1000, 3), false, "too few");
    });
});

/** Waits until `done()` holds (polling), so the test does not depend on how fast a busy machine runs it. */
async function until(what: string, done: () => boolean, timeoutMs = 20_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!done()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
    }
}
const finished = (load: { seen(): readonly { end: number }[] }) => load.seen().filter((r) => r.end > 0).length;

describe("startLoad", () => {
    it("records every request against a real server, failures with their reason", async () => {
        let n = 0;
        const server = http.createServer((_req, res) => {
            n++;
            res.writeHead(n % 3 === 0 ? 503 : 200).end("x");
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        const { port } = server.address() as { port: number };
        const load = startLoad(`http://127.0.0.1:${port}/`, { concurrency: 2, pauseMs: 5 });
        await until("10 requests answered", () => finished(load) >= 10);
        const records = await load.stop();
        server.close();
        assert.equal(records.length, n);
        assert.ok(n >= 10, `only ${n} requests`);
        assert.equal(records.filter((r) => r.status === 503).length, Math.floor(n / 3));
        assert.ok(records.every((r) => r.end >= r.start));
        const refused = startLoad("http://127.0.0.1:1/", { concurrency: 1 });
        await until("a refused request", () => finished(refused) >= 1);
        const failed = await refused.stop();
        assert.ok(failed.length >= 1 && failed.every((r) => r.status === 0 && /ECONNREFUSED/.test(r.error!)));
    });
    it("numbers requests, builds each URL from its number, keeps bodies when asked and shows records in flight", async () => {
        const server = http.createServer((req, res) => res.writeHead(200).end(`got ${req.url}`));
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        const { port } = server.address() as { port: number };
        const load = startLoad((seq) => `http://127.0.0.1:${port}/w?value=${seq}`, { concurrency: 2, pauseMs: 5, keepBody: true });
        await until("2 requests answered", () => finished(load) >= 2);
        const midway = load.seen().length;
        const records = await load.stop();
        assert.ok(midway >= 2 && midway <= records.length, `${midway} of ${records.length}`);
        assert.deepEqual(
            records.map((r) => r.seq).sort((a, b) => a! - b!),
            records.map((_, i) => i + 1),
        );
        assert.ok(
            records.every((r) => r.body === `got /w?value=${r.seq}`),
            JSON.stringify(records.slice(0, 3)),
        );
        const plain = startLoad(`http://127.0.0.1:${port}/`, { concurrency: 1 });
        await until("a plain request answered", () => finished(plain) >= 1);
        const bare = await plain.stop();
        server.close();
        assert.ok(bare.length >= 1 && bare.every((r) => r.status === 200 && r.body === undefined), JSON.stringify(bare[0]));
    });
});

describe("fetchOnce", () => {
    it("sends the cookie, returns status, body and the cookies set, and rejects when nothing answers", async () => {
        const server = http.createServer((req, res) =>
            res.writeHead(201, { "Set-Cookie": ["PHPSESSID=abc; path=/", "BXSRV=web-1"] }).end(`cookie=${req.headers.cookie ?? ""}`),
        );
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        const { port } = server.address() as { port: number };
        const r = await fetchOnce(`http://127.0.0.1:${port}/x`, "BXSRV=web-2");
        server.close();
        assert.deepEqual(r, { status: 201, body: "cookie=BXSRV=web-2", setCookie: ["PHPSESSID=abc; path=/", "BXSRV=web-1"] });
        await assert.rejects(fetchOnce("http://127.0.0.1:1/"), /ECONNREFUSED/);
    });
});

describe("drillTable", () => {
    it("prints one row per step with its figures and result", () => {
        const table = drillTable([
            {
                step: "kill the holder (SIGKILL)",
                target: "bx-balancer-1",
                takeoverS: 1.72,
                holderAfter: "bx-balancer-2",
                signalS: 0.05,
                requests: 180,
                failed: 3,
                failedInFlight: 3,
                gapS: 2.95,
                errors: {},
                pass: true,
            },
        ]);
        assert.match(table, /^step\s+balancer\s+takeover s\s+gap s/);
        assert.match(table, /kill the holder \(SIGKILL\)\s+bx-balancer-1\s+1\.72\s+2\.95\s+180\s+3\s+3\s+bx-balancer-2\s+pass/);
    });
});
