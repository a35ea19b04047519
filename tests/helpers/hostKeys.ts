/** Well-formed SSH host keys for tests: `ssh-ed25519 <base64>` whose 32 key bytes are derived from a name. */
import { createHash } from "node:crypto";

/** An SSH wire-format string: uint32 length, then the bytes. */
function sshString(b: Buffer): Buffer {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
}

/** A distinct, parseable ed25519 host key line per name. */
export function testHostKey(name: string): string {
    const blob = Buffer.concat([sshString(Buffer.from("ssh-ed25519")), sshString(createHash("sha256").update(name).digest())]);
    return `ssh-ed25519 ${blob.toString("base64")}`;
}
