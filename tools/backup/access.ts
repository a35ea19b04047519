/**
 * Opens a live stack for the backup tools: its outputs, its parts (stackTargets.ts), the live database roles, and on
 * hosts the SSH access `pulumi up` uses (the stack's key, pinned host keys, bastion, sudo), written for this run into
 * a private directory and removed by `close()`.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { validateClusterConfig } from "../../components/config/validate";
import { parseStackOutputs, StackOutputs } from "../stackOutputs";
import { loadCommand, StackFacts } from "./plan";
import { dbRootScript, knownHostsText, onTarget, sshConfigText, Target } from "./remote";
import { sh } from "./shell";
import { dockerParts, factsFrom, hostsParts, NAMESPACE, rawConfigFromCli, StackParts, xtrabackupImageFrom } from "./stackTargets";

export interface StackAccess {
    outputs: StackOutputs;
    parts: StackParts;
    facts: StackFacts;
    /** Runs a `sh` script on a target as root; `input` is a file descriptor piped to it. Returns stdout. */
    run(t: Target, script: string, input?: number): string;
    /** The local bash command that runs a script on a target (for pipes between a target and this machine). */
    command(t: Target, script: string): string;
    /** Removes the run's SSH files. */
    close(): void;
}

/** What opening a stack needs of pulumi (stack selected; the CLI adds the stack's config file). */
export interface PulumiRunner {
    pulumi(args: string[]): string;
}

/** The ssh files of one run: a 0700 directory of this process with the key (0600), known_hosts and the config. */
function writeSshAccess(cfg: ReturnType<typeof validateClusterConfig>, privateKey: string): { dir: string; config: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bitrix-cluster-ssh-"));
    fs.chmodSync(dir, 0o700);
    const hosts = cfg.hosts!;
    const keyFile = path.join(dir, "id");
    const knownHostsFile = path.join(dir, "known_hosts");
    const config = path.join(dir, "config");
    // OpenSSH refuses a key without its final newline ("invalid format").
    fs.writeFileSync(keyFile, privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`, { mode: 0o600 });
    fs.writeFileSync(knownHostsFile, knownHostsText({ hosts: hosts.inventory.hosts, bastion: hosts.bastion }), { mode: 0o600 });
    fs.writeFileSync(
        config,
        sshConfigText({
            hosts: hosts.inventory.hosts,
            bastion: hosts.bastion,
            insecureIgnoreHostKeys: hosts.insecureIgnoreHostKeys,
            keyFile,
            knownHostsFile,
        }),
        { mode: 0o600 },
    );
    return { dir, config };
}

/**
 * @param opts.liveRoles Ask each database server whether it is writable (a backup or restore needs it; publishing
 * figures does not). @default true
 */
export function openStack(stack: string, runner: PulumiRunner, opts: { liveRoles?: boolean } = {}): StackAccess {
    const outputs = parseStackOutputs(runner.pulumi(["stack", "output", "--json"]));
    let parts: StackParts;
    let sshDir: string | undefined;
    let sshConfig: string | undefined;
    let xtrabackupImage: string | undefined;
    if (outputs.placement === "hosts") {
        const raw = rawConfigFromCli(runner.pulumi(["config", "--json", "--show-secrets"]));
        const cfg = validateClusterConfig(raw, { namespace: NAMESPACE, stack });
        const key = typeof raw.sshPrivateKey === "string" ? raw.sshPrivateKey : "";
        if (!key) throw new Error(`backup: stack ${stack} has no sshPrivateKey in its config`);
        parts = hostsParts(cfg, outputs);
        ({ dir: sshDir, config: sshConfig } = writeSshAccess(cfg, key));
    } else {
        parts = dockerParts(outputs);
        // Percona's physical copies run in an XtraBackup container: its image is the stack's config, not an output.
        if (outputs.dbEngine === "percona") xtrabackupImage = xtrabackupImageFrom(runner.pulumi(["config", "--json"]));
    }
    const command = (t: Target, script: string) => onTarget(t, script, sshConfig);
    const run = (t: Target, script: string, input?: number) => sh(command(t, script), undefined, input);
    const close = () => {
        if (sshDir) fs.rmSync(sshDir, { recursive: true, force: true });
    };
    try {
        const readOnly = ((opts.liveRoles ?? true) ? parts.servers : []).map((t) => {
            try {
                return run(t, dbRootScript(t, [...loadCommand(outputs.dbEngine), "-N", "-B", "-e", "SELECT @@global.read_only"])).trim();
            } catch {
                return "down";
            }
        });
        const facts = factsFrom(stack, outputs, parts, readOnly, sshConfig, xtrabackupImage);
        return { outputs, parts, facts, run, command, close };
    } catch (e) {
        close();
        throw e;
    }
}
