import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { checkInputs, diffResult } from "../../../plugins/provider";
import { localCommand } from "../../../plugins/command/local";

describe("command.local.Command stand-in", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bx-cmd-"));
    const log = path.join(dir, "log");

    it("runs create, then update (with the previous output in the environment), then delete", async () => {
        const inputs = checkInputs(localCommand, {
            create: `echo created-$NAME >> ${log}; echo out-1`,
            update: `echo "updated after $PULUMI_COMMAND_STDOUT" >> ${log}; echo out-2`,
            delete: `echo "deleted after $PULUMI_COMMAND_STDOUT" >> ${log}`,
            environment: { NAME: "x" },
        }).inputs;
        const { outs } = await localCommand.create(inputs);
        assert.deepEqual(outs, { stdout: "out-1", stderr: "" });
        const updated = await localCommand.update!("id", { ...inputs, ...outs }, inputs);
        assert.equal(updated.stdout, "out-2");
        await localCommand.delete("id", { ...inputs, ...updated });
        assert.equal(fs.readFileSync(log, "utf8"), "created-x\nupdated after out-1\ndeleted after out-2\n");
    });

    it("fails with the exit status and stderr", async () => {
        await assert.rejects(localCommand.create({ create: "echo secret-stdout; echo broken >&2; exit 3" }), (e: Error) =>
            /status 3: broken/.test(e.message) && !e.message.includes("secret-stdout"));
    });

    it("replaces only when triggers change", () => {
        const olds = checkInputs(localCommand, { create: "a", triggers: ["1"] }).inputs;
        assert.deepEqual(diffResult(localCommand, olds, { ...olds, create: "b" }), { changes: true, replaces: [] });
        assert.deepEqual(diffResult(localCommand, olds, { ...olds, triggers: ["2"] }).replaces, ["triggers"]);
    });
});
