import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { compare, pairedRuns, RunFigures } from "../../../tools/bench/paired";

const run = (reqPerS: number, p99Ms: number, errors = 0): RunFigures => ({
    reqPerS,
    p50Ms: p99Ms / 4,
    p99Ms,
    requests: reqPerS * 10,
    errors,
});

describe("paired runs", () => {
    it("alternates ours and the peer, one run at a time", async () => {
        const order: string[] = [];
        const runs = await pairedRuns(
            3,
            () => (order.push("ours"), Promise.resolve(run(100, 10))),
            () => (order.push("peer"), Promise.resolve(run(50, 20))),
        );
        assert.deepEqual(order, ["ours", "peer", "ours", "peer", "ours", "peer"]);
        assert.equal(runs.ours.length, 3);
    });

    it("compares the means, ours over the peer for req/s and the peer over ours for latency, keeping every run", () => {
        const c = compare("wrk", "keep-alive", [run(900, 10), run(1100, 14)], [run(1000, 8, 1), run(1000, 16, 2)]);
        assert.equal(c.ours.reqPerS, 1000);
        assert.equal(c.ours.p99Ms, 12);
        assert.equal(c.peer.errors, 3);
        assert.deepEqual(c.ratio, { reqPerS: 1, p50: 1, p99: 1 });
        assert.equal(c.ours.runs.length, 2);
        const slower = compare("wrk", "keep-alive", [run(500, 24)], [run(1000, 12)]);
        assert.deepEqual(slower.ratio, { reqPerS: 0.5, p50: 0.5, p99: 0.5 });
        assert.throws(() => compare("wrk", "keep-alive", [], [run(1, 1)]), /no runs/);
    });
});
