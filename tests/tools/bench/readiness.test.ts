import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { readyFromInspect } from "../../../tools/bench/readiness";

describe("readiness of a set of containers", () => {
    it("is ready when every expected container runs, healthy where it has a check", () => {
        const lines = "/bx-a running healthy\n/bx-b running \n/bx-c running healthy\n";
        assert.deepEqual(readyFromInspect(lines, ["bx-a", "bx-b", "bx-c"]), { ready: true, pending: [] });
    });

    it("names the containers still starting, unhealthy, stopped or missing", () => {
        const lines = "/bx-a running starting\n/bx-b exited \n/bx-c running unhealthy\n/bx-d running healthy\n";
        assert.deepEqual(readyFromInspect(lines, ["bx-a", "bx-b", "bx-c", "bx-d", "bx-e"]), {
            ready: false,
            pending: ["bx-a", "bx-b", "bx-c", "bx-e"],
        });
    });
});
