/**
 * A staging clone's config (pure, unit-tested): the source's config with the overrides on top, and the checks that
 * keep the clone from colliding with its source (on one Docker engine, or on the same machines).
 */
export type ConfigMap = Record<string, unknown>;

export const NAMESPACE = "bitrix-cluster";

/** Keys that must differ between a stack and its clone on the same Docker engine (names, network, published ports). */
const MUST_DIFFER = ["namePrefix", "dockerSubnet", "httpPort", "httpsPort", "statusPort"] as const;
/** Published by the monitoring service: they must differ too when both stacks run it. */
const MONITORING_PORTS = ["prometheusPort", "alertmanagerPort"] as const;

/** Whether a config value is an encrypted secret (`{ secure: "v1:..." }`), which must be re-encrypted, not copied. */
export function isSecure(v: unknown): boolean {
    return typeof v === "object" && v !== null && "secure" in v;
}

/**
 * The clone's plain config: every non-secret value of the source, then the overrides (short key names). Secret
 * keys are listed separately: each is decrypted from the source and set again for the clone (its own salt).
 */
export function cloneConfig(source: ConfigMap, overrides: ConfigMap): { plain: ConfigMap; secretKeys: string[] } {
    const plain: ConfigMap = {};
    const secretKeys: string[] = [];
    for (const [full, v] of Object.entries(source)) {
        if (isSecure(v)) secretKeys.push(full);
        else plain[full] = v;
    }
    for (const [key, v] of Object.entries(overrides)) {
        const full = key.includes(":") ? key : `${NAMESPACE}:${key}`;
        if (isSecure(v))
            throw new Error(
                `clone overrides: ${key} is an encrypted value; overrides are plain (set secrets on the clone with pulumi config set --secret)`,
            );
        plain[full] = typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : v;
        const at = secretKeys.indexOf(full);
        if (at >= 0) secretKeys.splice(at, 1);
    }
    return { plain, secretKeys };
}

/** The addresses of a hosts stack's machines in a config map (`hosts: [{ address }]`). */
function hostAddresses(c: ConfigMap): string[] {
    const v = c[`${NAMESPACE}:hosts`];
    const list: unknown = typeof v === "string" ? JSON.parse(v) : v;
    return Array.isArray(list)
        ? list.map((h) => (typeof h === "object" && h !== null ? String((h as Record<string, unknown>).address) : "")).filter(Boolean)
        : [];
}

/**
 * What a hosts clone would share with its source: a machine (each service of a hosts stack owns its ports, units and
 * files on the machine, so a clone there would take the source's over: `pulumi up` of the clone would reconfigure
 * production) or the floating address.
 */
function hostsCollisions(source: ConfigMap, clone: ConfigMap): string[] {
    const theirs = new Set(hostAddresses(source));
    const shared = hostAddresses(clone).filter((a) => theirs.has(a));
    const out = shared.length
        ? [
              `hosts: ${shared.join(", ")} ${shared.length > 1 ? "are machines" : "is a machine"} of both stacks; a clone needs machines of its own (set hosts in the overrides file)`,
          ]
        : [];
    const vip = (c: ConfigMap) => c[`${NAMESPACE}:floatingAddress`];
    if (vip(source) !== undefined && vip(source) !== "" && vip(source) === vip(clone))
        out.push(`floatingAddress is ${String(vip(clone))} in both stacks; give the clone its own in the overrides file`);
    return out;
}

/**
 * What would collide with the source: on one Docker engine its names, network and published ports; on hosts its
 * machines and floating address. Empty when the clone is safe to bring up.
 */
export function collisions(
    source: ConfigMap,
    clone: ConfigMap,
    defaults: Record<string, unknown>,
    sourceStack: string,
    cloneStack: string,
): string[] {
    const placement = String(clone[`${NAMESPACE}:placement`] ?? defaults.placement);
    if (placement === "hosts") return hostsCollisions(source, clone);
    if (placement !== "docker") return [];
    const value = (c: ConfigMap, key: string, stack: string) => {
        const v = c[`${NAMESPACE}:${key}`];
        if (v !== undefined && v !== "") return typeof v === "string" ? v : JSON.stringify(v);
        // An empty namePrefix means bx-<stack>: differs by itself when the stacks' names do.
        return key === "namePrefix" ? `bx-${stack}` : String(defaults[key]);
    };
    const monitored = (c: ConfigMap, stack: string) => value(c, "monitoring", stack) !== "false";
    const keys = [...MUST_DIFFER, ...(monitored(source, sourceStack) && monitored(clone, cloneStack) ? MONITORING_PORTS : [])];
    return keys
        .filter((k) => value(source, k, sourceStack) === value(clone, k, cloneStack))
        .map((k) => `${k} is ${value(clone, k, cloneStack)} in both stacks; give the clone its own in the overrides file`);
}
