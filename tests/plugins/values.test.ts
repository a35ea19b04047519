import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hasUnknown, isSecret, plain, same, secret, UNKNOWN } from "../../plugins/values";

describe("engine values", () => {
    it("unwraps secrets anywhere in a value", () => {
        const v = { a: secret("x"), b: [1, secret({ c: secret(2) })] };
        assert.deepEqual(plain(v), { a: "x", b: [1, { c: 2 }] });
        assert.ok(isSecret(v.a));
        assert.ok(!isSecret("x"));
    });

    it("finds unknowns nested in lists, objects and secrets", () => {
        assert.ok(hasUnknown({ a: [{ b: secret(UNKNOWN) }] }));
        assert.ok(!hasUnknown({ a: [{ b: "known" }] }));
    });

    it("compares structurally, ignoring key order, secrecy and undefined keys", () => {
        assert.ok(same({ a: 1, b: [1, 2], c: undefined }, { b: [1, 2], a: secret(1) }));
        assert.ok(!same({ a: [1, 2] }, { a: [2, 1] }));
    });
});
