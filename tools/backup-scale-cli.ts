/**
 * `npm run benchmark:backup [-- --gb 2 --files 5000 --out benchmark/backup-scale.json --buffer-pool-mb 512]`: backups
 * measured at scale on this machine (tools/bench/backupScaleRun.ts). Prints the Markdown table and writes the figures
 * as JSON. Runs as root; uses ports 32350–32352 and a temporary directory under /tmp/backupscale-*, removed at the end.
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "./bench/backupScale";
import { runBackupScale } from "./bench/backupScaleRun";

async function main(): Promise<void> {
    const args = parseArgs(process.argv.slice(2));
    const result = await runBackupScale(args);
    fs.mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
    fs.writeFileSync(args.out, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(result.table);
}

main().catch((e) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
});
