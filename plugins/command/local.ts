/**
 * `command.local.Command`: runs `create` once, `update` (or `create` again) when its inputs change, `delete` when
 * removed. As in pulumi-command, only a change of `triggers` replaces it; the previous run's output is passed in
 * PULUMI_COMMAND_STDOUT / PULUMI_COMMAND_STDERR.
 */
import { spawn } from "child_process";
import { ResourceType } from "../provider";
import { commandLifecycle, RunResult } from "./lifecycle";

/** Runs `script` with the interpreter; rejects with the exit status and stderr (not stdout, which may hold secrets). */
export function runLocal(script: string, opts: { interpreter?: string[]; dir?: string; env?: Record<string, string>; stdin?: string }): Promise<RunResult> {
    const [cmd, ...args] = opts.interpreter?.length ? opts.interpreter : ["/bin/sh", "-c"];
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, [...args, script], { cwd: opts.dir, env: { ...process.env, ...opts.env }, stdio: "pipe" });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("error", reject);
        child.on("close", (code, signal) => {
            // pulumi-command trims one trailing newline.
            const result = { stdout: stdout.replace(/\n$/, ""), stderr: stderr.replace(/\n$/, "") };
            if (code === 0) resolve(result);
            else reject(new Error(`command exited with ${signal ?? `status ${code}`}: ${result.stderr.slice(-2000)}`));
        });
        // A command that never reads its stdin may exit before we finish writing it.
        child.stdin.on("error", () => undefined);
        child.stdin.end(opts.stdin ?? "");
    });
}

export const localCommand: ResourceType = {
    token: "command:local:Command",
    inputs: {
        create: "string", update: "string", delete: "string", dir: "string", environment: { map: "string" },
        interpreter: { array: "string" }, stdin: "string", triggers: { array: "any" }, addPreviousOutputInEnv: "boolean",
        logging: "string",
    },
    replaceOn: ["triggers"],
    defaults: { addPreviousOutputInEnv: true },
    ...commandLifecycle((i, script, env) => runLocal(script, { interpreter: i.interpreter, dir: i.dir, env, stdin: i.stdin })),
};
