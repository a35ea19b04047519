/**
 * The lifecycle pulumi-command gives local and remote commands alike: `create` once, `update` (or `create` again)
 * when the inputs change, `delete` on removal; the previous run's output, when not empty, is passed in
 * PULUMI_COMMAND_STDOUT / PULUMI_COMMAND_STDERR unless `addPreviousOutputInEnv` is false.
 */
import { randomBytes } from "crypto";
import { ResourceType } from "../provider";

export interface RunResult { stdout: string; stderr: string }

/** Runs one script with the resource's inputs and the given environment. */
export type Runner = (i: any, script: string, env: Record<string, string>) => Promise<RunResult>;

function environment(i: any, previous?: RunResult): Record<string, string> {
    const env: Record<string, string> = { ...(i.environment ?? {}) };
    if (previous && i.addPreviousOutputInEnv !== false) {
        if (previous.stdout) env.PULUMI_COMMAND_STDOUT = previous.stdout;
        if (previous.stderr) env.PULUMI_COMMAND_STDERR = previous.stderr;
    }
    return env;
}

const outputsOf = (state: any): RunResult => ({ stdout: state.stdout ?? "", stderr: state.stderr ?? "" });

export function commandLifecycle(run: Runner): Pick<ResourceType, "create" | "read" | "update" | "delete"> {
    return {
        async create(i) {
            const out = i.create ? await run(i, i.create, environment(i)) : { stdout: "", stderr: "" };
            // pulumi-command's id is random: a command has no identity outside the state.
            return { id: randomBytes(8).toString("hex"), outs: out };
        },
        async read() {
            return {};
        },
        async update(_id, olds, news) {
            const script = news.update ?? news.create;
            return script ? run(news, script, environment(news, outputsOf(olds))) : outputsOf(olds);
        },
        async delete(_id, state) {
            if (state.delete) await run(state, state.delete, environment(state, outputsOf(state)));
        },
    };
}
