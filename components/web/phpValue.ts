/** Renders plain data as a PHP literal, so generated PHP files never splice raw strings into code. */

export type PhpData = string | number | boolean | null | PhpData[] | { [key: string]: PhpData };

export function phpString(value: string): string {
    return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

export function phpValue(value: PhpData, indent = 0): string {
    const pad = "    ".repeat(indent + 1);
    const end = "    ".repeat(indent);
    if (value === null) return "null";
    if (typeof value === "string") return phpString(value);
    if (typeof value === "number") {
        if (!Number.isFinite(value)) throw new Error(`phpValue: ${value} is not a finite number`);
        return String(value);
    }
    if (typeof value === "boolean") return value ? "true" : "false";
    if (Array.isArray(value)) {
        if (value.length === 0) return "[]";
        return `[\n${value.map((v) => `${pad}${phpValue(v, indent + 1)},`).join("\n")}\n${end}]`;
    }
    const entries = Object.entries(value);
    if (entries.length === 0) return "[]";
    return `[\n${entries.map(([k, v]) => `${pad}${phpString(k)} => ${phpValue(v, indent + 1)},`).join("\n")}\n${end}]`;
}
