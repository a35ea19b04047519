/**
 * The balancer's log relay (images/balancer/log-relay.pl, run by run.sh between HAProxy's stdout and the container's):
 * it passes every byte on unchanged, in batches (a read at most every 50 ms, so the reader behind it is not woken
 * for every request's line), ignores SIGTERM, and ends only when its input is closed and everything is out.
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as path from "node:path";
import { describe, it } from "node:test";
import { requireBinary } from "../helpers/daemons";

const RELAY = path.resolve(__dirname, "../../../images/balancer/log-relay.pl");

interface Relayed {
    out: Buffer;
    /** Chunks the relay's output arrived in. */
    chunks: number;
    code: number | null;
    stderr: string;
}

/** Runs the relay, lets `feed` write to its input (then closes it), and collects what comes out. */
function relay(feed: (input: NodeJS.WritableStream, pid: number) => Promise<void>): Promise<Relayed> {
    const child = spawn(RELAY, [], { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    return feed(child.stdin, child.pid!)
        .then(() => new Promise<void>((resolve) => child.stdin.end(resolve)))
        .then(() => exited)
        .then((code) => ({ out: Buffer.concat(out), chunks: out.length, code, stderr }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("balancer log relay", () => {
    requireBinary("perl");

    it("passes 3 MB through unchanged, the last line unterminated, and exits 0 when its input closes", async () => {
        const lines = Array.from(
            { length: 20000 },
            (_, i) => `${i} ${crypto.randomBytes(60).toString("base64")} "GET /x?q=%00 HTTP/1.1"\n`,
        );
        const sent = Buffer.concat([...lines.map((l) => Buffer.from(l)), Buffer.from("partial line, no newline")]);
        const r = await relay(async (input) => {
            for (let off = 0; off < sent.length; off += 65536) {
                if (!input.write(sent.subarray(off, off + 65536))) await new Promise((res) => input.once("drain", res));
            }
        });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.out.length, sent.length);
        assert.ok(r.out.equals(sent), "the bytes came out changed");
    });

    it("batches: 100 lines written 2 ms apart come out in a chunk per 50 ms, not a chunk per line", async () => {
        let elapsedMs = 0;
        const r = await relay(async (input) => {
            const t0 = Date.now();
            for (let i = 0; i < 100; i++) {
                input.write(`line ${i}\n`);
                await sleep(2);
            }
            elapsedMs = Date.now() - t0;
        });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.out.toString(), Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join(""));
        const bound = Math.ceil(elapsedMs / 50) + 2;
        assert.ok(r.chunks <= bound, `${r.chunks} chunks in ${elapsedMs} ms (at most ${bound} expected)`);
    });

    it("ignores SIGTERM and writes out what comes after it", async () => {
        const r = await relay(async (input, pid) => {
            input.write("before\n");
            await sleep(100);
            process.kill(pid, "SIGTERM");
            await sleep(100);
            input.write("after\n");
        });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.out.toString(), "before\nafter\n");
    });
});
