import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkInputs, diffResult } from "../../../plugins/provider";
import { copyToRemote, remoteCommand, sourceOf } from "../../../plugins/command/remote";
import { archive, asset, secret, UNKNOWN } from "../../../plugins/values";

describe("command.remote stand-ins (no SSH needed)", () => {
    it("fills connection defaults inside a secret connection, and leaves an unknown one alone", () => {
        const r = checkInputs(remoteCommand, { connection: secret({ host: "h", privateKey: "k" }), create: "true" });
        assert.deepEqual(r.failures, []);
        assert.deepEqual(r.inputs.connection, secret({ user: "root", port: 22, dialErrorLimit: 10, perDialTimeout: 15, host: "h", privateKey: "k" }));
        assert.equal(checkInputs(remoteCommand, { connection: UNKNOWN }).inputs.connection, UNKNOWN);
    });

    it("requires a host and a remote path", () => {
        assert.deepEqual(checkInputs(remoteCommand, { connection: { port: 22 } }).failures!.map((f) => f.property), ["connection.host"]);
        const r = checkInputs(copyToRemote, { connection: { host: "h" }, source: asset({ text: "x" }) });
        assert.deepEqual(r.failures!.map((f) => f.property), ["remotePath"]);
    });

    it("replaces only on triggers; a changed command, environment or source updates in place", () => {
        const olds = checkInputs(remoteCommand, { connection: { host: "h" }, create: "a", triggers: [1] }).inputs;
        assert.deepEqual(diffResult(remoteCommand, olds, { ...olds, create: "b", environment: { A: "1" } }), { changes: true, replaces: [] });
        assert.deepEqual(diffResult(remoteCommand, olds, { ...olds, triggers: [2] }).replaces, ["triggers"]);
        const copy = { connection: { host: "h" }, remotePath: "/x", source: asset({ text: "1", hash: "a" }) };
        assert.deepEqual(diffResult(copyToRemote, copy, { ...copy, source: { ...copy.source, text: "2", hash: "b" } }), { changes: true, replaces: [] });
    });

    it("reads text and file assets and directory archives, and refuses the rest", () => {
        assert.deepEqual(sourceOf(asset({ text: "t" })), { text: "t" });
        assert.deepEqual(sourceOf(archive({ path: __dirname })), { path: __dirname, dir: true });
        assert.throws(() => sourceOf(asset({ uri: "https://example.com/x" })), /only StringAsset/);
    });
});
