/** The placement seam is the lowest floor: it knows nothing of the layers above it (their facts come on ServiceSpec). */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";

const ROOT = path.join(__dirname, "..", "..", "..");
const COMPONENTS = path.join(ROOT, "components");
/** Directories under components/ that are not layers: the seam itself, config parsing, and shared helpers. */
const NOT_LAYERS = ["placement", "config", "shared"];

/** Every module a TypeScript file imports or re-exports from (static and dynamic imports, require). */
export function importedModules(source: string): string[] {
    const found = source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm);
    return [...found].map((m) => m[1]);
}

describe("layering", () => {
    const layers = fs
        .readdirSync(COMPONENTS, { withFileTypes: true })
        .filter((d) => d.isDirectory() && !NOT_LAYERS.includes(d.name))
        .map((d) => d.name);

    it("finds the layers and the imports it checks", () => {
        assert.deepEqual(layers.sort(), ["balancer", "database", "monitoring", "nfs", "push", "redis", "web"]);
        assert.deepEqual(
            importedModules(
                `import * as a from "../web/webNode";\nimport { b } from './x';\nexport { c } from "../nfs/nfsServer";\nconst d = require("../redis/redisSentinel");\nimport "../balancer/side";`,
            ),
            ["../web/webNode", "./x", "../nfs/nfsServer", "../redis/redisSentinel", "../balancer/side"],
        );
    });

    it("components/placement imports nothing from a layer module", () => {
        const dir = path.join(COMPONENTS, "placement");
        const offending: string[] = [];
        for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
            for (const spec of importedModules(fs.readFileSync(path.join(dir, file), "utf8"))) {
                if (!spec.startsWith(".")) continue;
                const target = path.relative(COMPONENTS, path.resolve(dir, spec)).split(path.sep)[0];
                if (layers.includes(target)) offending.push(`${file} imports ${spec}`);
            }
        }
        assert.deepEqual(offending, []);
    });

    it("the deployed program (components/, index.ts) imports nothing from tools/ (the operators' commands)", () => {
        const offending: string[] = [];
        const walk = (dir: string) => {
            for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
                const file = path.join(dir, e.name);
                if (e.isDirectory()) walk(file);
                else if (e.name.endsWith(".ts"))
                    for (const spec of importedModules(fs.readFileSync(file, "utf8")))
                        if (spec.startsWith(".") && path.relative(ROOT, path.resolve(dir, spec)).split(path.sep)[0] === "tools")
                            offending.push(`${path.relative(ROOT, file)} imports ${spec}`);
            }
        };
        walk(COMPONENTS);
        for (const spec of importedModules(fs.readFileSync(path.join(ROOT, "index.ts"), "utf8")))
            if (spec.startsWith("./tools")) offending.push(`index.ts imports ${spec}`);
        assert.deepEqual(offending, []);
    });
});
