import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkObject, checkShape } from "../../plugins/schema";
import { secret, UNKNOWN } from "../../plugins/values";

describe("input shapes", () => {
    const shape = { ports: { array: { object: { internal: "integer", ip: "string" } } }, env: { map: "string" } } as const;

    it("accepts matching values, unknowns and secrets", () => {
        assert.deepEqual(checkObject({ ports: [{ internal: 80, ip: secret("1.2.3.4") }], env: { A: UNKNOWN } }, shape, ""), []);
    });

    it("names the exact path of a wrong type or an unimplemented property", () => {
        const failures = checkObject({ ports: [{ internal: 80 }, { internal: "80", proto: "tcp" }], env: { A: 1 } }, shape, "");
        assert.deepEqual(failures.map((f) => f.property), ["ports[1].internal", "ports[1].proto", 'env["A"]']);
        assert.deepEqual(checkShape(1.5, "integer", "n").map((f) => f.reason), ["expected an integer"]);
    });
});
