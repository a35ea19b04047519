/** Reads the stack's config through Pulumi and validates it; the only place that touches `pulumi.Config`. */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { KEYS, KEY_NAMES, KeyName, KeySpec } from "./keys";
import { ConfigError, RawConfig, validateClusterConfig } from "./validate";
import { acmePreflight } from "./acme";
import { ClusterConfig } from "./types";

/**
 * Parses one plain config string by the key's type. A value that does not parse is returned as the string,
 * so the validator reports it with the key's name and what it allows.
 */
export function parseValue(spec: KeySpec, text: string): unknown {
    switch (spec.type) {
        case "string":
            return text;
        case "integer":
            return /^-?\d+$/.test(text.trim()) ? Number(text) : text;
        case "boolean":
            return text === "true" ? true : text === "false" ? false : text;
        case "array":
            try {
                return JSON.parse(text);
            } catch {
                return text;
            }
    }
}

/** Every key of this project's namespace set in the stack, including unknown ones (typos are reported). */
export function readRawConfig(namespace: string): RawConfig {
    const cfg = new pulumi.Config(namespace);
    const raw: RawConfig = {};
    for (const full of Object.keys(pulumi.runtime.allConfig())) {
        const [ns, key] = full.split(":");
        if (ns === namespace && !(key in KEYS)) raw[key] = cfg.get(key);
    }
    for (const key of KEY_NAMES) {
        const spec: KeySpec = KEYS[key];
        if (spec.secret) {
            // The plain text goes to the validator only, which wraps it as a secret; it is never logged.
            raw[key] = pulumi.runtime.getConfig(`${namespace}:${key}`);
        } else {
            const text = cfg.get(key);
            raw[key] = text === undefined ? undefined : parseValue(spec, text);
        }
    }
    return raw;
}

/** The SDK's own test of a config key set with `--secret` (internal in its typings; present in @pulumi/pulumi 3.x). */
function isConfigSecret(fullKey: string): boolean {
    const sdk = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
    if (typeof sdk.isConfigSecret !== "function")
        throw new Error("@pulumi/pulumi no longer has runtime.isConfigSecret: cannot tell encrypted config from plain text");
    return sdk.isConfigSecret(fullKey);
}

/** The secret keys of the table that the stack sets in plain text, i.e. without `pulumi config set --secret`. */
export function plainTextSecretKeys(namespace: string): KeyName[] {
    return KEY_NAMES.filter(
        (key) =>
            (KEYS[key] as KeySpec).secret &&
            pulumi.runtime.getConfig(`${namespace}:${key}`) !== undefined &&
            !isConfigSecret(`${namespace}:${key}`),
    );
}

/**
 * The plain config of the project's other stacks, from the `Pulumi.<stack>.yaml` files in `dir` (secrets left
 * out), for the checks between stacks. A file that does not parse is skipped: it is that stack's problem.
 */
export function readOtherStacks(dir: string, namespace: string, current: string): Array<{ stack: string; raw: RawConfig }> {
    const others: Array<{ stack: string; raw: RawConfig }> = [];
    for (const file of fs.readdirSync(dir).sort()) {
        const m = /^Pulumi\.(.+)\.ya?ml$/.exec(file);
        if (!m || m[1] === current) continue;
        let doc: unknown;
        try {
            doc = YAML.parse(fs.readFileSync(path.join(dir, file), "utf8"));
        } catch {
            continue;
        }
        const raw: RawConfig = {};
        for (const [full, value] of Object.entries((doc as { config?: Record<string, unknown> } | null)?.config ?? {})) {
            const [ns, key] = full.split(":");
            if (ns !== namespace || !(key in KEYS) || value === null || typeof value === "object") continue;
            // A scalar: YAML gives a string, a number or a boolean here.
            raw[key] = parseValue(KEYS[key as keyof typeof KEYS], typeof value === "string" ? value : `${value as number | boolean}`);
        }
        others.push({ stack: m[1], raw });
    }
    return others;
}

/** Reads and validates the current stack's config; throws ConfigError before any resource exists. */
export function loadClusterConfig(): ClusterConfig {
    const namespace = pulumi.getProject();
    const stack = pulumi.getStack();
    // Pulumi runs the program in the project directory, beside the stacks' config files.
    return validateClusterConfig(readRawConfig(namespace), {
        namespace,
        stack,
        otherStacks: readOtherStacks(process.cwd(), namespace, stack),
        plainTextSecrets: plainTextSecretKeys(namespace),
    });
}

/**
 * `loadClusterConfig`, then the checks that need the network (the ACME directory, on `pulumi up` only); throws
 * ConfigError before any resource exists.
 */
export async function loadCheckedClusterConfig(): Promise<ClusterConfig> {
    const config = loadClusterConfig();
    const why = await acmePreflight(config.balancer.acme, { dryRun: pulumi.runtime.isDryRun(), namespace: pulumi.getProject() });
    if (why) throw new ConfigError([why]);
    return config;
}
