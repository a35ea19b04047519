/**
 * A throwaway Pulumi stack of this project for end-to-end tests: its own file backend and config file in a temp
 * directory, so it never touches the user's stacks or the repository's Pulumi.<stack>.yaml files.
 * `pulumi` (and the plugins) must be on PATH: scripts/test.sh puts them there.
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { defaultImagesDir } from "../../components/placement/docker";
import { PreviewJson } from "../../tools/previewSummary";
import { parseStackOutputs, StackOutputs } from "../../tools/stackOutputs";

/** The project directory (the one holding Pulumi.yaml and images/). */
export function projectDir(): string {
    return path.dirname(defaultImagesDir());
}

/** Fails with a pointer to the test command when pulumi or the Docker engine is not usable. */
export function requireEngineTools(): void {
    for (const [tool, args] of [
        ["pulumi", ["version"]],
        ["docker", ["info", "--format", "{{.ServerVersion}}"]],
    ] as const) {
        try {
            execFileSync(tool, [...args], { stdio: "pipe", timeout: 60_000 });
        } catch (e) {
            throw new Error(
                `${tool} is not usable (${(e as Error).message.split("\n")[0]}); run this suite through 'bash scripts/test.sh', which sets it up`,
            );
        }
    }
}

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
    seconds: number;
}

export class TestStack {
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "bx-stack-"));
    readonly configFile = path.join(this.dir, "Pulumi.stack.yaml");
    readonly env: NodeJS.ProcessEnv;

    constructor(readonly name: string) {
        this.env = {
            ...process.env,
            PULUMI_BACKEND_URL: `file://${this.dir}/state`,
            PULUMI_CONFIG_PASSPHRASE: "bitrix-cluster-e2e",
            PULUMI_CONFIG_PASSPHRASE_FILE: "",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        };
        fs.mkdirSync(path.join(this.dir, "state"));
    }

    /** Runs `pulumi <args> --stack <name> --config-file <file>`; resolves with whatever it printed. */
    run(args: string[], timeoutMs = 20 * 60_000): Promise<RunResult> {
        const started = Date.now();
        const withConfig = ["config", "up", "preview", "destroy", "refresh"].includes(args[0]);
        const full = [
            ...args,
            "--stack",
            this.name,
            ...(withConfig ? ["--config-file", this.configFile] : []),
            "--non-interactive",
            "--color",
            "never",
        ];
        return new Promise((resolve) => {
            execFile(
                "pulumi",
                full,
                { cwd: projectDir(), env: this.env, timeout: timeoutMs, maxBuffer: 64 << 20 },
                (err, stdout, stderr) => {
                    const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
                    resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 });
                },
            );
        });
    }

    /** Like run, but throws with the command's output when it fails. */
    async ok(args: string[], timeoutMs?: number): Promise<RunResult> {
        const r = await this.run(args, timeoutMs);
        if (r.code !== 0)
            throw new Error(`pulumi ${args.join(" ")} failed (${r.code}):\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-3000)}`);
        return r;
    }

    async init(config: Record<string, string | number | boolean>): Promise<void> {
        execFileSync("pulumi", ["stack", "init", this.name, "--non-interactive"], { cwd: projectDir(), env: this.env, stdio: "pipe" });
        for (const [key, value] of Object.entries(config)) await this.setConfig(key, value);
    }

    setConfig(key: string, value: string | number | boolean): Promise<RunResult> {
        return this.ok(["config", "set", `bitrix-cluster:${key}`, String(value)]);
    }

    /** Sets a config secret from stdin (a multi-line key too), as `pulumi config set --secret KEY < file` does. */
    setSecret(key: string, value: string): void {
        execFileSync(
            "pulumi",
            [
                "config",
                "set",
                "--secret",
                `bitrix-cluster:${key}`,
                "--stack",
                this.name,
                "--config-file",
                this.configFile,
                "--non-interactive",
            ],
            { cwd: projectDir(), env: this.env, input: value, stdio: ["pipe", "pipe", "pipe"] },
        );
    }

    /** Writes structured values (lists of objects) into the stack's config file, as a user edits Pulumi.<stack>.yaml. */
    setStructuredConfig(values: Record<string, unknown>): void {
        const doc =
            (fs.existsSync(this.configFile)
                ? (YAML.parse(fs.readFileSync(this.configFile, "utf8")) as { config?: Record<string, unknown> } | null)
                : null) ?? {};
        const config: Record<string, unknown> = { ...(doc.config ?? {}) };
        doc.config = config;
        for (const [key, value] of Object.entries(values)) {
            if (value === undefined) delete config[`bitrix-cluster:${key}`];
            else config[`bitrix-cluster:${key}`] = value;
        }
        fs.writeFileSync(this.configFile, YAML.stringify(doc));
    }

    async outputs(): Promise<StackOutputs> {
        return parseStackOutputs((await this.ok(["stack", "output", "--json"])).stdout);
    }

    /** `pulumi preview --json`, parsed (also when the preview fails: its errors are in `diagnostics`). */
    async previewJson(): Promise<{ code: number; json: PreviewJson; stderr: string }> {
        const r = await this.run(["preview", "--json"]);
        let json: PreviewJson;
        try {
            json = JSON.parse(r.stdout) as PreviewJson;
        } catch {
            throw new Error(`pulumi preview --json printed no JSON (exit ${r.code}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
        }
        return { code: r.code, json, stderr: r.stderr };
    }

    unsetConfig(key: string): Promise<RunResult> {
        return this.ok(["config", "rm", `bitrix-cluster:${key}`]);
    }

    /** Steps of a preview, from `pulumi preview --json`. */
    async previewSteps(): Promise<Array<{ op: string; urn: string; type: string }>> {
        const r = await this.ok(["preview", "--json"]);
        return ((JSON.parse(r.stdout) as PreviewJson).steps ?? []).map((s) => ({
            op: s.op,
            urn: s.urn,
            type: (s.newState ?? s.oldState)?.type ?? "",
        }));
    }

    /** Destroys what is left and removes the stack and its temp directory (after a failure too). */
    async remove(): Promise<void> {
        await this.run(["destroy", "--yes", "--skip-preview"]);
        await this.run(["stack", "rm", "--yes", "--force"]);
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}
