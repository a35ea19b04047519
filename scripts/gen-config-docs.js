#!/usr/bin/env node
// Writes the config key table (components/config/keys.ts) into Pulumi.yaml's `config:` block and the
// configuration reference, docs/configuration.md. Run after `npx tsc` (it reads the compiled keys): `npm run docs`.
// tests/project/projectFiles.test.ts fails when either file is out of step with the code.
const fs = require("fs");
const path = require("path");
const YAML = require("yaml");
const root = path.join(__dirname, "..");
const { KEYS } = require(path.join(root, "build", "components", "config", "keys.js"));

const config = {};
for (const [key, spec] of Object.entries(KEYS)) {
    if (spec.secret) continue;
    const entry = { type: spec.type, description: spec.description };
    if (spec.type === "array") entry.items = { type: spec.items };
    entry.default = spec.default;
    config[key] = entry;
}
const projectFile = path.join(root, "Pulumi.yaml");
const project = YAML.parseDocument(fs.readFileSync(projectFile, "utf8"));
project.set("config", config);
fs.writeFileSync(projectFile, project.toString({ lineWidth: 0 }));

// One impossible value per type makes each key's `allowed` say what it accepts.
const impossible = { integer: -1e9, string: "\u0000", array: [null], boolean: "x" };
const cell = (text) => String(text).replace(/\|/g, "\\|");
const rows = ["| key | type | default | allowed | description |", "|---|---|---|---|---|"];
for (const [key, spec] of Object.entries(KEYS)) {
    const def = spec.default === undefined ? spec.unset : "`" + JSON.stringify(spec.default) + "`";
    let allowed = spec.allowed ? (spec.allowed(impossible[spec.type]) ?? "") : "";
    if (spec.secret) allowed = "config secret" + (allowed ? `; ${allowed}` : "");
    rows.push(`| \`${key}\` | ${spec.type} | ${def} | ${cell(allowed)} | ${cell(spec.description)} |`);
}
const referenceFile = path.join(root, "docs", "configuration.md");
const reference = fs.readFileSync(referenceFile, "utf8");
const start = reference.indexOf("| key | type | default | allowed | description |");
const end = reference.indexOf("\n\n", start);
if (start < 0 || end < 0) throw new Error("docs/configuration.md has no configuration table to replace");
fs.writeFileSync(referenceFile, reference.slice(0, start) + rows.join("\n") + reference.slice(end));
console.log(`gen-config-docs: ${Object.keys(config).length} keys in Pulumi.yaml, ${rows.length - 2} rows in docs/configuration.md`);
