import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { formatStretches, stretches } from "../../../tools/drill/rollingUpdateDrill";

describe("rolling-update stretches", () => {
    it("finds each server's time out of rotation, in order; UP n/m still counts as in rotation", () => {
        const samples: Array<{ t: number; states: Record<string, string> }> = [
            { t: 0, states: { "web-1": "UP", "web-2": "UP" } },
            { t: 1, states: { "web-1": "UP 1/3", "web-2": "UP" } },
            { t: 2, states: { "web-1": "DOWN", "web-2": "UP" } },
            { t: 3, states: { "web-2": "UP" } }, // web-1's row gone (replaced, not resolved yet)
            { t: 4, states: { "web-1": "DOWN 1/2", "web-2": "UP" } },
            { t: 5, states: { "web-1": "UP", "web-2": "MAINT" } },
            { t: 6, states: { "web-1": "UP", "web-2": "DOWN" } },
        ];
        assert.deepEqual(stretches(samples, ["web-1", "web-2"]), [
            { server: "web-1", fromS: 2, toS: 5 },
            { server: "web-2", fromS: 5, toS: 6 }, // still out at the last sample: open until then
        ]);
    });

    it("finds overlapping stretches (two nodes out at once), and none when nothing left rotation", () => {
        const both = [
            { t: 0, states: { a: "DOWN", b: "UP" } },
            { t: 1, states: { a: "DOWN", b: "DOWN" } },
            { t: 2, states: { a: "UP", b: "UP" } },
        ];
        assert.deepEqual(stretches(both, ["a", "b"]), [
            { server: "a", fromS: 0, toS: 2 },
            { server: "b", fromS: 1, toS: 2 },
        ]);
        assert.deepEqual(stretches([{ t: 0, states: { a: "UP" } }], ["a"]), []);
    });

    it("keeps the check that took each server out (a drain answers 503; a timeout means a slow or starved node)", () => {
        const samples = [
            { t: 0, states: { a: "UP", b: "UP" }, checks: { a: "L7OK 200 4ms", b: "L7OK 200 5ms" } },
            { t: 1, states: { a: "DOWN", b: "UP" }, checks: { a: "L7STS 503 3ms", b: "L7TOUT 501ms" } },
            { t: 2, states: { a: "DOWN", b: "DOWN" }, checks: { a: "L4CON", b: "L7TOUT 501ms" } },
            { t: 3, states: { a: "UP", b: "DOWN" }, checks: { a: "L7OK 200 4ms", b: "L7OK 200 9ms" } },
        ];
        const out = stretches(samples, ["a", "b"]);
        assert.deepEqual(out, [
            { server: "a", fromS: 1, toS: 3, check: "L7STS 503 3ms" },
            { server: "b", fromS: 2, toS: 3, check: "L7TOUT 501ms" },
        ]);
        assert.equal(formatStretches(out), "a 1.0–3.0 s (L7STS 503 3ms), b 2.0–3.0 s (L7TOUT 501ms)");
    });

    it("formats the stretches for a report line", () => {
        assert.equal(
            formatStretches([
                { server: "web-1", fromS: 8.46, toS: 19.5 },
                { server: "web-2", fromS: 26.8, toS: 37.84 },
            ]),
            "web-1 8.5–19.5 s, web-2 26.8–37.8 s",
        );
        assert.equal(formatStretches([]), "");
    });
});
