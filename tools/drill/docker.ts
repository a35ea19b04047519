/** What the drills need from Docker, asynchronous on purpose: the load runs in the same process, and a blocking call would stall it and fake a gap. */
import { execFile } from "child_process";
import { promisify } from "util";

const run = promisify(execFile);

export const docker = async (args: string[]): Promise<string> => (await run("docker", args, { encoding: "utf8", timeout: 60_000 })).stdout;

/** Polls `check` every 100 ms; returns the seconds it took, throws after `timeoutMs`. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
    const t0 = performance.now();
    while (!(await check())) {
        if (performance.now() - t0 > timeoutMs) throw new Error(`drill: ${what} did not happen within ${timeoutMs / 1000} s`);
        await new Promise((r) => setTimeout(r, 100));
    }
    return (performance.now() - t0) / 1000;
}

/** Whether the container's health check says healthy. */
export async function healthy(container: string): Promise<boolean> {
    try {
        return (await docker(["inspect", "-f", "{{.State.Health.Status}}", container])).trim() === "healthy";
    } catch {
        return false;
    }
}
