/** Every relative link in README.md and docs/*.md resolves: the file exists, and so does the heading an `#anchor` names. */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";

const ROOT = path.join(__dirname, "..", "..", "..");

/** The text outside fenced code blocks and inline code spans, line by line (code never holds a link or a heading). */
function prose(markdown: string): string[] {
    let fence: string | undefined;
    const lines: string[] = [];
    for (const line of markdown.split("\n")) {
        const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
        if (fence !== undefined) {
            if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = undefined;
            lines.push("");
        } else if (marker) {
            fence = marker;
            lines.push("");
        } else {
            lines.push(line.replace(/(`+)[\s\S]*?\1/g, ""));
        }
    }
    return lines;
}

/** GitHub's anchor for a heading: lower case, inline markup dropped, every character but letters, digits, `_`, `-`
 * and spaces removed, spaces turned into `-`; a repeated anchor gets `-1`, `-2`, … */
export function headingAnchors(markdown: string): Set<string> {
    const anchors = new Set<string>();
    const seen = new Map<string, number>();
    let fence: string | undefined;
    for (const line of markdown.split("\n")) {
        const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
        if (fence !== undefined) {
            if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = undefined;
            continue;
        }
        if (marker) {
            fence = marker;
            continue;
        }
        const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
        if (heading === undefined) continue;
        const text = heading
            .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
            .replace(/<[^>]+>/g, "")
            .toLowerCase()
            .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, "")
            .replace(/ /g, "-");
        const n = seen.get(text) ?? 0;
        seen.set(text, n + 1);
        anchors.add(n === 0 ? text : `${text}-${n}`);
    }
    return anchors;
}

/** The relative links of a Markdown file (inline links and images outside code), as written. */
export function relativeLinks(markdown: string): string[] {
    const links: string[] = [];
    for (const line of prose(markdown)) {
        for (const m of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
            if (!/^[a-z][a-z0-9+.-]*:/i.test(m[1])) links.push(m[1]);
        }
    }
    return links;
}

/** The links of `file` (relative to the repository) that do not resolve, each with why. */
export function brokenLinks(file: string, read: (f: string) => string | undefined): string[] {
    const text = read(file);
    if (text === undefined) return [`${file}: missing`];
    const problems: string[] = [];
    for (const link of relativeLinks(text)) {
        const [target, anchor] = link.split("#", 2) as [string, string | undefined];
        const resolved = target === "" ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), decodeURIComponent(target)));
        const content = read(resolved);
        if (content === undefined) {
            problems.push(`${file}: ${link} → ${resolved} does not exist`);
            continue;
        }
        if (anchor !== undefined && resolved.endsWith(".md") && !headingAnchors(content).has(decodeURIComponent(anchor))) {
            problems.push(`${file}: ${link} → no heading with anchor #${anchor} in ${resolved}`);
        }
    }
    return problems;
}

/** A repository file's text ("" for a directory), or undefined when it does not exist. */
function readRepo(f: string): string | undefined {
    const full = path.join(ROOT, f);
    if (!fs.existsSync(full)) return undefined;
    return fs.statSync(full).isDirectory() ? "" : fs.readFileSync(full, "utf8");
}

describe("documentation links", () => {
    const files = [
        "README.md",
        ...fs
            .readdirSync(path.join(ROOT, "docs"))
            .filter((f) => f.endsWith(".md"))
            .map((f) => `docs/${f}`),
    ];

    it("makes anchors the way GitHub does, and finds links outside code only", () => {
        const doc =
            "# Bitrix's kernel and this cluster\n## What each layer does, and what happens when it fails\n### `pulumi preview` of stack `prod`\n" +
            "## Tests\n## Tests\n```\n# not a heading\n[not](a-link.md)\n```\nSee [x](other.md#a-b) and `[code](skipped.md)`, ![img](i.png), [web](https://example.com).";
        assert.deepEqual(
            [...headingAnchors(doc)],
            [
                "bitrixs-kernel-and-this-cluster",
                "what-each-layer-does-and-what-happens-when-it-fails",
                "pulumi-preview-of-stack-prod",
                "tests",
                "tests-1",
            ],
        );
        assert.deepEqual(relativeLinks(doc), ["other.md#a-b", "i.png"]);
    });

    it("reports a missing file and a missing anchor", () => {
        const fake: Record<string, string> = {
            "README.md": "[a](docs/a.md#there) [b](docs/a.md#gone) [c](docs/none.md) [d](#top)\n# Top",
            "docs/a.md": "## There",
        };
        assert.deepEqual(
            brokenLinks("README.md", (f) => fake[f]),
            [
                "README.md: docs/a.md#gone → no heading with anchor #gone in docs/a.md",
                "README.md: docs/none.md → docs/none.md does not exist",
            ],
        );
    });

    it("resolves every relative link in README.md and docs/*.md", () => {
        assert.ok(files.length >= 9, files.join(", "));
        assert.deepEqual(
            files.flatMap((f) => brokenLinks(f, readRepo)),
            [],
        );
    });

    it("reaches every page under docs/ from the README, following links", () => {
        const reached = new Set(["README.md"]);
        const queue = ["README.md"];
        for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
            for (const link of relativeLinks(readRepo(file) ?? "")) {
                const target = link.split("#")[0];
                if (!target.endsWith(".md")) continue;
                const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), target));
                if (!reached.has(resolved)) {
                    reached.add(resolved);
                    queue.push(resolved);
                }
            }
        }
        assert.deepEqual(
            files.filter((f) => !reached.has(f)),
            [],
        );
    });

    it("keeps the README the front door: under 250 lines", () => {
        const lines = readRepo("README.md")!.split("\n").length;
        assert.ok(lines < 250, `README.md has ${lines} lines`);
    });
});
