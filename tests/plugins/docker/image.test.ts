import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { checkInputs, diffResult } from "../../../plugins/provider";
import { contextDigest, image } from "../../../plugins/docker/image";

function context(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bx-ctx-"));
    fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM scratch\n");
    fs.mkdirSync(path.join(dir, "sub"));
    fs.writeFileSync(path.join(dir, "sub", "entrypoint.sh"), "#!/bin/sh\n", { mode: 0o755 });
    return dir;
}

describe("docker.Image stand-in", () => {
    it("digests the whole build context: content, names and modes", () => {
        const dir = context();
        const first = contextDigest(dir);
        assert.match(first, /^sha256:[0-9a-f]{64}$/);
        assert.equal(contextDigest(dir), first);
        fs.chmodSync(path.join(dir, "sub", "entrypoint.sh"), 0o644);
        const second = contextDigest(dir);
        assert.notEqual(second, first);
        fs.writeFileSync(path.join(dir, "sub", "entrypoint.sh"), "#!/bin/sh\nexit 0\n", { mode: 0o644 });
        assert.notEqual(contextDigest(dir), second);
        assert.notEqual(contextDigest(dir, "Other.Dockerfile"), contextDigest(dir));
    });

    it("records the digest at check time, so an edited file is a rebuild (an update, not a replacement)", () => {
        const dir = context();
        const args = { imageName: "bx-web:latest", skipPush: true, build: { context: dir } };
        const olds = checkInputs(image, args).inputs;
        assert.equal(olds.build.contextDigest, contextDigest(dir));
        assert.equal(diffResult(image, olds, checkInputs(image, args).inputs).changes, false);
        fs.appendFileSync(path.join(dir, "Dockerfile"), "LABEL x=y\n");
        assert.deepEqual(diffResult(image, olds, checkInputs(image, args).inputs), { changes: true, replaces: [] });
    });

    it("refuses a push, a missing Dockerfile and .dockerignore, which it does not implement", () => {
        const dir = context();
        assert.equal(checkInputs(image, { imageName: "r/x:1", build: { context: dir } }).failures![0].property, "skipPush");
        assert.match(checkInputs(image, { imageName: "x", skipPush: true, build: { context: "/nonexistent" } }).failures![0].reason, /no Dockerfile/);
        fs.writeFileSync(path.join(dir, ".dockerignore"), "*.md\n");
        assert.match(checkInputs(image, { imageName: "x", skipPush: true, build: { context: dir } }).failures![0].reason, /\.dockerignore/);
    });
});
