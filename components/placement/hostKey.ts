/**
 * SSH host keys pinned per host and bastion. The command provider checks the server's key against the pinned one
 * (`connection.hostKey`: golang.org/x/crypto's FixedHostKey, with the key's own type as the only host key algorithm);
 * without it any key is accepted, and whoever answers on the SSH port receives every secret sent over stdin.
 */

/** Key types the provider can pin against an OpenSSH 8.8+ server. */
const KEY_TYPES: Record<string, { curve?: string; point?: number; ed25519?: boolean }> = {
    "ssh-ed25519": { ed25519: true },
    "ecdsa-sha2-nistp256": { curve: "nistp256", point: 65 },
    "ecdsa-sha2-nistp384": { curve: "nistp384", point: 97 },
    "ecdsa-sha2-nistp521": { curve: "nistp521", point: 133 },
};

/** The form a host key is given in. */
export const HOST_KEY_FORMAT = `"<type> <base64>" such as "ssh-ed25519 AAAAC3Nz..." (${Object.keys(KEY_TYPES).join(", ")})`;

/** The one-time way to record a host key, for the messages that ask for one. */
export function hostKeyHowTo(address: string, port: number): string {
    return (
        `record it once: run \`ssh-keyscan -t ed25519 -p ${port} ${address}\`, check the key's fingerprint ` +
        `(\`ssh-keygen -lf <file with that line>\`) against \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` run on the host itself ` +
        `(its console, not over this network), then set hostKey to the "ssh-ed25519 AAAA..." part of the line`
    );
}

/** Reads the SSH wire-format string at `at` (uint32 length, bytes). */
function sshString(blob: Buffer, at: number): { value: Buffer; next: number } | undefined {
    if (at + 4 > blob.length) return undefined;
    const len = blob.readUInt32BE(at);
    if (at + 4 + len > blob.length) return undefined;
    return { value: blob.subarray(at + 4, at + 4 + len), next: at + 4 + len };
}

/**
 * Parses a host key given as `<type> <base64>` (an authorized_keys / known_hosts key without options; a trailing
 * comment is dropped). Returns the normalised `<type> <base64>` or what is wrong with it.
 */
export function parseHostKey(line: unknown): { key: string } | { problem: string } {
    const expected = HOST_KEY_FORMAT;
    if (typeof line !== "string") return { problem: `must be a string ${expected}` };
    const fields = line.trim().split(/\s+/);
    if (fields.length >= 3 && !(fields[0] in KEY_TYPES) && fields[1] in KEY_TYPES) {
        return { problem: `starts with "${fields[0]}", not a key type: drop the host name ssh-keyscan prints first and keep ${expected}` };
    }
    const [type, data] = fields;
    if (type === "ssh-rsa" || type?.startsWith("rsa-sha2-")) {
        return {
            problem:
                "is an RSA key: the command provider would ask for ssh-rsa (SHA-1) signatures, which OpenSSH 8.8+ no longer makes; pin the host's ed25519 key (ssh-keyscan -t ed25519)",
        };
    }
    if (!type || !(type in KEY_TYPES) || !data) return { problem: `must be ${expected}` };
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data) || data.length % 4 !== 0) return { problem: `is not base64 after "${type}"` };
    const blob = Buffer.from(data, "base64");
    const embedded = sshString(blob, 0);
    if (!embedded) return { problem: "is cut short (its key data ends early)" };
    if (embedded.value.toString("latin1") !== type) {
        return {
            problem: `says "${type}" but its key data is of type "${embedded.value.toString("latin1").replace(/[^\x20-\x7e]/g, "?")}"`,
        };
    }
    const spec = KEY_TYPES[type];
    const key = spec.ed25519 ? sshString(blob, embedded.next) : undefined;
    const curve = spec.curve ? sshString(blob, embedded.next) : undefined;
    const point = curve ? sshString(blob, curve.next) : undefined;
    const ok = spec.ed25519
        ? key?.value.length === 32 && key.next === blob.length
        : curve?.value.toString("latin1") === spec.curve &&
          point?.value.length === spec.point &&
          point?.value[0] === 4 &&
          point?.next === blob.length;
    if (!ok) return { problem: `is not a well-formed ${type} public key` };
    return { key: `${type} ${data}` };
}
