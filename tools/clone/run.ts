/**
 * `npm run clone -- --from prod --to staging`: a new stack with the source's config (each secret decrypted from the
 * source and encrypted again for the clone, as `pulumi stack init --copy-config-from` does, but with any config file),
 * the overrides on top, checked not to collide with the source; then `pulumi up` of the clone, the source's latest
 * backup restored into it, and the masking SQL run on the clone's master only.
 */
import * as fs from "fs";
import * as YAML from "yaml";
import { KEYS } from "../../components/config/keys";
import { cloneSnapshot, loadCommand, SnapshotListing } from "../backup/plan";
import { q, restore, sh, Tools } from "../backup/run";
import { openStack } from "../backup/access";
import { dbRootScript } from "../backup/remote";
import { cloneConfig, collisions, ConfigMap } from "./plan";

export interface CloneOptions {
    from: string;
    to: string;
    fromConfig: string;
    toConfig: string;
    overrides: ConfigMap;
    /** SQL run on the clone's master after the restore; undefined skips masking. */
    maskSql?: string;
    /** pulumi for a stack and config file; `input` goes to stdin. */
    pulumi(stack: string, configFile: string, args: string[], input?: string): string;
    env: NodeJS.ProcessEnv;
    log: (line: string) => void;
}

/** A `Pulumi.<stack>.yaml` file's contents (the parts read here). */
interface StackFile {
    config?: ConfigMap;
}
const readStackFile = (file: string): StackFile =>
    fs.existsSync(file) ? ((YAML.parse(fs.readFileSync(file, "utf8")) as StackFile | null) ?? {}) : {};
const readConfig = (file: string): ConfigMap => readStackFile(file).config ?? {};

export function clone(o: CloneOptions): Record<string, number> {
    const t0 = Date.now();
    if (!fs.existsSync(o.fromConfig)) throw new Error(`clone: no config file ${o.fromConfig} for stack ${o.from}`);
    const source = readConfig(o.fromConfig);
    const { plain, secretKeys } = cloneConfig(source, o.overrides);
    const defaults = Object.fromEntries(Object.entries(KEYS).map(([k, spec]) => [k, (spec as { default?: unknown }).default]));
    const clash = collisions(source, plain, defaults, o.from, o.to);
    if (clash.length) throw new Error(`clone: ${o.to} would collide with ${o.from}:\n  - ${clash.join("\n  - ")}`);

    o.log(`clone: stack ${o.to} from ${o.from} (${Object.keys(plain).length} values, ${secretKeys.length} secrets re-encrypted)`);
    o.pulumi(o.to, o.toConfig, ["stack", "init", o.to, "--non-interactive"]);
    for (const key of secretKeys) {
        const value = o.pulumi(o.from, o.fromConfig, ["config", "get", key]);
        o.pulumi(o.to, o.toConfig, ["config", "set", "--secret", key], value.replace(/\n$/, ""));
    }
    // The file now holds the clone's salt and re-encrypted secrets; the plain values go beside them.
    const file = readStackFile(o.toConfig);
    file.config = { ...(file.config ?? {}), ...plain };
    fs.writeFileSync(o.toConfig, YAML.stringify(file));
    const t1 = Date.now();

    o.log(`clone: pulumi up ${o.to}`);
    o.pulumi(o.to, o.toConfig, ["up", "--yes", "--skip-preview"]);
    const t2 = Date.now();

    const tools: Tools = { pulumi: (args) => o.pulumi(o.to, o.toConfig, args), env: o.env, log: o.log };
    const listing = JSON.parse(sh(`restic snapshots --json --tag ${q(`stack=${o.from}`)}`, o.env)) as SnapshotListing[];
    const restored = restore(o.to, cloneSnapshot(listing, o.from), tools, o.from);
    o.log(`clone: restored ${o.from}'s backup of ${restored.manifest.time} (GTID ${restored.manifest.gtid})`);
    const t3 = Date.now();

    if (o.maskSql) {
        const access = openStack(o.to, tools);
        try {
            const { master, database: db, engine } = access.facts;
            const client = loadCommand(engine);
            const has = access
                .run(
                    master,
                    dbRootScript(master, [
                        ...client,
                        "-N",
                        "-B",
                        "-e",
                        `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '${db}' AND table_name = 'b_user'`,
                    ]),
                )
                .trim();
            if (has === "1") {
                o.log(`clone: masking personal data on ${master.name}`);
                const fd = fs.openSync(o.maskSql, "r");
                try {
                    access.run(master, dbRootScript(master, [...client, db]), fd);
                } finally {
                    fs.closeSync(fd);
                }
            } else {
                o.log(`clone: no b_user table in ${db}: nothing to mask`);
            }
        } finally {
            access.close();
        }
    }
    const t4 = Date.now();
    return {
        configS: (t1 - t0) / 1000,
        upS: (t2 - t1) / 1000,
        restoreS: (t3 - t2) / 1000,
        maskS: (t4 - t3) / 1000,
        totalS: (t4 - t0) / 1000,
    };
}
