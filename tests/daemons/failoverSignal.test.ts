/**
 * The database failover manager stops at once on SIGTERM when it is PID 1, as it is in its container: the kernel
 * ignores SIGTERM for a PID 1 without a handler, so `docker stop` used to wait its whole timeout and kill it (30 s of
 * a physical restore's 38 s on the dev stack). Run in a new PID namespace with `unshare --pid --fork`.
 */
import { strict as assert } from "node:assert";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { requireBinary, tmpDir, waitFor } from "../helpers/daemons";

const MANAGER = path.join(__dirname, "..", "..", "..", "images", "mariadb", "db-failover.py");

/** A command as PID 1 of a new PID namespace; returns the unshare process and the command's PID seen from here. */
async function asPid1(argv: string[], env: NodeJS.ProcessEnv): Promise<{ proc: ChildProcess; pid: number }> {
    const proc = spawn(requireBinary("unshare"), ["--pid", "--fork", "--kill-child", ...argv], {
        env: { ...process.env, ...env },
        stdio: "ignore",
    });
    const pid = await waitFor(
        "the namespace's PID 1",
        () => {
            try {
                return (
                    Number(
                        execFileSync("pgrep", ["-P", String(proc.pid)], { encoding: "utf8" })
                            .trim()
                            .split("\n")[0],
                    ) || undefined
                );
            } catch {
                return undefined;
            }
        },
        5000,
        50,
    );
    return { proc, pid };
}

const exited = (proc: ChildProcess, ms: number) =>
    new Promise<boolean>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve(true);
        const t = setTimeout(() => resolve(false), ms);
        proc.once("exit", () => {
            clearTimeout(t);
            resolve(true);
        });
    });

describe("db-failover as PID 1 (its container's main process)", () => {
    it("a PID 1 without a handler ignores SIGTERM (the control: the check can fail)", async () => {
        const { proc, pid } = await asPid1(["/usr/bin/python3", "-c", "import time; time.sleep(30)"], {});
        try {
            process.kill(pid, "SIGTERM");
            assert.equal(await exited(proc, 2000), false, "still running 2 s after SIGTERM");
        } finally {
            proc.kill("SIGKILL");
        }
    });

    it("the manager exits within 2 s of SIGTERM", async () => {
        const dir = tmpDir("failover-signal");
        const config = path.join(dir, "config.json");
        fs.writeFileSync(
            config,
            JSON.stringify({
                engine: "mariadb",
                user: "failover",
                replicationUser: "repl",
                nodes: [{ name: "db-master", host: "127.0.0.1", port: 9 }],
            }),
        );
        const { proc, pid } = await asPid1([MANAGER, config], {
            DB_FAILOVER_PASSWORD: "x",
            DB_REPLICATION_PASSWORD: "y",
            DB_FAILOVER_BEAT: path.join(dir, "beat"),
        });
        try {
            await waitFor("the manager's first round", () => fs.existsSync(path.join(dir, "beat")), 10000, 100);
            const t0 = Date.now();
            process.kill(pid, "SIGTERM");
            assert.equal(await exited(proc, 2000), true, "exited after SIGTERM");
            console.log(`# db-failover as PID 1: exited ${Date.now() - t0} ms after SIGTERM`);
        } finally {
            // unshare --kill-child takes the namespace's PID 1 with it.
            proc.kill("SIGKILL");
        }
    });
});
