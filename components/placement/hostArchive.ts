/**
 * A service run from an archive on a host (ImageSpec `archive`, the user's push server): reading a tar's member list
 * where Pulumi runs (to check the archive before any resource exists), and the root step that unpacks the uploaded
 * archive on the host.
 */
import { shellQuote } from "../shared/shell";

/** One member of a tar archive, as far as the checks need it. */
export interface TarMember {
    name: string;
    /** "file", "dir", "symlink", "hardlink" or "other". */
    type: string;
    mode: number;
}

/**
 * The members of an uncompressed tar (ustar, GNU and pax: long names from GNU `L` records and pax `path` keys).
 * Throws on a header whose checksum does not match (not a tar).
 */
export function tarMembers(tar: Buffer): TarMember[] {
    const members: TarMember[] = [];
    const text = (b: Buffer) => b.toString("utf8").replace(/\0.*$/s, "");
    const octal = (b: Buffer) => parseInt(text(b).trim() || "0", 8);
    let offset = 0;
    let longName: string | undefined;
    while (offset + 512 <= tar.length) {
        const h = tar.subarray(offset, offset + 512);
        if (h.every((x) => x === 0)) break;
        const sum = h.reduce((s, x, i) => s + (i >= 148 && i < 156 ? 32 : x), 0);
        if (sum !== octal(h.subarray(148, 156))) throw new Error(`not a tar archive (bad header checksum at byte ${offset})`);
        const size = octal(h.subarray(124, 136));
        const flag = String.fromCharCode(h[156] || 48);
        const body = tar.subarray(offset + 512, offset + 512 + size);
        offset += 512 + Math.ceil(size / 512) * 512;
        if (flag === "L") {
            longName = text(body);
            continue;
        }
        if (flag === "x") {
            const m = body.toString("utf8").match(/(?:^|\n)\d+ path=([^\n]*)\n/);
            if (m) longName = m[1];
            continue;
        }
        if (flag === "g" || flag === "K") continue;
        const prefix = text(h.subarray(345, 500));
        const name = longName ?? (prefix ? `${prefix}/${text(h.subarray(0, 100))}` : text(h.subarray(0, 100)));
        longName = undefined;
        const type = { "0": "file", "7": "file", "5": "dir", "2": "symlink", "1": "hardlink" }[flag] ?? "other";
        members.push({ name, type, mode: octal(h.subarray(100, 108)) });
    }
    return members;
}

/**
 * Part of an archive service's start step, as root: unless `dir` already holds the archive with this digest, copy the
 * uploaded file somewhere only root can write, check its SHA-256 against the one computed where Pulumi runs (the
 * upload is the SSH user's file), unpack it into a fresh directory owned by root, readable by all, writable by root
 * only, without set-id bits, and swap it in. The service is restarted after this (the digest is part of its restart digest).
 */
export function unpackArchiveScript(input: { sshUser: string; upload: string; dir: string; sha256: string }): string {
    if (!/^[a-f0-9]{64}$/.test(input.sha256)) throw new Error("unpackArchiveScript: sha256 must be 64 hex digits");
    // The upload's path is relative to the SSH user's home (where SFTP starts).
    const staged = `"$(getent passwd ${shellQuote(input.sshUser)} | cut -d: -f6)"/${shellQuote(input.upload)}`;
    const dir = shellQuote(input.dir);
    const marker = shellQuote(`${input.dir}/.bitrix-cluster-archive`);
    return [
        `if [ "$(cat ${marker} 2>/dev/null)" != ${input.sha256} ]; then`,
        `    tmp=$(mktemp -d)`,
        `    install -m 0600 ${staged} "$tmp/archive.tar.gz"`,
        `    echo "${input.sha256}  $tmp/archive.tar.gz" | sha256sum -c --quiet - || { echo "${input.dir}: the uploaded archive is not the one Pulumi checked" >&2; rm -rf "$tmp"; exit 1; }`,
        `    rm -rf ${shellQuote(`${input.dir}.new`)} && install -d -m 0755 ${shellQuote(`${input.dir}.new`)}`,
        `    tar -xzf "$tmp/archive.tar.gz" -C ${shellQuote(`${input.dir}.new`)} --no-same-owner --no-same-permissions`,
        `    rm -rf "$tmp"`,
        // Root's, readable by the service, writable by no one else, no set-id bits (whatever the archive's modes were).
        `    chown -R -h root:root ${shellQuote(`${input.dir}.new`)} && chmod -R u+rwX,go+rX,go-w,ug-s ${shellQuote(`${input.dir}.new`)}`,
        `    echo ${input.sha256} > ${shellQuote(`${input.dir}.new/.bitrix-cluster-archive`)}`,
        `    rm -rf ${shellQuote(`${input.dir}.old`)}`,
        `    if [ -d ${dir} ]; then mv ${dir} ${shellQuote(`${input.dir}.old`)}; fi`,
        `    mv ${shellQuote(`${input.dir}.new`)} ${dir} && rm -rf ${shellQuote(`${input.dir}.old`)}`,
        "fi",
    ].join("\n");
}
