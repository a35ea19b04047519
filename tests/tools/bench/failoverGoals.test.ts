import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { RAISED_GOALS, raisedGoal } from "../../../tools/bench/failoverGoals";

describe("the raised failover goals (issue 23)", () => {
    it("are the issue's numbers", () => {
        assert.deepEqual(RAISED_GOALS, { balancerGapS: 1, webNodeDownS: 5, redisBackS: 5, dbWritesBackS: 5 });
    });
    it("are met at the limit and missed past it, when not measured, or when a condition fails", () => {
        assert.equal(raisedGoal("gap", 1, 1), "raised goal gap ≤ 1 s: met");
        assert.equal(raisedGoal("gap", 1, 0.4), "raised goal gap ≤ 1 s: met");
        assert.equal(raisedGoal("gap", 1, 1.01), "raised goal gap ≤ 1 s: **missed**");
        assert.equal(raisedGoal("gap", 1, undefined), "raised goal gap ≤ 1 s: **missed**");
        assert.equal(raisedGoal("0 lost, back", 5, 3, false), "raised goal 0 lost, back ≤ 5 s: **missed**");
    });
});
