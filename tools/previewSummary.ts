/**
 * Turns `pulumi preview --json` into a pull-request comment: per layer (balancer, web, nfs, db, redis) the counts of
 * creates, updates, replaces and deletes, the properties that changed, and a loud warning for every replace or delete
 * of a resource that holds data. It prints resource names and property names only — never a value, and never an
 * error's text (which can carry one) — so a secret cannot reach the comment, and it keeps under GitHub's comment
 * limit by dropping details first.
 */
import { KEY_NAMES, KeyName } from "../components/config/keys";

/** What `pulumi preview --json` prints (the parts this reads). */
export interface PreviewJson {
    steps?: PreviewStep[];
    diagnostics?: Array<{ severity?: string; message?: string; urn?: string }>;
    changeSummary?: Record<string, number>;
}

export interface PreviewStep {
    op: string;
    urn: string;
    diffReasons?: string[];
    replaceReasons?: string[];
    oldState?: { type?: string; custom?: boolean };
    newState?: { type?: string; custom?: boolean };
}

export const LAYERS = ["balancer", "web", "nfs", "db", "redis", "placement", "other"] as const;
export type Layer = (typeof LAYERS)[number];

/** GitHub's limit for a comment body. */
export const COMMENT_LIMIT = 65_536;

/** The component types of this program and the layer each stands for. */
const LAYER_OF_TYPE: Record<string, Layer> = {
    "bitrix:cluster:Balancer": "balancer",
    "bitrix:cluster:WebNode": "web",
    "bitrix:cluster:NfsServer": "nfs",
    "bitrix:cluster:Database": "db",
    "bitrix:cluster:RedisSentinel": "redis",
    "bitrix:placement:Docker": "placement",
    "bitrix:placement:Hosts": "placement",
};

/** The step kinds counted, in the order shown. Pulumi splits a replace into create-replacement + delete-replaced. */
const COUNTED = ["create", "update", "replace", "delete"] as const;
type Counted = (typeof COUNTED)[number];

function counted(op: string): Counted | undefined {
    if (op === "create" || op === "update" || op === "delete") return op;
    if (op === "replace" || op === "create-replacement") return "replace";
    return undefined; // same, read, refresh, delete-replaced (the second half of a replace)
}

/** Parses a URN: its type chain (parents first) and its name. */
export function parseUrn(urn: string): { types: string[]; name: string } {
    const parts = urn.split("::");
    return { types: (parts[2] ?? "").split("$"), name: parts.slice(3).join("::") };
}

/** The layer a resource belongs to: the nearest layer component among its parents. */
export function layerOf(urn: string): Layer {
    const { types } = parseUrn(urn);
    for (let i = types.length - 1; i >= 0; i--) {
        const layer = LAYER_OF_TYPE[types[i]];
        if (layer) return layer;
    }
    return "other";
}

/**
 * Whether losing the resource loses data: the volumes of the databases, the Redis nodes and the shared trees, and
 * the containers of the database, the Redis nodes and the NFS server, whose replacement restarts them. Web nodes'
 * docroots and sentinels' state are not: scaling down removes them, and a sentinel learns its state again.
 */
export function isStateful(urn: string, type: string): boolean {
    const { name } = parseUrn(urn);
    const layer = layerOf(urn);
    if (/-sentinel-\d+(-|$)/.test(name)) return false;
    if (type === "docker:index/volume:Volume") return !name.endsWith("-docroot");
    return type === "docker:index/container:Container" && (layer === "db" || layer === "redis" || layer === "nfs");
}

interface Row {
    layer: Layer;
    op: Counted;
    name: string;
    type: string;
    properties: string[];
    stateful: boolean;
}

function rows(preview: PreviewJson): Row[] {
    const out: Row[] = [];
    for (const step of preview.steps ?? []) {
        const op = counted(step.op);
        if (!op) continue;
        const type = step.newState?.type ?? step.oldState?.type ?? parseUrn(step.urn).types.slice(-1)[0];
        // Components (the stack, the layers) only group resources: their own steps change nothing.
        if ((step.newState ?? step.oldState)?.custom === false || type === "pulumi:pulumi:Stack") continue;
        const properties = [...new Set([...(step.replaceReasons ?? []), ...(step.diffReasons ?? [])])].sort();
        out.push({ layer: layerOf(step.urn), op, name: parseUrn(step.urn).name, type, properties, stateful: isStateful(step.urn, type) });
    }
    return out;
}

/** A name or property as inline code, with backquotes and line breaks taken out. */
const code = (s: string) => `\`${s.replace(/[`\r\n]/g, "")}\``;

