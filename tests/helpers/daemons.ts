/**
 * Runs Debian's real daemons on loopback from generated config files, for the daemon tests. A missing binary is
 * an error that says how to install it, never a skip.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export function requireBinary(binary: string): string {
    const found = ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin"]
        .map((d) => path.join(d, binary))
        .find((p) => fs.existsSync(p));
    if (!found)
        throw new Error(`${binary} is not installed: run \`bash scripts/install-test-deps.sh\` (Debian packages the daemon tests use)`);
    return found;
}

export function tmpDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), `bx-${prefix}-`));
}

export function write(file: string, content: string, mode = 0o644): string {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { mode });
    return file;
}

/** Runs a command to completion; returns stdout, throws with stderr on failure. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): string {
    try {
        return execFileSync(cmd, args, {
            encoding: "utf8",
            env: { ...process.env, ...opts.env },
            input: opts.input,
            cwd: opts.cwd,
            stdio: ["pipe", "pipe", "pipe"],
        });
    } catch (err) {
        // execFileSync's error carries the exit status and both outputs (strings with encoding "utf8").
        const e = err as { status?: number | null; stdout?: string; stderr?: string };
        throw new Error(`${cmd} ${args.join(" ")} failed (${e.status}):\n${e.stdout ?? ""}${e.stderr ?? ""}`);
    }
}

/** A daemon ended while a test waited on it: no point in waiting out the timeout. */
class DaemonExited extends Error {
    constructor(name: string, status: number | string | null) {
        super(`${name} exited (${status})`);
    }
}

export async function waitFor<T>(
    what: string,
    probe: () => T | undefined | false | Promise<T | undefined | false>,
    timeoutMs = 20000,
    everyMs = 100,
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const v = await probe();
            if (v) return v;
        } catch (e) {
            if (e instanceof DaemonExited) throw e;
            last = e;
        }
        if (Date.now() > deadline)
            throw new Error(
                `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last instanceof Error ? String(last) : JSON.stringify(last)}` : ""}`,
            );
        await new Promise((r) => setTimeout(r, everyMs));
    }
}

export function portOpen(port: number, host = "127.0.0.1"): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect({ port, host });
        s.once("connect", () => {
            s.destroy();
            resolve(true);
        });
        s.once("error", () => resolve(false));
        s.setTimeout(500, () => {
            s.destroy();
            resolve(false);
        });
    });
}

/** Background daemons of one test file; all are stopped by `stopAll`. */
export class Daemons {
    private readonly procs: Array<{ name: string; proc: ChildProcess; log: string[]; stopping: boolean }> = [];

    start(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
        const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
        const entry = { name, proc, log: [] as string[], stopping: false };
        const keep = (b: Buffer) => {
            entry.log.push(b.toString());
            if (entry.log.length > 200) entry.log.shift();
        };
        proc.stdout?.on("data", keep);
        proc.stderr?.on("data", keep);
        this.procs.push(entry);
        return proc;
    }

    /**
     * `waitFor` for something these daemons should bring about. It fails at once, with the daemon's output, when a
     * daemon started here exits without being stopped; on a timeout its error ends with every daemon's state and the
     * last lines of its output, so a failure in CI says what the daemons did.
     */
    async waitFor<T>(
        what: string,
        probe: () => T | undefined | false | Promise<T | undefined | false>,
        timeoutMs = 20000,
        everyMs = 100,
    ): Promise<T> {
        const gone = () => this.procs.find((p) => !p.stopping && (p.proc.exitCode !== null || p.proc.signalCode !== null));
        try {
            return await waitFor(
                what,
                async () => {
                    const exited = gone();
                    if (exited) throw new DaemonExited(exited.name, exited.proc.exitCode ?? exited.proc.signalCode);
                    return probe();
                },
                timeoutMs,
                everyMs,
            );
        } catch (err) {
            const exited = gone();
            // Its last output can arrive after its exit: wait (briefly) for its pipes to close.
            if (exited) await Promise.race([once(exited.proc, "close").catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
            const cause = exited
                ? `${exited.name} exited (${exited.proc.exitCode ?? exited.proc.signalCode}) while waiting for ${what}`
                : err instanceof Error
                  ? err.message
                  : String(err);
            throw new Error(`${cause}\n${this.report()}`);
        }
    }

    /** Each daemon's state and the last lines of its output. */
    report(lines = 15): string {
        return this.procs
            .map((p) => {
                const state =
                    p.proc.exitCode !== null || p.proc.signalCode !== null
                        ? `exited (${p.proc.exitCode ?? p.proc.signalCode})${p.stopping ? ", stopped by the test" : ""}`
                        : "running";
                const out = p.log.join("").trimEnd();
                const tail = out ? out.split("\n").slice(-lines) : ["(no output)"];
                return [`--- ${p.name} (pid ${p.proc.pid}): ${state}`, ...tail.map((l) => `    ${l}`)].join("\n");
            })
            .join("\n");
    }

    /** Output of a daemon so far (for failure messages). */
    log(name: string): string {
        return this.procs
            .filter((p) => p.name === name)
            .map((p) => p.log.join(""))
            .join("\n");
    }

    stop(name: string, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
        const named = this.procs.filter((p) => p.name === name);
        named.forEach((p) => (p.stopping = true));
        return Promise.all(named.map((p) => this.kill(p.proc, signal))).then(() => undefined);
    }

    async stopAll(): Promise<void> {
        this.procs.forEach((p) => (p.stopping = true));
        await Promise.all(this.procs.map((p) => this.kill(p.proc, "SIGTERM")));
    }

    private kill(proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
        if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
        return new Promise((resolve) => {
            const timer = setTimeout(() => {
                try {
                    process.kill(-proc.pid!, "SIGKILL");
                } catch {
                    /* gone */
                }
            }, 10000);
            proc.once("exit", () => {
                clearTimeout(timer);
                resolve();
            });
            try {
                process.kill(-proc.pid!, signal);
            } catch {
                clearTimeout(timer);
                resolve();
            }
        });
    }
}
