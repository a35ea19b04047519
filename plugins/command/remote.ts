/**
 * `command.remote.Command` and `command.remote.CopyToRemote` over SSH, following pulumi-command 1.2.1: the same
 * create / update-or-create / delete cycle as local commands (only `triggers` replaces), `connection` a secret;
 * CopyToRemote writes a text asset, a file or a directory over SFTP and copies again when the source's hash or the
 * remote path changes.
 */
import * as fs from "fs";
import * as path from "path";
import { randomBytes } from "crypto";
import { SFTPWrapper } from "ssh2";
import { ResourceType } from "../provider";
import { ARCHIVE_SIG, ASSET_SIG, SIG } from "../values";
import { Failure } from "../schema";
import { commandLifecycle, RunResult } from "./lifecycle";
import { Connection, connect, connectionShape, exec, withConnectionDefaults } from "./ssh";


async function run(i: any, script: string, env: Record<string, string>): Promise<RunResult> {
    const { client, close } = await connect(i.connection as Connection);
    try {
        return await exec(client, script, env, i.stdin);
    } finally {
        close();
    }
}

const withDefaults = (news: any) => ({ ...news, connection: withConnectionDefaults(news.connection) });
const needsHost = (i: any): Failure[] => i.connection?.host ? [] : [{ property: "connection.host", reason: "connection.host is required" }];

export const remoteCommand: ResourceType = {
    token: "command:remote:Command",
    inputs: {
        connection: connectionShape, create: "string", update: "string", delete: "string", environment: { map: "string" },
        stdin: "string", triggers: { array: "any" }, addPreviousOutputInEnv: "boolean", logging: "string",
    },
    replaceOn: ["triggers"],
    secretOutputs: ["connection"],
    normalize: withDefaults,
    validate: needsHost,
    ...commandLifecycle(run),
};

/** A Pulumi asset or archive as the engine sends it: text, or a local path. */
export function sourceOf(v: any): { text: string } | { path: string; dir: boolean } {
    const sig = v?.[SIG];
    if (sig === ASSET_SIG && typeof v.text === "string") return { text: v.text };
    if ((sig === ASSET_SIG || sig === ARCHIVE_SIG) && typeof v.path === "string") {
        return { path: v.path, dir: fs.statSync(v.path).isDirectory() };
    }
    throw new Error("source: only StringAsset, FileAsset and FileArchive of a directory are implemented by this offline plugin");
}

const sftpCall = <T>(fn: (cb: (err: Error | null | undefined, v?: T) => void) => void) =>
    new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));

async function stat(sftp: SFTPWrapper, p: string): Promise<{ isDirectory(): boolean } | undefined> {
    try {
        return await sftpCall((cb) => sftp.stat(p, cb));
    } catch (e) {
        if ((e as { code?: number }).code === 2) return undefined; // SSH_FX_NO_SUCH_FILE
        throw e;
    }
}

async function mkdirAll(sftp: SFTPWrapper, dir: string): Promise<void> {
    if (dir === "/" || dir === "." || (await stat(sftp, dir))) return;
    await mkdirAll(sftp, path.posix.dirname(dir));
    await sftpCall((cb) => sftp.mkdir(dir, cb));
}

async function putTree(sftp: SFTPWrapper, local: string, remote: string): Promise<void> {
    await mkdirAll(sftp, remote);
    for (const entry of fs.readdirSync(local, { withFileTypes: true })) {
        const from = path.join(local, entry.name);
        const to = path.posix.join(remote, entry.name);
        if (entry.isDirectory()) await putTree(sftp, from, to);
        else await putFile(sftp, from, to);
    }
}

async function putFile(sftp: SFTPWrapper, local: string, remote: string): Promise<void> {
    await sftpCall((cb) => sftp.fastPut(local, remote, cb));
    await sftpCall((cb) => sftp.chmod(remote, fs.statSync(local).mode & 0o7777, cb));
}

/** Upstream's placement rules: a file into an existing directory keeps its name; `dir` lands as dest/dir, `dir/` as its contents. */
async function copy(i: any): Promise<void> {
    const source = sourceOf(i.source);
    const { client, close } = await connect(i.connection as Connection);
    try {
        const sftp = await sftpCall<SFTPWrapper>((cb) => client.sftp(cb));
        const dest: string = i.remotePath;
        const existing = await stat(sftp, dest);
        if ("text" in source) {
            if (existing?.isDirectory()) throw new Error(`remote path ${dest} is a directory; when using a text asset, remotePath must be a file path`);
            await mkdirAll(sftp, path.posix.dirname(dest));
            await sftpCall((cb) => sftp.writeFile(dest, source.text, cb));
        } else if (source.dir) {
            if (existing && !existing.isDirectory()) throw new Error(`remote path ${dest} is a file; a directory cannot be copied onto it`);
            await putTree(sftp, source.path, source.path.endsWith("/") ? dest : path.posix.join(dest, path.basename(source.path)));
        } else {
            await putFile(sftp, source.path, existing?.isDirectory() ? path.posix.join(dest, path.basename(source.path)) : dest);
        }
        sftp.end();
    } finally {
        close();
    }
}

export const copyToRemote: ResourceType = {
    token: "command:remote:CopyToRemote",
    inputs: { connection: connectionShape, source: "any", remotePath: "string", triggers: { array: "any" } },
    replaceOn: ["triggers"],
    secretOutputs: ["connection"],
    normalize: withDefaults,
    validate(i) {
        const failures = needsHost(i);
        if (!i.remotePath) failures.push({ property: "remotePath", reason: "remotePath is required" });
        try {
            sourceOf(i.source);
        } catch (e) {
            failures.push({ property: "source", reason: (e as Error).message });
        }
        return failures;
    },
    async create(i) {
        await copy(i);
        return { id: randomBytes(8).toString("hex"), outs: {} };
    },
    async read() {
        return {};
    },
    async update(_id, olds, news) {
        if (JSON.stringify(olds.source) !== JSON.stringify(news.source) || olds.remotePath !== news.remotePath) await copy(news);
        return {};
    },
    async delete() {
        // Upstream leaves copied files in place.
    },
};
