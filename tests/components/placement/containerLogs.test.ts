import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { containerLogOptions } from "../../../components/placement/containerLogs";

describe("containerLogOptions", () => {
    it("caps the local driver at maxMb over five files", () => {
        assert.deepEqual(containerLogOptions({ driver: "local", maxMb: 100 }), {
            logDriver: "local",
            logOpts: { "max-size": "20m", "max-file": "5" },
        });
        assert.deepEqual(containerLogOptions({ driver: "local", maxMb: 12 }).logOpts, { "max-size": "2m", "max-file": "5" });
    });
    it("leaves the engine's own default alone with daemon", () => {
        assert.deepEqual(containerLogOptions({ driver: "daemon" }), {});
    });
    it("refuses a cap below one MB per file", () => {
        assert.throws(() => containerLogOptions({ driver: "local", maxMb: 4 }), /maxMb must be an integer of at least 5/);
        assert.throws(() => containerLogOptions({ driver: "local", maxMb: 7.5 }), /maxMb must be an integer/);
    });
});
