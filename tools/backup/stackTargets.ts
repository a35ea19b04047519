/**
 * Which container or machine of a stack each part of a backup touches (pure, unit-tested): the database servers, the
 * shared trees and the monitoring service, from the stack's outputs (Docker) or its validated config (hosts: the
 * inventory's services, the storage mode). The live roles (which server is writable after a failover) are read by
 * the caller and passed in.
 */
import { parseValue } from "../../components/config/load";
import { allowedProblem, KEYS, KEY_NAMES, KeySpec } from "../../components/config/keys";
import type { ClusterConfig } from "../../components/config/types";
import type { RawConfig } from "../../components/config/validate";
import { sharedSlug } from "../../components/nfs/ganeshaConfig";
import { DOCROOT } from "../../components/web/webNode";
import type { StackOutputs } from "../stackOutputs";
import type { StackFacts } from "./plan";
import { hostTarget, Target } from "./remote";

/** The config namespace (the project's name in Pulumi.yaml). */
export const NAMESPACE = "bitrix-cluster";

/**
 * `pulumi config --json --show-secrets` as the validator's raw input: each key of the table parsed by its type, secrets
 * as their plain text (they never leave this process but for the 0600 key file), unknown keys kept (reported).
 */
export function rawConfigFromCli(json: string): RawConfig {
    const all = JSON.parse(json) as Record<string, { value?: string; secret?: boolean }>;
    const raw: RawConfig = {};
    for (const [full, entry] of Object.entries(all)) {
        const [ns, key] = full.split(":");
        if (ns !== NAMESPACE || entry?.value === undefined) continue;
        const spec = (KEYS as Record<string, KeySpec>)[key];
        raw[key] = spec && !spec.secret ? parseValue(spec, entry.value) : entry.value;
    }
    for (const key of KEY_NAMES) if (!(key in raw)) raw[key] = undefined;
    return raw;
}

/**
 * The stack's perconaXtrabackupImage from `pulumi config --json` (without --show-secrets: secrets read "[secret]" and
 * are not looked at): the value set, else the key's default; refused, before anything runs, when the key's own check
 * refuses it (no tag, characters a shell or Docker would read otherwise).
 */
export function xtrabackupImageFrom(json: string): string {
    const entry = (JSON.parse(json) as Record<string, { value?: unknown } | undefined>)[`${NAMESPACE}:perconaXtrabackupImage`];
    const spec = KEYS.perconaXtrabackupImage;
    const value = entry?.value ?? spec.default;
    const problem = typeof value === "string" ? allowedProblem(spec, value) : "a string";
    if (problem) throw new Error(`backup: perconaXtrabackupImage must be ${problem}, got ${JSON.stringify(value)}`);
    return value as string;
}

/** A stack's parts as the tools reach them, before the live roles are known. */
export interface StackParts {
    /** Every database server, the configured master first. */
    servers: Target[];
    /** Their services, in the same order ("db-master", "db-replica-1", …). */
    services: string[];
    /** The failover manager (service "db-failover"), when the stack runs one. */
    manager?: { target: Target; service: string };
    files?: Target;
    sharedDirs: Record<string, string>;
    monitoring?: Target;
    /** The binlog-stream service (dbBinlogStream), where the stack may run one; absent when it cannot. */
    stream?: Target;
}

/** Docker: containers named in the outputs (`<prefix>-nfs`, `<prefix>-monitoring`). */
export function dockerParts(outputs: StackOutputs): StackParts {
    const name = (s: string) => s.split(":")[0];
    const servers = [outputs.dbMaster, ...(outputs.dbReplicas ?? [])]
        .filter(Boolean)
        .map((s): Target => ({ kind: "docker", name: name(s) }));
    const sharedDirs = outputs.sharedDirs ?? {};
    const prefix = `${outputs.namePrefix}-`;
    return {
        servers,
        services: servers.map((t) => (t.name.startsWith(prefix) ? t.name.slice(prefix.length) : t.name)),
        manager: { target: { kind: "docker", name: `${prefix}db-failover` }, service: "db-failover" },
        files: Object.keys(sharedDirs).length ? { kind: "docker", name: `${outputs.namePrefix}-nfs` } : undefined,
        sharedDirs,
        monitoring: { kind: "docker", name: `${outputs.namePrefix}-monitoring` },
        stream: { kind: "docker", name: `${prefix}binlog-stream` },
    };
}

/**
 * Hosts: the machines the inventory gives the services. The shared trees are the NFS host's export directories
 * (sharedStorage nfs) or, with external storage, the paths mounted on the first web host (the same storage on every
 * web host, docs/hosts.md).
 */
export function hostsParts(cfg: ClusterConfig, outputs: Pick<StackOutputs, "sharedDirs">): StackParts {
    if (!cfg.hosts) throw new Error("backup: a hosts stack without its host list");
    const { inventory } = cfg.hosts;
    const at = (service: string) => {
        const host = inventory.hosts.find((h) => h.name === inventory.services[service]);
        if (!host) throw new Error(`backup: no host carries ${service}`);
        return hostTarget(host);
    };
    const replicas = Object.keys(inventory.services)
        .filter((s) => /^db-replica-\d+$/.test(s))
        .sort((a, b) => Number(a.split("-")[2]) - Number(b.split("-")[2]));
    const external = cfg.storage.mode === "external";
    const sharedDirs = external
        ? Object.fromEntries(cfg.storage.sharedPaths.map((p) => [sharedSlug(p), `${DOCROOT}/${p}`]))
        : (outputs.sharedDirs ?? {});
    return {
        servers: [at("db-master"), ...replicas.map(at)],
        services: ["db-master", ...replicas],
        manager: inventory.services["db-failover"] ? { target: at("db-failover"), service: "db-failover" } : undefined,
        files: external ? at("web-1") : inventory.services.nfs ? at("nfs") : undefined,
        sharedDirs,
        monitoring: inventory.services.monitoring ? at("monitoring") : undefined,
        stream: inventory.services["binlog-stream"] ? at("binlog-stream") : undefined,
    };
}

/**
 * The facts of a backup from the parts and each server's `@@global.read_only` ("0", "1", or "down"): the writable
 * server is the master wherever the failover manager put it, the dump comes from a read-only one. Without a live
 * answer, the configured roles.
 */
export function factsFrom(
    stack: string,
    outputs: Pick<StackOutputs, "placement" | "namePrefix" | "dbEngine" | "dbName">,
    parts: StackParts,
    readOnly: string[],
    sshConfig?: string,
    xtrabackupImage?: string,
): StackFacts {
    const [configured, ...replicas] = parts.servers;
    if (!configured) throw new Error(`backup: stack ${stack} has no database server in its outputs`);
    return {
        stack,
        placement: outputs.placement,
        prefix: outputs.namePrefix,
        engine: outputs.dbEngine,
        database: outputs.dbName,
        master: parts.servers.find((_, i) => readOnly[i] === "0") ?? configured,
        replica: parts.servers.find((_, i) => readOnly[i] === "1") ?? replicas[0] ?? configured,
        files: parts.files,
        sharedDirs: parts.sharedDirs,
        sshConfig,
        ...(xtrabackupImage !== undefined ? { xtrabackupImage } : {}),
    };
}
