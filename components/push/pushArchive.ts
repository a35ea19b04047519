/**
 * The push server as a tarball (`pushArchive`, placement hosts; docs/push.md "The push server tarball"): checked
 * where Pulumi runs before any resource exists, then uploaded to each push host and unpacked by root into a fixed
 * directory the service user cannot write, which the push unit runs `start` from.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { gunzipSync } from "zlib";
import { TarMember, tarMembers } from "../placement/hostArchive";

/** Where a push host keeps the unpacked server (root's, read-only to the service). */
export const PUSH_ARCHIVE_DIR = "/opt/bitrix-cluster/push-server";
/** The executable at the archive's top level that starts the sub and pub listeners. */
export const PUSH_ARCHIVE_ENTRY = "start";

/** The archive's members with a leading "./" dropped (as `tar -C dir -x` places them). */
const normalised = (name: string) => name.replace(/^(\.\/)+/, "");

/**
 * What is wrong with the bytes of a push server tarball, or undefined: gzip, a tar, an executable regular file
 * `start` at the top level, and no member that would land outside the directory it is unpacked into.
 */
export function pushArchiveProblem(bytes: Buffer): string | undefined {
    if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return "not gzip-compressed (expected a .tar.gz)";
    let members: TarMember[];
    try {
        members = tarMembers(gunzipSync(bytes));
    } catch (e) {
        return `cannot be read as a .tar.gz: ${(e as Error).message}`;
    }
    const outside = members.find((m) => m.name.startsWith("/") || normalised(m.name).split("/").includes(".."));
    if (outside) return `member "${outside.name}" would be unpacked outside the server's directory`;
    const entry = members.find((m) => normalised(m.name) === PUSH_ARCHIVE_ENTRY);
    if (!entry)
        return `has no "${PUSH_ARCHIVE_ENTRY}" at its top level (the executable that starts the sub and pub listeners; docs/push.md)`;
    if (entry.type !== "file" || (entry.mode & 0o100) === 0) return `"${PUSH_ARCHIVE_ENTRY}" must be an executable regular file`;
    return undefined;
}

/** A checked push server tarball: its absolute path and the SHA-256 of its content. */
export interface PushArchive {
    path: string;
    sha256: string;
}

/**
 * Reads and checks the tarball at `file` (relative to `cwd`, where Pulumi runs); returns it or the problem, in
 * words for the config validator.
 */
export function readPushArchive(file: string, cwd = process.cwd()): PushArchive | { problem: string } {
    const abs = path.resolve(cwd, file);
    if (!/\.(tar\.gz|tgz)$/.test(abs)) return { problem: `${file}: expected a .tar.gz or .tgz file` };
    let bytes: Buffer;
    try {
        if (!fs.statSync(abs).isFile()) return { problem: `${abs} is not a regular file` };
        bytes = fs.readFileSync(abs);
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        return { problem: code === "ENOENT" ? `${abs} does not exist` : `${abs} cannot be read (${code ?? (e as Error).message})` };
    }
    const problem = pushArchiveProblem(bytes);
    if (problem) return { problem: `${abs}: ${problem}` };
    return { path: abs, sha256: createHash("sha256").update(bytes).digest("hex") };
}
