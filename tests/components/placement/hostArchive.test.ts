import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { unpackArchiveScript } from "../../../components/placement/hostArchive";

const SHA = "ab".repeat(32);

describe("archive unpack step", () => {
    const script = unpackArchiveScript({
        sshUser: "deploy",
        upload: ".bitrix-cluster/push-server.tar.gz",
        dir: "/opt/x/push-server",
        sha256: SHA,
    });

    it("is valid sh and does nothing when the directory already holds this archive", () => {
        execFileSync("sh", ["-n"], { input: script });
        assert.match(
            script,
            new RegExp(`^if \\[ "\\$\\(cat '/opt/x/push-server/\\.bitrix-cluster-archive' 2>/dev/null\\)" != ${SHA} \\]; then`),
        );
    });

    it("takes the SSH user's upload from its home, into a root-only copy checked against the digest before unpacking", () => {
        assert.match(
            script,
            /install -m 0600 "\$\(getent passwd 'deploy' \| cut -d: -f6\)"\/'\.bitrix-cluster\/push-server\.tar\.gz' "\$tmp\/archive\.tar\.gz"/,
        );
        const check = script.indexOf("sha256sum -c");
        assert.ok(check > 0 && check < script.indexOf("tar -xzf"), "the digest is checked before tar runs");
        assert.match(script, /the uploaded archive is not the one Pulumi checked/);
    });

    it("unpacks into a fresh root-owned directory without set-id bits or group/other write, then swaps it in", () => {
        assert.match(script, /tar -xzf "\$tmp\/archive\.tar\.gz" -C '\/opt\/x\/push-server\.new' --no-same-owner --no-same-permissions/);
        assert.match(
            script,
            /chown -R -h root:root '\/opt\/x\/push-server\.new' && chmod -R u\+rwX,go\+rX,go-w,ug-s '\/opt\/x\/push-server\.new'/,
        );
        assert.match(script, /mv '\/opt\/x\/push-server\.new' '\/opt\/x\/push-server'/);
    });

    it("refuses a digest that is not SHA-256 hex", () => {
        assert.throws(() => unpackArchiveScript({ sshUser: "root", upload: "a.tgz", dir: "/opt/a", sha256: "$(reboot)" }), /64 hex digits/);
    });
});
