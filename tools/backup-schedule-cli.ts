/**
 * `node build/tools/backup-schedule-cli.js --stack <name> [--on-calendar "*-*-* 02:30"] [--method logical|physical]
 * [--dir /etc/systemd/system]`, through scripts/backup-schedule.sh: writes the stack's backup service and timer
 * (tools/backup/schedule.ts) after `systemd-analyze calendar` accepts the expression. Prints the two paths. Without
 * --on-calendar the stack's backupOnCalendar is used; without --method each run takes the stack's backupMethod.
 */
import { execFileSync } from "child_process";
import { KEYS } from "../components/config/keys";
import * as fs from "fs";
import * as path from "path";
import { checkMethod } from "./backup/physicalDocker";
import { stackSetting } from "./backup/stackSetting";
import { backupServiceUnit, backupTimerUnit, checkRootOnly, ScheduleInput, unitName } from "./backup/schedule";

function arg(argv: string[], name: string): string | undefined {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
}

function main(argv: string[]): void {
    const stack = arg(argv, "stack");
    if (!stack)
        throw new Error(
            'usage: backup-schedule-cli --stack <name> [--on-calendar "*-*-* 02:30"] [--method logical|physical] [--dir <dir>]',
        );
    // The stack's name and the checkout are checked before the stack's config is read.
    const name = unitName(stack);
    const projectDir = path.resolve(__dirname, "..", "..");
    checkRootOnly([projectDir, path.join(projectDir, "scripts"), path.join(projectDir, "scripts", "backup.sh")]);
    const input: ScheduleInput = {
        stack,
        projectDir,
        home: process.env.BITRIX_CLUSTER_HOME ?? path.join(process.env.HOME ?? "/root", ".bitrix-cluster"),
        onCalendar: arg(argv, "on-calendar") ?? stackSetting(stack, "backupOnCalendar"),
        method: arg(argv, "method") === undefined ? undefined : checkMethod(arg(argv, "method")),
    };
    const refused = KEYS.backupOnCalendar.allowed(input.onCalendar!);
    if (refused) throw new Error(`backup schedule: ${JSON.stringify(input.onCalendar)} is not ${refused}`);
    // The target's own parser decides what a calendar expression is.
    try {
        execFileSync("systemd-analyze", ["calendar", input.onCalendar!], { stdio: ["ignore", "ignore", "pipe"] });
    } catch (e) {
        throw new Error(
            `backup schedule: systemd-analyze calendar refused ${JSON.stringify(input.onCalendar)}: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`,
        );
    }
    const dir = arg(argv, "dir") ?? "/etc/systemd/system";
    const files: Array<[string, string]> = [
        [path.join(dir, `${name}.service`), backupServiceUnit(input)],
        [path.join(dir, `${name}.timer`), backupTimerUnit(input)],
    ];
    for (const [file, text] of files) fs.writeFileSync(file, text, { mode: 0o644 });
    console.log(files.map(([f]) => f).join("\n"));
}

try {
    main(process.argv.slice(2));
} catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
}
