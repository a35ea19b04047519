/**
 * The step that unpacks a service's archive on a host (the user's push server tarball), run as root as the start step
 * runs it: the SSH user's upload is trusted only with the digest Pulumi computed, and what lands in the directory is
 * root's, readable, and writable by no one else, whatever the archive said.
 */
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { unpackArchiveScript } from "../../components/placement/hostArchive";
import { run, tmpDir } from "../helpers/daemons";

describe("archive unpack step (root)", () => {
    const root = tmpDir("host-archive");
    const home = os.userInfo().homedir;
    const upload = `.bitrix-cluster-test-${process.pid}/server.tar.gz`;
    const staged = path.join(home, upload);
    const dir = path.join(root, "opt", "push-server");
    after(() => fs.rmSync(path.dirname(staged), { recursive: true, force: true }));

    /** A .tar.gz of a tree with loose modes: a private file, a set-uid file, a world-writable directory. */
    function archive(version: string): Buffer {
        const src = fs.mkdtempSync(path.join(root, "src-"));
        fs.writeFileSync(path.join(src, "start"), "#!/bin/sh\n", { mode: 0o700 });
        fs.writeFileSync(path.join(src, "VERSION"), version, { mode: 0o600 });
        fs.mkdirSync(path.join(src, "lib"), { mode: 0o777 });
        fs.writeFileSync(path.join(src, "lib", "helper"), "x", { mode: 0o4755 });
        fs.chmodSync(src, 0o700);
        fs.chmodSync(path.join(src, "lib"), 0o777);
        fs.chmodSync(path.join(src, "lib", "helper"), 0o4755);
        run("chown", ["-R", "nobody:nogroup", src]);
        return execFileSync("tar", ["-C", src, "-czf", "-", "."]);
    }
    const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    const stage = (b: Buffer) => {
        fs.mkdirSync(path.dirname(staged), { recursive: true });
        fs.writeFileSync(staged, b);
    };
    const step = (digest: string) =>
        spawnSync("sh", ["-eu"], {
            input: unpackArchiveScript({ sshUser: os.userInfo().username, upload, dir, sha256: digest }),
            encoding: "utf8",
        });
    const modes = () =>
        run("sh", ["-c", `cd ${dir} && stat -c '%n %U:%G %a' . start VERSION lib lib/helper`])
            .trim()
            .split("\n");

    it("unpacks the checked upload as root's, readable by all, writable by root only, without set-id bits", () => {
        assert.equal(process.getuid?.(), 0, "run as root (bash scripts/test.sh daemons)");
        fs.mkdirSync(path.dirname(dir), { recursive: true });
        const v1 = archive("1");
        stage(v1);
        const r = step(sha(v1));
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(modes(), [
            ". root:root 755",
            "start root:root 755",
            "VERSION root:root 644",
            "lib root:root 755",
            "lib/helper root:root 755",
        ]);
        assert.equal(fs.readFileSync(path.join(dir, ".bitrix-cluster-archive"), "utf8").trim(), sha(v1));
        // The same archive again: nothing is touched.
        const inode = fs.statSync(dir).ino;
        assert.equal(step(sha(v1)).status, 0);
        assert.equal(fs.statSync(dir).ino, inode);
    });

    it("refuses an upload that is not the archive Pulumi checked, keeping the running version", () => {
        const v2 = archive("2");
        stage(Buffer.concat([v2, Buffer.from("tampered")]));
        const r = step(sha(v2));
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /the uploaded archive is not the one Pulumi checked/);
        assert.equal(fs.readFileSync(path.join(dir, "VERSION"), "utf8"), "1");
        stage(v2);
        assert.equal(step(sha(v2)).status, 0);
        assert.equal(fs.readFileSync(path.join(dir, "VERSION"), "utf8"), "2");
        assert.deepEqual(fs.readdirSync(path.dirname(dir)), ["push-server"], "no .new or .old directory left");
    });
});
