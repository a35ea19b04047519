/**
 * `node build/tools/clone-cli.js --from <stack> --to <stack> [--overrides staging.yaml] [--mask <sql>|none]`, through
 * scripts/backup.sh clone (which provides pulumi, restic and the repository). Config files: Pulumi.<stack>.yaml, or
 * BITRIX_CONFIG_FILE (source) and BITRIX_CLONE_CONFIG_FILE (clone). Prints one JSON line with the timings.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { clone } from "./clone/run";

const arg = (argv: string[], name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
};
const WITH_CONFIG = ["config", "up", "preview", "destroy", "refresh"];

function main(argv: string[]): void {
    const from = arg(argv, "from");
    const to = arg(argv, "to");
    if (!from || !to || from === to)
        throw new Error("usage: clone-cli --from <stack> --to <new stack> [--overrides staging.yaml] [--mask <file.sql>|none]");
    const overridesFile = arg(argv, "overrides");
    const overrides = overridesFile ? ((YAML.parse(fs.readFileSync(overridesFile, "utf8")) as Record<string, unknown> | null) ?? {}) : {};
    const mask = arg(argv, "mask") ?? path.resolve("tools", "clone", "mask-bitrix-users.sql");
    const timings = clone({
        from,
        to,
        overrides,
        fromConfig: process.env.BITRIX_CONFIG_FILE ?? `Pulumi.${from}.yaml`,
        toConfig: process.env.BITRIX_CLONE_CONFIG_FILE ?? `Pulumi.${to}.yaml`,
        maskSql: mask === "none" ? undefined : mask,
        pulumi: (stack, configFile, args, input) =>
            execFileSync(
                "pulumi",
                [
                    ...args,
                    ...(args[0] === "stack" && args[1] === "init" ? [] : ["--stack", stack]),
                    ...(WITH_CONFIG.includes(args[0]) ? ["--config-file", configFile] : []),
                ],
                { encoding: "utf8", input, stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"], maxBuffer: 1 << 28 },
            ),
        env: process.env,
        log: (line) => process.stderr.write(`${line}\n`),
    });
    console.log(JSON.stringify({ from, to, ...timings }));
}

try {
    main(process.argv.slice(2));
} catch (e) {
    const err = e as Error & { stderr?: Buffer | string };
    process.stderr.write(`${err.message}\n${err.stderr ? String(err.stderr).slice(-3000) : ""}\n`);
    process.exit(1);
}
