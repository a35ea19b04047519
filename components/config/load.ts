/** Reads the stack's config through Pulumi and validates it; the only place that touches `pulumi.Config`. */
import * as pulumi from "@pulumi/pulumi";
import { KEYS, KEY_NAMES, KeySpec } from "./keys";
import { RawConfig, validateClusterConfig } from "./validate";
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

/** Reads and validates the current stack's config; throws ConfigError before any resource exists. */
export function loadClusterConfig(): ClusterConfig {
    const namespace = pulumi.getProject();
    return validateClusterConfig(readRawConfig(namespace), { namespace, stack: pulumi.getStack() });
}
