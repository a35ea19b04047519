import assert from "node:assert/strict";
import { describe, it } from "node:test";
import bcrypt from "bcryptjs";
import { checkInputs, diffResult } from "../../../plugins/provider";
import { CHARSETS, generatePassword, randomPassword } from "../../../plugins/random/randomPassword";

const rules = { length: 32, lower: true, upper: true, numeric: true, special: false, minLower: 0, minUpper: 0, minNumeric: 0, minSpecial: 0 };

describe("random.RandomPassword stand-in", () => {
    it("draws only from the enabled sets, at the requested length, differently each time", () => {
        const a = generatePassword(rules);
        assert.equal(a.length, 32);
        assert.match(a, /^[A-Za-z0-9]+$/);
        assert.notEqual(a, generatePassword(rules));
    });

    it("honours the minimums and overrideSpecial", () => {
        for (let i = 0; i < 50; i++) {
            const p = generatePassword({ ...rules, length: 8, special: true, minSpecial: 3, minNumeric: 2, overrideSpecial: "#" });
            assert.ok((p.match(/#/g) ?? []).length >= 3, p);
            assert.ok((p.match(/[0-9]/g) ?? []).length >= 2, p);
            assert.doesNotMatch(p, new RegExp(`[${CHARSETS.special.replace(/[#\]\\[-]/g, "")}]`));
        }
    });

    it("returns result and bcryptHash as secret outputs, with upstream's id", async () => {
        const { id, outs } = await randomPassword.create({ ...rules, length: 16 });
        assert.equal(id, "none");
        assert.ok(await bcrypt.compare(outs.result as string, outs.bcryptHash as string));
        assert.deepEqual(randomPassword.secretOutputs, ["result", "bcryptHash"]);
    });

    it("replaces on any input change (upstream: RequiresReplace on every argument)", () => {
        const olds = checkInputs(randomPassword, { length: 32, special: false }).inputs;
        assert.deepEqual(diffResult(randomPassword, olds, { ...olds, length: 33 }).replaces, ["length"]);
        assert.deepEqual(diffResult(randomPassword, olds, { ...olds, keepers: { k: "v" } }).replaces, ["keepers"]);
        assert.equal(diffResult(randomPassword, olds, { length: 32, special: false }).changes, false);
    });

    it("rejects impossible rules before anything is created", () => {
        assert.match(checkInputs(randomPassword, { length: 4, minUpper: 3, minNumeric: 3 }).failures![0].reason, /below the sum of the minimums \(6\)/);
        assert.equal(checkInputs(randomPassword, { length: 0 }).failures![0].property, "length");
    });
});
