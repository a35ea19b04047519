/**
 * `node build/tools/backup-cli.js backup --stack <name>` / `restore --stack <name> [--snapshot <id>]`, through
 * scripts/backup.sh (which provides pulumi, restic and the repository). Prints one JSON line with the figures.
 */
import { execFileSync } from "child_process";
import { KEYS } from "../components/config/keys";
import { checkMethod } from "./backup/physicalDocker";
import { parseTarget } from "./backup/pitr";
import { backup, publishRunMetrics, restore, Tools } from "./backup/run";
import { stackSetting } from "./backup/stackSetting";

function arg(argv: string[], name: string): string | undefined {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
}

function main(argv: string[]): void {
    const [command] = argv;
    const stack = arg(argv, "stack");
    if (!stack || (command !== "backup" && command !== "restore"))
        throw new Error(
            "usage: backup-cli backup|restore --stack <name> [--method logical|physical] [--snapshot <id>] [--to '<UTC time>' | --to-gtid <gtid>] [--keep-within 7d]",
        );
    const configFile = process.env.BITRIX_CONFIG_FILE ? ["--config-file", process.env.BITRIX_CONFIG_FILE] : [];
    const tools: Tools = {
        pulumi: (args: string[]) =>
            execFileSync("pulumi", [...args, "--stack", stack, ...(args[0] === "config" ? configFile : [])], {
                encoding: "utf8",
                stdio: ["ignore", "pipe", "pipe"],
                maxBuffer: 1 << 28,
            }),
        configFile: process.env.BITRIX_CONFIG_FILE,
        env: process.env,
        log: (line: string) => process.stderr.write(`${line}\n`),
    };
    const setting = (key: "backupKeepWithin" | "backupRepository" | "backupMethod") => stackSetting(stack, key);
    const repository = setting("backupRepository");
    if (repository) tools.env = { ...tools.env, RESTIC_REPOSITORY: repository };
    const started = Date.now();
    // The run's figures go to the stack's monitoring service, a failed run's too.
    const publish = (success: boolean, method: string, bytes?: number) =>
        publishRunMetrics(
            stack,
            tools,
            { kind: command, stack, method, success, at: new Date(), seconds: (Date.now() - started) / 1000, bytes },
            (l) => tools.log(l),
        );
    if (command === "backup") {
        const keep = arg(argv, "keep-within") ?? setting("backupKeepWithin");
        const why = KEYS.backupKeepWithin.allowed(keep);
        if (why) throw new Error(`backup: keep-within ${JSON.stringify(keep)}: ${why}`);
        const method = checkMethod(arg(argv, "method") ?? setting("backupMethod"));
        let r: ReturnType<typeof backup>;
        try {
            r = backup(stack, keep, tools, method);
        } catch (e) {
            publish(false, method);
            throw e;
        }
        publish(true, method, r.manifest.totalBytes);
        console.log(
            JSON.stringify({
                snapshot: r.snapshot,
                seconds: r.seconds,
                gtid: r.manifest.gtid,
                method: r.manifest.method,
                files: r.manifest.files.length,
                bytes: r.manifest.totalBytes,
            }),
        );
    } else {
        let r: ReturnType<typeof restore>;
        try {
            const toTime = arg(argv, "to");
            const toGtid = arg(argv, "to-gtid");
            if (toTime && toGtid) throw new Error("restore: give --to or --to-gtid, not both");
            // The engine is checked by the target's own rules; the streamer is MariaDB's (components/config validate).
            const to = toTime ? parseTarget("mariadb", "--to", toTime) : toGtid ? parseTarget("mariadb", "--to-gtid", toGtid) : undefined;
            r = restore(stack, arg(argv, "snapshot") ?? "latest", tools, stack, to);
        } catch (e) {
            publish(false, "unknown");
            throw e;
        }
        publish(true, r.manifest.method ?? "logical");
        console.log(
            JSON.stringify({
                seconds: r.seconds,
                gtid: r.manifest.gtid,
                method: r.manifest.method ?? "logical",
                files: r.manifest.files.length,
                bytes: r.manifest.totalBytes,
                time: r.manifest.time,
                ...(r.replayed ? { replayed: r.replayed.transactions, replayedTo: r.replayed.last } : {}),
            }),
        );
    }
}

try {
    main(process.argv.slice(2));
} catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
}
