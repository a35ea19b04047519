import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { changedInputs, checkInputs, diffResult, makeProvider, ResourceType } from "../../plugins/provider";
import { secret, UNKNOWN } from "../../plugins/values";

const created: any[] = [];
const thing: ResourceType = {
    token: "test:index/thing:Thing",
    inputs: { name: "string", size: "integer", note: "string", tags: { array: "string" } },
    replaceOn: ["name", "tags"],
    defaults: { size: 1 },
    secretOutputs: ["token"],
    async create(i) { created.push(i); return { id: `id-${i.name}`, outs: { token: "t0k3n", computed: 42 } }; },
    async read(id) { return id === "gone" ? undefined : { computed: 43 }; },
    async update(_id, _o, n) { return { computed: n.size * 10 }; },
    async delete() { /* nothing */ },
};
const urn = "urn:pulumi:dev::proj::bitrix:cluster:Parent$test:index/thing:Thing::x";

describe("offline plugin skeleton", () => {
    it("fills defaults and rejects inputs it does not implement, naming the property", () => {
        assert.deepEqual(checkInputs(thing, { name: "a" }), { inputs: { name: "a", size: 1 }, failures: [] });
        const r = checkInputs(thing, { name: "a", colour: "red", tags: ["x", 3] });
        assert.deepEqual(r.failures?.map((f) => f.property), ["colour", "tags[1]"]);
        assert.match(r.failures![0].reason, /not implemented by this offline plugin.*official Pulumi plugin/);
    });

    it("replaces only for replace-on inputs; other changes update in place", () => {
        const olds = { name: "a", size: 1, note: "x", tags: ["t"], computed: 42 };
        assert.deepEqual(diffResult(thing, olds, { ...olds, note: "y" }), { changes: true, replaces: [] });
        assert.deepEqual(diffResult(thing, olds, { ...olds, tags: ["u"], note: "y" }), { changes: true, replaces: ["tags"] });
        assert.deepEqual(diffResult(thing, olds, { name: "a", size: 1, note: "x", tags: ["t"] }), { changes: false, replaces: [] });
    });

    it("treats an absent input and its default as the same, and a secret like its plain value", () => {
        assert.deepEqual(changedInputs(thing, { name: "a", size: 1 }, { name: "a" }), []);
        assert.deepEqual(changedInputs(thing, { name: "a", note: "p" }, { name: "a", note: secret("p") }), []);
    });

    it("counts an unknown value (preview) as a change, nested ones too", () => {
        assert.deepEqual(diffResult(thing, { name: "a", tags: ["t"] }, { name: UNKNOWN, tags: ["t"] }).replaces, ["name"]);
        assert.deepEqual(diffResult(thing, { name: "a", tags: ["t"] }, { name: "a", tags: [UNKNOWN] }).replaces, ["tags"]);
    });

    it("keeps secret inputs secret in the outputs, marks declared secret outputs, drops undefined", async () => {
        const p = makeProvider("1.0.0", [thing]);
        const r = await p.create!(urn, { name: "a", note: secret("hush"), size: undefined });
        assert.equal(r.id, "id-a");
        assert.deepEqual(r.outs, { name: "a", note: secret("hush"), token: secret("t0k3n"), computed: 42 });
        assert.equal(created.at(-1).note, "hush", "the resource itself sees plain values");
    });

    it("reports an object gone on read, so a refresh drops it", async () => {
        const p = makeProvider("1.0.0", [thing]);
        assert.deepEqual(await p.read!("gone", urn, { name: "a" }), { id: "", props: {}, inputs: {} });
        const r = await p.read!("id-a", urn, { name: "a", note: secret("s"), computed: 1 });
        assert.deepEqual(r.props, { name: "a", note: secret("s"), computed: 43 });
        assert.deepEqual(r.inputs, { name: "a", note: secret("s") });
    });

    it("fails loudly on a resource type it does not serve", async () => {
        const p = makeProvider("1.0.0", [thing]);
        await assert.rejects(p.check!("urn:pulumi:dev::proj::test:index/other:Other::y", {}, {}), /test:index\/other:Other is not implemented by this offline plugin/);
    });
});
