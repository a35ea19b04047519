import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { tarMembers } from "../../../components/placement/hostArchive";
import { pushArchiveProblem, readPushArchive } from "../../../components/push/pushArchive";

/** A ustar archive from entries, written by hand (names, modes and types exactly as given). */
function ustar(entries: Array<{ name: string; mode?: number; type?: "0" | "2" | "5"; body?: string }>): Buffer {
    const blocks: Buffer[] = [];
    for (const e of entries) {
        const body = Buffer.from(e.body ?? "");
        const h = Buffer.alloc(512);
        h.write(e.name, 0, 100);
        h.write(`${(e.mode ?? 0o644).toString(8).padStart(7, "0")}\0`, 100);
        h.write("0000000\0", 108);
        h.write("0000000\0", 116);
        h.write(`${body.length.toString(8).padStart(11, "0")}\0`, 124);
        h.write("00000000000\0", 136);
        h.write(e.type ?? "0", 156);
        h.write("ustar\u000000", 257);
        h.write("        ", 148);
        const sum = h.reduce((s, x) => s + x, 0);
        h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
        blocks.push(h, body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
    return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}
const tgz = (entries: Parameters<typeof ustar>[0]) => gzipSync(ustar(entries));
const START = { name: "./start", mode: 0o755, body: "#!/bin/sh\nexec node server.js\n" };

/** A .tar.gz made by GNU tar from files in a temporary directory. */
function gnuTar(files: Record<string, { mode: number; text: string }>, name = "push.tar.gz"): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "push-archive-"));
    const src = path.join(dir, "src");
    for (const [f, { mode, text }] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(src, f)), { recursive: true });
        fs.writeFileSync(path.join(src, f), text, { mode });
        fs.chmodSync(path.join(src, f), mode);
    }
    execFileSync("tar", ["-C", src, "-czf", path.join(dir, name), "."]);
    return path.join(dir, name);
}

describe("push server tarball", () => {
    it("lists the members of GNU tar's archives, long names included", async () => {
        const deep = `node_modules/${"a".repeat(60)}/${"b".repeat(60)}/index.js`;
        const file = gnuTar({ start: { mode: 0o755, text: "#!/bin/sh\n" }, [deep]: { mode: 0o644, text: "x" } });
        const members = tarMembers((await import("node:zlib")).gunzipSync(fs.readFileSync(file)));
        assert.deepEqual(
            members.find((m) => m.name === "./start"),
            { name: "./start", type: "file", mode: 0o755 },
        );
        assert.ok(
            members.some((m) => m.name === `./${deep}` && m.type === "file"),
            members.map((m) => m.name).join(", "),
        );
        assert.ok(members.some((m) => m.name === "./" && m.type === "dir"));
    });

    it("accepts an archive with an executable start at its top level, with or without ./", () => {
        assert.equal(pushArchiveProblem(tgz([START, { name: "./server.js", body: "1" }])), undefined);
        assert.equal(pushArchiveProblem(tgz([{ ...START, name: "start" }])), undefined);
    });

    it("says what is wrong with an archive that is not one the push hosts can run", () => {
        assert.equal(pushArchiveProblem(Buffer.from("PK\u0003\u0004zip")), "not gzip-compressed (expected a .tar.gz)");
        assert.match(
            pushArchiveProblem(gzipSync(Buffer.alloc(512, 7)))!,
            /^cannot be read as a \.tar\.gz: not a tar archive \(bad header checksum/,
        );
        assert.match(
            pushArchiveProblem(tgz([{ name: "./server.js" }]))!,
            /has no "start" at its top level \(the executable that starts the sub and pub listeners/,
        );
        assert.match(pushArchiveProblem(tgz([{ ...START, name: "push-server/start" }]))!, /has no "start" at its top level/);
        assert.equal(pushArchiveProblem(tgz([{ ...START, mode: 0o644 }])), '"start" must be an executable regular file');
        assert.equal(pushArchiveProblem(tgz([{ name: "./start", type: "2", mode: 0o777 }])), '"start" must be an executable regular file');
        assert.equal(
            pushArchiveProblem(tgz([START, { name: "../etc/cron.d/x" }])),
            'member "../etc/cron.d/x" would be unpacked outside the server\'s directory',
        );
        assert.match(pushArchiveProblem(tgz([START, { name: "/etc/passwd" }]))!, /member "\/etc\/passwd" would be unpacked outside/);
        assert.match(pushArchiveProblem(tgz([START, { name: "./lib/../../x" }]))!, /would be unpacked outside/);
    });

    it("reads the file where Pulumi runs: its absolute path and content digest, or why not", () => {
        const file = gnuTar({ start: { mode: 0o755, text: "#!/bin/sh\n" } }, "server.tgz");
        const ok = readPushArchive(path.basename(file), path.dirname(file));
        assert.deepEqual(ok, { path: file, sha256: createHash("sha256").update(fs.readFileSync(file)).digest("hex") });
        const dir = path.dirname(file);
        assert.deepEqual(readPushArchive("missing.tar.gz", dir), { problem: `${path.join(dir, "missing.tar.gz")} does not exist` });
        assert.deepEqual(readPushArchive("server.zip", dir), { problem: "server.zip: expected a .tar.gz or .tgz file" });
        fs.mkdirSync(path.join(dir, "dir.tar.gz"));
        assert.deepEqual(readPushArchive("dir.tar.gz", dir), { problem: `${path.join(dir, "dir.tar.gz")} is not a regular file` });
        fs.writeFileSync(path.join(dir, "plain.tar.gz"), "not gzip");
        assert.deepEqual(readPushArchive("plain.tar.gz", dir), {
            problem: `${path.join(dir, "plain.tar.gz")}: not gzip-compressed (expected a .tar.gz)`,
        });
    });
});
