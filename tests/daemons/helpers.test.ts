/**
 * The daemon tests' own helpers, where a failure has to explain itself: `Daemons.waitFor` stops waiting when a daemon
 * exits and reports each daemon's output; `listening` reports a taken port; `request` settles on a cut-off response.
 */
import { strict as assert } from "node:assert";
import * as http from "node:http";
import { after, describe, it } from "node:test";
import { Daemons } from "../helpers/daemons";
import { listening, request } from "../helpers/http";

// Below the kernel's ephemeral range (32768-60999), like every fixed port of the daemon tests.
const PORT = 32177;

describe("daemon test helpers: failures that say what happened", () => {
    const daemons = new Daemons();
    after(() => daemons.stopAll());

    it("fails at once, with its output, when a daemon exits during a wait", async () => {
        daemons.start("quits", "sh", ["-c", "echo 'cannot bind socket [0.0.0.0:32080]' >&2; exit 3"]);
        const t0 = Date.now();
        await assert.rejects(
            daemons.waitFor("a port that never opens", () => false, 10000),
            (e: Error) => {
                assert.match(e.message, /^quits exited \(3\) while waiting for a port that never opens/);
                assert.match(e.message, /--- quits \(pid \d+\): exited \(3\)\n {4}cannot bind socket \[0\.0\.0\.0:32080\]/);
                return true;
            },
        );
        assert.ok(Date.now() - t0 < 5000, `gave up after ${Date.now() - t0} ms, not at the 10 s timeout`);
        await daemons.stop("quits");
    });

    it("on a timeout says what the probe last saw and what each daemon printed", async () => {
        daemons.start("talks", "sh", ["-c", "echo first; echo second; exec sleep 60"]);
        await assert.rejects(
            daemons.waitFor(
                "a 200",
                () => {
                    throw new Error("HTTP 503 from http://127.0.0.1/");
                },
                300,
                50,
            ),
            (e: Error) => {
                assert.match(e.message, /^timed out after 300 ms waiting for a 200: Error: HTTP 503 from http:\/\/127\.0\.0\.1\//);
                assert.match(e.message, /--- talks \(pid \d+\): running\n {4}first\n {4}second/);
                assert.match(e.message, /--- quits \(pid \d+\): exited \(3\), stopped by the test/);
                return true;
            },
        );
    });

    it("does not count a daemon the test stopped as a failure", async () => {
        await daemons.stop("talks");
        assert.equal(await daemons.waitFor("a probe that passes", () => "yes"), "yes");
    });

    it("rejects a taken port instead of throwing later", async () => {
        const first = await listening(http.createServer(), PORT);
        try {
            await assert.rejects(listening(http.createServer(), PORT), /EADDRINUSE/);
        } finally {
            first.close();
        }
    });

    it("settles a request whose response is cut off mid-body", async () => {
        const server = await listening(
            http.createServer((_req, res) => {
                res.writeHead(200, { "content-length": "100" });
                res.write("only part");
                setTimeout(() => res.socket?.destroy(), 50);
            }),
            PORT,
        );
        try {
            await assert.rejects(request(`http://127.0.0.1:${PORT}/`, { timeoutMs: 30000 }), /aborted|socket hang up/);
        } finally {
            server.close();
        }
    });
});
