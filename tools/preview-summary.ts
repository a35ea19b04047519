/**
 * `node build/tools/preview-summary.js --stack <name> [preview.json]`: prints the Markdown summary of a
 * `pulumi preview --json` output (from the file, or stdin). Used by scripts/pr-preview.sh and the GitHub workflow.
 */
import * as fs from "fs";
import { PreviewJson, summarizePreview } from "./previewSummary";

function main(argv: string[]): void {
    const stackAt = argv.indexOf("--stack");
    const stack = stackAt >= 0 ? argv[stackAt + 1] : undefined;
    const file = argv.filter((a, i) => a !== "--stack" && i !== stackAt + 1)[0];
    if (!stack) throw new Error("usage: preview-summary --stack <name> [preview.json]");
    const text = fs.readFileSync(file ?? 0, "utf8");
    let preview: PreviewJson;
    try {
        // summarizePreview reads every field as optional.
        preview = JSON.parse(text) as PreviewJson;
    } catch {
        // Not its text: a failed pulumi prints errors there, and an error can carry a value.
        throw new Error(
            `preview-summary: ${file ?? "stdin"} is not the JSON of \`pulumi preview --json\` (${text.length} characters; see pulumi's own output above)`,
        );
    }
    process.stdout.write(`${summarizePreview(preview, { stack })}\n`);
}

try {
    main(process.argv.slice(2));
} catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
}