/**
 * One error of the preview: where (the resource, or the program) and a generic cause. The message itself is never
 * copied: it can carry values (a webhook token in a validation message, a password in a registry URL), so only
 * config key names of this project's key table and fixed phrases reach the comment.
 */
/** A terminal colour sequence (ESC [ … m). */
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(0x1b)}\\[[0-9;]*m`, "g");

function errorLine(d: { message?: string; urn?: string }): string {
    // Without the terminal colours pulumi may put around a line.
    const message = (d.message ?? "").replace(ANSI_COLOUR, "");
    const { types } = parseUrn(d.urn ?? "");
    const where = d.urn && !types.includes("pulumi:pulumi:Stack") ? `${code(parseUrn(d.urn).name)} (${layerOf(d.urn)})` : "the program";
    let cause = "the preview failed";
    if (/invalid stack configuration/.test(message)) {
        const keys = [
            ...new Set(
                [...message.matchAll(/^\s*- [A-Za-z0-9_-]+:([A-Za-z][A-Za-z0-9]*):/gm)]
                    .map((m) => m[1])
                    .filter((k) => KEY_NAMES.includes(k as KeyName)),
            ),
        ];
        cause = `invalid stack configuration${keys.length ? `: ${keys.map(code).join(", ")}` : ""}`;
    } else if (/\bprotected\b/.test(message)) {
        cause = "a protected resource would be replaced or deleted (see allowDataLoss)";
    }
    return `> **Error** at ${where}: ${cause}. The message is in the CI log only: it can carry values.`;
}

export interface SummaryOptions {
    /** Stack name for the heading. */
    stack: string;
    /** Upper bound on the text's length. @default COMMENT_LIMIT */
    limit?: number;
}

/** The Markdown comment for one preview. */
export function summarizePreview(preview: PreviewJson, opts: SummaryOptions): string {
    const all = rows(preview);
    const limit = opts.limit ?? COMMENT_LIMIT;
    const head: string[] = [`### \`pulumi preview\` of stack ${code(opts.stack)}`, ""];
    if (all.length === 0) {
        head.push("No changes: `pulumi up` would leave every resource as it is.");
    }
    const dangerous = all.filter((r) => r.stateful && (r.op === "replace" || r.op === "delete"));
    for (const r of dangerous) {
        head.push(
            `> **⚠️ WARNING: ${r.op === "replace" ? "replaces" : "deletes"} ${code(r.name)}, which holds data** (${r.layer}, ${code(r.type)}${r.properties.length ? `; because of ${r.properties.map(code).join(", ")}` : ""}).`,
        );
    }
    if (dangerous.length) head.push("");
    const errors = (preview.diagnostics ?? []).filter((d) => d.severity === "error");
    for (const d of errors) head.push(errorLine(d));
    if (errors.length) head.push("");
    if (all.length) {
        head.push("| layer | create | update | replace | delete |", "|---|---:|---:|---:|---:|");
        for (const layer of LAYERS) {
            const mine = all.filter((r) => r.layer === layer);
            if (!mine.length) continue;
            head.push(`| ${layer} | ${COUNTED.map((op) => mine.filter((r) => r.op === op).length || "").join(" | ")} |`);
        }
        head.push("");
    }
    const details: string[] = [];
    for (const layer of LAYERS) {
        const mine = all.filter((r) => r.layer === layer);
        if (!mine.length) continue;
        details.push(`#### ${layer}`, "");
        for (const r of mine) {
            details.push(
                `- ${r.op} ${code(r.name)} (${code(r.type)})${r.properties.length ? `: ${r.properties.map(code).join(", ")}` : ""}${r.stateful && r.op !== "create" ? " — holds data" : ""}`,
            );
        }
        details.push("");
    }
    const footer = "Property names only: values (secrets included) are never shown.";
    const full = [...head, ...details, footer].join("\n");
    if (full.length <= limit) return full;
    // Too long for one comment: keep the summary and the warnings, drop details from the end, and say so.
    const trimmedNote = `_Details trimmed to fit a comment (${details.length} detail lines; run \`pulumi preview --diff\` for all)._`;
    const kept: string[] = [];
    const base = [...head, trimmedNote, footer].join("\n").length + 1;
    let size = base;
    for (const line of details) {
        if (size + line.length + 1 > limit) break;
        kept.push(line);
        size += line.length + 1;
    }
    const text = [...head, ...kept, trimmedNote, footer].join("\n");
    return text.length <= limit ? text : `${text.slice(0, limit - trimmedNote.length - 2)}\n${trimmedNote}`;
}
