import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { writeComposeDir } from "../../../tools/bench/provisioningPeer";

describe("compose directory of the provisioning peer", () => {
    it("is private (0700), holds docker-compose.yml as 0600 and every upload with its own mode", () => {
        const parent = fs.mkdtempSync(path.join(os.tmpdir(), "bx-compose-test-"));
        try {
            const dir = writeComposeDir(
                {
                    text: "{}\n",
                    file: { version: "2.4", services: {}, networks: {}, volumes: {} },
                    uploads: [
                        { path: "uploads/bx-a/etc/a.cnf", content: Buffer.from("a\n"), mode: 0o644 },
                        { path: "uploads/bx-a/etc/secret.sql", content: Buffer.from("s\n"), mode: 0o600 },
                        { path: "uploads/bx-a/bin/run.sh", content: Buffer.from("#!/bin/sh\n"), mode: 0o755 },
                    ],
                    leftOut: [],
                },
                parent,
            );
            const mode = (p: string) => fs.statSync(path.join(dir, p)).mode & 0o777;
            assert.equal(mode("."), 0o700);
            assert.equal(mode("docker-compose.yml"), 0o600);
            assert.equal(mode("uploads/bx-a/etc/a.cnf"), 0o644);
            assert.equal(mode("uploads/bx-a/etc/secret.sql"), 0o600);
            assert.equal(mode("uploads/bx-a/bin/run.sh"), 0o755);
            assert.equal(fs.readFileSync(path.join(dir, "uploads/bx-a/etc/secret.sql"), "utf8"), "s\n");
        } finally {
            fs.rmSync(parent, { recursive: true, force: true });
        }
    });

    it("refuses an upload path that leaves the directory", () => {
        const parent = fs.mkdtempSync(path.join(os.tmpdir(), "bx-compose-test-"));
        try {
            const copy = {
                text: "{}\n",
                file: { version: "2.4" as const, services: {}, networks: {}, volumes: {} },
                uploads: [{ path: "../escape", content: Buffer.from(""), mode: 0o644 }],
                leftOut: [],
            };
            assert.throws(() => writeComposeDir(copy, parent), /lies outside the compose directory/);
        } finally {
            fs.rmSync(parent, { recursive: true, force: true });
        }
    });
});
