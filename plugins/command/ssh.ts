/**
 * SSH for the `command` stand-in, with `ssh2`: connections as pulumi-command takes them (user `root`, port 22,
 * private key before password, an optional bastion, up to `dialErrorLimit` dial attempts of `perDialTimeout` s,
 * the host key checked only when `hostKey` is given).
 */
import { Client, ConnectConfig } from "ssh2";
import { hasUnknown, isSecret, secret } from "../values";
import { RunResult } from "./lifecycle";

export interface Connection {
    host: string; port?: number; user?: string; password?: string; privateKey?: string; privateKeyPassword?: string;
    agentSocketPath?: string; dialErrorLimit?: number; perDialTimeout?: number; hostKey?: string; proxy?: Connection;
}

const hop = {
    host: "string", port: "number", user: "string", password: "string", privateKey: "string", privateKeyPassword: "string",
    agentSocketPath: "string", dialErrorLimit: "integer", perDialTimeout: "integer", hostKey: "string",
} as const;
/** A connection, and its bastion (`proxy`) with the same fields. */
export const connectionShape = { object: { ...hop, proxy: { object: hop } } } as const;

/** Upstream's connection defaults, recorded at check time (inside the secret wrapper when the connection is one). */
export function withConnectionDefaults(c: any): any {
    if (isSecret(c)) return secret(withConnectionDefaults(c.value));
    if (typeof c !== "object" || c === null || hasUnknown(c)) return c;
    const filled = { user: "root", port: 22, dialErrorLimit: 10, perDialTimeout: 15, ...c };
    return c.proxy ? { ...filled, proxy: withConnectionDefaults(c.proxy) } : filled;
}

/** The key blob of an authorized_keys line ("ssh-ed25519 AAAA… comment"), to compare with the server's. */
function hostKeyBlob(line: string): Buffer {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 2) throw new Error("failed to parse host key: expected \"<type> <base64>\"");
    return Buffer.from(parts[1], "base64");
}

function config(c: Connection, sock?: NodeJS.ReadableStream): ConnectConfig {
    const expected = c.hostKey ? hostKeyBlob(c.hostKey) : undefined;
    return {
        host: sock ? undefined : c.host,
        port: sock ? undefined : c.port ?? 22,
        sock: sock as any,
        username: c.user ?? "root",
        privateKey: c.privateKey,
        passphrase: c.privateKeyPassword,
        password: c.password,
        agent: c.agentSocketPath ?? process.env.SSH_AUTH_SOCK,
        tryKeyboard: c.password !== undefined,
        readyTimeout: (c.perDialTimeout ?? 15) * 1000 || 2 ** 31 - 1,
        hostVerifier: expected ? (key: Buffer) => key.equals(expected) : undefined,
    };
}

function dialOnce(c: Connection, sock?: NodeJS.ReadableStream): Promise<Client> {
    return new Promise((resolve, reject) => {
        const client = new Client();
        client.on("ready", () => resolve(client));
        client.on("error", reject);
        client.on("keyboard-interactive", (_n, _i, _l, prompts, finish) => finish(prompts.map(() => c.password ?? "")));
        client.connect(config(c, sock));
    });
}

async function dialWithRetry(c: Connection, sock?: () => Promise<NodeJS.ReadableStream>): Promise<Client> {
    const limit = c.dialErrorLimit ?? 10;
    for (let attempt = 1; ; attempt++) {
        try {
            return await dialOnce(c, sock ? await sock() : undefined);
        } catch (e) {
            const message = (e as Error).message;
            // Authentication and host-key failures do not get better by retrying.
            if ((limit !== -1 && attempt >= limit) || /authentication|host key|verification/i.test(message)) {
                throw new Error(`ssh ${c.user ?? "root"}@${c.host}:${c.port ?? 22}: after ${attempt} failed attempts: ${message}`);
            }
            await new Promise((r) => setTimeout(r, Math.min(1000 * attempt, 5000)));
        }
    }
}

/** Connects, through the bastion when `proxy` is set. Close the returned client(s) with `close()`. */
export async function connect(c: Connection): Promise<{ client: Client; close: () => void }> {
    if (!c.proxy) {
        const client = await dialWithRetry(c);
        return { client, close: () => client.end() };
    }
    const bastion = await dialWithRetry(c.proxy);
    const tunnel = () => new Promise<NodeJS.ReadableStream>((resolve, reject) =>
        bastion.forwardOut("127.0.0.1", 0, c.host, c.port ?? 22, (err, stream) => (err ? reject(err) : resolve(stream))));
    try {
        const client = await dialWithRetry(c, tunnel);
        return { client, close: () => { client.end(); bastion.end(); } };
    } catch (e) {
        bastion.end();
        throw e;
    }
}



/** Runs one command in a session; env goes as SSH `env` requests (the server must AcceptEnv them, as upstream). */
export function exec(client: Client, command: string, env: Record<string, string>, stdin?: string): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        client.exec(command, { env }, (err, stream) => {
            if (err) return reject(err);
            let stdout = "";
            let stderr = "";
            stream.on("data", (d: Buffer) => (stdout += d));
            stream.stderr.on("data", (d: Buffer) => (stderr += d));
            stream.on("close", (code: number | null, signal?: string) => {
                const result = { stdout: stdout.replace(/\n$/, ""), stderr: stderr.replace(/\n$/, "") };
                if (code === 0) resolve(result);
                else reject(new Error(`command exited with ${signal ? `signal ${signal}` : `status ${code}`}: ${result.stderr.slice(-2000)}`));
            });
            stream.end(stdin ?? "");
        });
    });
}
