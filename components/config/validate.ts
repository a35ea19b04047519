/**
 * Turns raw stack config values into a `ClusterConfig`, or throws one `ConfigError` that lists every bad key.
 * Runs before any resource exists, so a bad value never leaves a half-built stack.
 */
import * as pulumi from "@pulumi/pulumi";
import { sharedSlug } from "../nfs/ganeshaConfig";
import { ipv4Range } from "./checks";
import { keyMatchesCertificate } from "./tls";
import { acmeDirectoryUrl, isAcmeName } from "./acme";
import { dockerAddressing, FLOATING_SLOT, MAX_DOCKER_BALANCERS, RESERVED_SLOTS } from "../placement/dockerAddressing";
import { hostKeyHowTo, parseHostKey } from "../placement/hostKey";
import { Inventory, parseInventory } from "../placement/hostsInventory";
import { PushArchive, readPushArchive } from "../push/pushArchive";
import { allowedProblem, DEV_ADMIN_ALLOWLIST, KEYS, KEY_NAMES, KeyName, KeySpec, KeyValues, parseBastion } from "./keys";
import { ClusterConfig, VrrpSettings } from "./types";

/** Raw values by key: plain JSON-ish values, secrets as Outputs. */
export type RawConfig = Partial<Record<string, unknown>>;

export class ConfigError extends Error {
    constructor(public readonly problems: string[]) {
        super(
            `invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

export interface ValidateContext {
    /** Config namespace used in messages (the project name). */
    namespace: string;
    /** Stack name, for the default name prefix. */
    stack: string;
    /** The project's other stacks' plain config (Pulumi.<stack>.yaml beside this one), for VRRP, name and subnet collisions. */
    otherStacks?: Array<{ stack: string; raw: RawConfig }>;
    /** Secret keys of the table the stack sets in plain text (without `--secret`): refused. */
    plainTextSecrets?: string[];
}

function typeOk(spec: KeySpec, v: unknown): boolean {
    switch (spec.type) {
        case "integer":
            return typeof v === "number" && Number.isFinite(v);
        case "boolean":
            return typeof v === "boolean";
        case "array":
            return Array.isArray(v);
        case "string":
            return typeof v === "string";
    }
}

const TYPE_WORDS = { integer: "an integer", boolean: "true or false", array: "a list (JSON array)", string: "a string" };

/** A JSON list, or undefined when the text is not one. */
function parseJsonList(text: string): unknown[] | undefined {
    try {
        const v: unknown = JSON.parse(text);
        return Array.isArray(v) ? v : undefined;
    } catch {
        return undefined;
    }
}

/** The command that stores a secret key encrypted (the value on stdin or asked for: never on the command line). */
export function secretCommand(key: KeyName, ctx: ValidateContext): string {
    const input = (KEYS[key] as KeySpec).secretInput;
    return `pulumi config set --secret --stack ${ctx.stack} ${ctx.namespace}:${key}${input ? ` ${input}` : " (it asks for the value)"}`;
}

/**
 * A refused value as shown in a message, with whatever could be a credential masked: the login of `user:pass@host`,
 * everything after a URL's host (a webhook's path is its token), and runs of 20 or more letters mixed with digits
 * (keys, tokens; not host or image names).
 */
export function redact(text: string): string {
    return text
        .replace(/[^\s"'/@]*:[^\s"'@]*@/g, "***@")
        .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s"'/?#]*)[/?#][^\s"']*/gi, "$1/***")
        .replace(/[A-Za-z0-9+=_-]{20,}/g, (run) => (/[0-9]/.test(run) && /[A-Za-z]/.test(run) ? "***" : run));
}

const show = (v: unknown) => redact(typeof v === "string" ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v)));

/** Validates every key and the rules between keys; returns the defaulted config. */
export function validateClusterConfig(raw: RawConfig, ctx: ValidateContext): ClusterConfig {
    const problems: string[] = [];
    const name = (k: string) => `${ctx.namespace}:${k}`;
    const values: Record<string, unknown> = {};
    /** The plain text of the secrets given as text, for the checks between them; never put into a message. */
    const plain: Record<string, string> = {};

    for (const key of Object.keys(raw)) {
        if (!(key in KEYS) && raw[key] !== undefined) {
            problems.push(`${name(key)}: unknown key; known keys are ${KEY_NAMES.join(", ")}`);
        }
    }
    for (const key of ctx.plainTextSecrets ?? []) {
        if (!(key in KEYS)) continue;
        problems.push(
            `${name(key)}: set without --secret, so it sits unencrypted in Pulumi.${ctx.stack}.yaml; encrypt it: ${secretCommand(key as KeyName, ctx)}`,
        );
    }
    for (const key of KEY_NAMES) {
        const spec: KeySpec = KEYS[key];
        const v = raw[key];
        if (v === undefined || v === null) {
            values[key] = spec.default;
            continue;
        }
        if (spec.secret) {
            // Checked in plain text, reported without the value, kept only as a secret. A list comes as its JSON text.
            if (typeof v === "string" || (spec.type === "array" && Array.isArray(v))) {
                const parsed = typeof v === "string" && spec.type === "array" ? parseJsonList(v) : v;
                const why = parsed === undefined ? `${TYPE_WORDS.array}: ${allowedProblem(spec, [null])}` : allowedProblem(spec, parsed);
                if (why) problems.push(`${name(key)}: the secret value is not allowed; allowed: ${why}`);
                else if (typeof parsed === "string") plain[key] = parsed;
                values[key] = pulumi.secret(parsed);
            } else if (pulumi.Output.isInstance(v)) {
                values[key] = v;
            } else {
                problems.push(`${name(key)}: expected a string secret`);
            }
            continue;
        }
        if (!typeOk(spec, v)) {
            problems.push(`${name(key)}: got ${show(v)}; expected ${TYPE_WORDS[spec.type]}`);
            continue;
        }
        const why = allowedProblem(spec, v);
        if (why) problems.push(`${name(key)}: got ${show(v)}; allowed: ${why}`);
        values[key] = v;
    }
    // Every key now holds its default or a value of its type that its check allowed.
    const valid = values as KeyValues;
    if (problems.length === 0) crossChecks(valid, name, problems);
    if (plain.tlsCertificate !== undefined && plain.tlsKey !== undefined && !keyMatchesCertificate(plain.tlsCertificate, plain.tlsKey)) {
        problems.push(
            `${name("tlsKey")}: the secret value is not allowed; allowed: the private key of the first certificate in ${name("tlsCertificate")} (this key does not match ${name("tlsCertificate")})`,
        );
    }
    const hosts = problems.length === 0 ? placementChecks(valid, raw, name, problems) : undefined;
    if (problems.length === 0) dockerChecks(valid, ctx, name, problems);
    const vrrp = problems.length === 0 ? vrrpChecks(valid, ctx, hosts?.inventory, name, problems) : undefined;
    if (problems.length > 0) throw new ConfigError(problems);
    const config = build(valid, ctx);
    return { ...config, balancer: { ...config.balancer, vrrp }, hosts };
}

/** Keys that only mean something for Docker containers, refused on a hosts stack instead of silently ignored. */
export const DOCKER_ONLY_KEYS = [
    "dockerSubnet",
    "bindAddress",
    "httpPort",
    "httpsPort",
    "statusPort",
    "dbPortBase",
    "sentinelPortBase",
    "retainDataVolumes",
    "allowDataLoss",
    "dockerLogs",
    "dockerLogMaxMb",
    "prometheusPort",
    "alertmanagerPort",
    "pushImage",
] as const;
/** Keys that only mean something on hosts. */
export const HOSTS_ONLY_KEYS = [
    "hosts",
    "sshBastion",
    "sshBastionHostKey",
    "sshInsecureIgnoreHostKeys",
    "sshPrivateKey",
    "vrrpInterface",
    "pushArchive",
] as const;

/**
 * Every layer runs where `placement` says; a config that mixes the two (host keys on a Docker stack, Docker keys
 * or Docker-volume sharing on hosts) is refused, and on hosts the host list must carry exactly the cluster's roles.
 */
function placementChecks(v: KeyValues, raw: RawConfig, name: (k: string) => string, problems: string[]): ClusterConfig["hosts"] {
    // Pulumi hands the program Pulumi.yaml's defaults as if set: a key counts as set when it differs from its default.
    const set = (k: KeyName) =>
        raw[k] !== undefined && raw[k] !== null && JSON.stringify(raw[k]) !== JSON.stringify((KEYS[k] as KeySpec).default);
    if (v.placement === "docker") {
        for (const k of HOSTS_ONLY_KEYS)
            if (set(k)) problems.push(`${name(k)}: only read with ${name("placement")} = "hosts"; remove it, or set placement to "hosts"`);
        if (v.sharedStorage === "external")
            problems.push(
                `${name("sharedStorage")}: "external" (shared paths mounted by you on each web host) needs ${name("placement")} = "hosts"; use "nfs" or "docker-volume"`,
            );
        return undefined;
    }
    for (const k of DOCKER_ONLY_KEYS)
        if (set(k)) problems.push(`${name(k)}: only read with ${name("placement")} = "docker"; remove it from this hosts stack`);
    if (v.sharedStorage === "docker-volume")
        problems.push(
            `${name("sharedStorage")}: "docker-volume" shares one Docker volume on a single Docker host; on hosts use "nfs" or "external"`,
        );
    if (v.dbEngine === "percona")
        problems.push(
            `${name("dbEngine")}: "percona" on hosts is not implemented yet (the Percona path runs the Percona image in containers); use "mariadb" on hosts`,
        );
    if (v.sshPrivateKey === undefined)
        problems.push(
            `${name("sshPrivateKey")}: required with placement "hosts" (pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519)`,
        );
    const insecure = v.sshInsecureIgnoreHostKeys === true;
    const bastion = v.sshBastion ? parseBastion(v.sshBastion) : undefined;
    if (bastion && v.sshBastionHostKey === "" && !insecure) {
        problems.push(
            `${name("sshBastionHostKey")}: required with ${name("sshBastion")} (the bastion's SSH public key; without it whoever answers at ` +
                `${bastion.host}:${bastion.port} sees every connection to the hosts); ${hostKeyHowTo(bastion.host, bastion.port).replace("set hostKey", `set ${name("sshBastionHostKey")}`)}`,
        );
    }
    if (!bastion && v.sshBastionHostKey !== "")
        problems.push(`${name("sshBastionHostKey")}: only read with ${name("sshBastion")}; remove it, or set the bastion`);
    let inventory;
    try {
        inventory = parseInventory(
            v.hosts,
            {
                balancers: v.balancers,
                webNodes: v.webNodes,
                dbReplicas: v.dbReplicas,
                redisNodes: 1 + v.redisReplicas,
                sentinels: v.sentinels,
                nfsServers: v.sharedStorage === "nfs" ? 1 : 0,
                monitoring: v.monitoring ? 1 : 0,
                push: v.pushServers,
            },
            { insecureIgnoreHostKeys: insecure, acme: tlsModeOf(v) === "acme", binlogStream: v.dbBinlogStream },
        );
    } catch (e) {
        problems.push(`${name("hosts")}: ${(e as Error).message}`);
        return undefined;
    }
    // The ACME service pushes the certificate's key to the other balancer hosts over SSH: never to an unchecked host.
    const unpinnedPeers = inventory.hosts.filter(
        (h) => tlsModeOf(v) === "acme" && h.roles.includes("balancer") && h.name !== inventory.services.acme && !h.hostKey,
    );
    if (unpinnedPeers.length)
        problems.push(
            `${name("hosts")}: ${unpinnedPeers.map((h) => h.name).join(", ")}: hostKey is required with ${name("tlsMode")} "acme" even with ${name("sshInsecureIgnoreHostKeys")}: the ACME service sends the certificate's private key to each other balancer host over SSH and must know who answers there`,
        );
    const bastionKey = bastion && v.sshBastionHostKey !== "" ? parseHostKey(v.sshBastionHostKey) : undefined;
    if (v.sshPrivateKey === undefined) return undefined;
    return {
        inventory,
        privateKey: v.sshPrivateKey,
        insecureIgnoreHostKeys: insecure,
        bastion: bastion && { ...bastion, ...(bastionKey && "key" in bastionKey ? { hostKey: bastionKey.key } : {}) },
    };
}

/**
 * Who reaches the admin pages: a list the user gives (the client address is all the balancer sees, and behind a NAT,
 * a TCP load balancer or docker-proxy every client looks private), private ranges only on a Docker dev stack, and
 * every address only when confirmed.
 */
function adminChecks(v: KeyValues, name: (k: string) => string, problems: string[]): void {
    if (v.devStack && v.placement !== "docker")
        problems.push(
            `${name("devStack")}: only with ${name("placement")} = "docker" (a local development stack); a hosts stack names its admins' networks in ${name("adminAllowlist")}`,
        );
    if (v.adminAllowlist.length === 0 && !v.devStack) {
        problems.push(
            `${name("adminAllowlist")}: required: the networks your admins connect from, e.g. pulumi config set --path '${name("adminAllowlist")}[0]' 203.0.113.0/24 ` +
                `(there is no private-range default: behind a NAT, a TCP load balancer or docker-proxy every client looks private); for a local Docker dev stack set ${name("devStack")} to true instead`,
        );
    }
    const all = v.adminAllowlist.filter((c) => c.endsWith("/0"));
    if (all.length > 0 && !v.adminAllowlistAllowAll) {
        problems.push(
            `${name("adminAllowlist")}: ${all.join(", ")} lets every address reach the admin pages, the status page and /probe/; list your admins' networks, or set ${name("adminAllowlistAllowAll")} to true to confirm`,
        );
    }
    if (all.length === 0 && v.adminAllowlistAllowAll)
        problems.push(`${name("adminAllowlistAllowAll")}: only with 0.0.0.0/0 or ::/0 in ${name("adminAllowlist")}; remove it`);
}

/** The TLS mode a stack uses: the one set, else "provided" when a certificate is given, else "self-signed". */
export function tlsModeOf(v: KeyValues): "self-signed" | "provided" | "acme" {
    return (v.tlsMode || (v.tlsCertificate !== undefined ? "provided" : "self-signed")) as "self-signed" | "provided" | "acme";
}

/** Keys read only with tlsMode "acme". */
export const ACME_KEYS = ["acmeDirectory", "acmeEmail", "acmeNames", "acmeDirectoryCa", "acmeEabKid", "acmeEabHmac"] as const;

/** The three TLS modes and what each needs; the ACME directory itself is checked later, by `pulumi up` (docs/tls.md). */
function tlsChecks(v: KeyValues, name: (k: string) => string, problems: string[]): void {
    const mode = tlsModeOf(v);
    if (mode === "provided" && v.tlsCertificate === undefined) {
        problems.push(
            `${name("tlsMode")}: "provided" needs ${name("tlsCertificate")} and ${name("tlsKey")} (pulumi config set --secret tlsCertificate < portal.crt)`,
        );
    }
    if (mode !== "provided" && (v.tlsCertificate !== undefined || v.tlsKey !== undefined)) {
        problems.push(
            `${name("tlsMode")}: "${mode}" does not use ${name("tlsCertificate")} and ${name("tlsKey")}; remove them, or set tlsMode to "provided"`,
        );
    }
    const isDefault = (k: KeyName) => JSON.stringify(v[k]) === JSON.stringify((KEYS as Record<string, KeySpec>)[k].default);
    if (mode !== "acme") {
        for (const k of ACME_KEYS)
            if (!isDefault(k)) problems.push(`${name(k)}: only read with ${name("tlsMode")} = "acme"; remove it, or set tlsMode to "acme"`);
        return;
    }
    if (v.acmeEmail === "")
        problems.push(
            `${name("acmeEmail")}: required with ${name("tlsMode")} = "acme": the ACME account's contact address, e.g. pulumi config set ${name("acmeEmail")} ops@example.com`,
        );
    if (v.acmeNames.length === 0 && !isAcmeName(v.serverName)) {
        problems.push(
            `${name("serverName")}: ${show(v.serverName)} is not a public DNS name an ACME CA can validate (two or more labels, no IP address); set serverName to the portal's name, or list the names in ${name("acmeNames")}`,
        );
    }
    if ((v.acmeEabKid === undefined) !== (v.acmeEabHmac === undefined)) {
        problems.push(
            `${name(v.acmeEabKid === undefined ? "acmeEabKid" : "acmeEabHmac")}: set acmeEabKid and acmeEabHmac together (the CA gives both), or neither`,
        );
    }
}

function crossChecks(v: KeyValues, name: (k: string) => string, problems: string[]): void {
    adminChecks(v, name, problems);
    if (v.webWeights.length > 0 && v.webWeights.length !== v.webNodes) {
        problems.push(
            `${name("webWeights")}: has ${v.webWeights.length} weights for ${v.webNodes} web nodes; give exactly one weight per node`,
        );
    }
    if (v.healthTimeoutMs >= v.healthIntervalMs) {
        problems.push(
            `${name("healthTimeoutMs")}: ${v.healthTimeoutMs} ms must be shorter than ${name("healthIntervalMs")} (${v.healthIntervalMs} ms)`,
        );
    }
    const detectS = (v.maxFails * v.healthIntervalMs) / 1000;
    if (detectS > v.failTimeoutS) {
        problems.push(
            `${name("failTimeoutS")}: ${v.failTimeoutS} s is shorter than ${name("maxFails")} × ${name("healthIntervalMs")} = ${detectS} s, so a dead node could not be removed in time; raise it or check more often`,
        );
    }
    if (v.sentinelQuorum > v.sentinels) {
        problems.push(
            `${name("sentinelQuorum")}: ${v.sentinelQuorum} is more than the ${v.sentinels} sentinels; allowed: 1 to ${v.sentinels}`,
        );
    }
    if ((v.tlsCertificate === undefined) !== (v.tlsKey === undefined)) {
        problems.push(
            `${name(v.tlsCertificate === undefined ? "tlsCertificate" : "tlsKey")}: set tlsCertificate and tlsKey together, or neither for a self-signed certificate`,
        );
    }
    tlsChecks(v, name, problems);
    const slugs = new Map<string, string>();
    for (const p of v.sharedPaths) {
        const slug = sharedSlug(p);
        const other = slugs.get(slug);
        if (other !== undefined && other !== p)
            problems.push(`${name("sharedPaths")}: "${p}" and "${other}" would share one export and volume name; rename one`);
        slugs.set(slug, p);
    }
    if (v.dbMemoryMb > 0 && v.dbBufferPoolMb + 256 > v.dbMemoryMb) {
        problems.push(
            `${name("dbBufferPoolMb")}: ${v.dbBufferPoolMb} MB does not fit in ${name("dbMemoryMb")} = ${v.dbMemoryMb} MB with 256 MB to spare; lower it or raise the limit`,
        );
    }
    if (v.dbBinlogStream && v.dbEngine !== "mariadb")
        problems.push(
            `${name("dbBinlogStream")}: the binlog streamer follows MariaDB's GTIDs (tools/backup/pitrFollow.ts); with ${name("dbEngine")} "${v.dbEngine}" it is not built yet`,
        );
    const perconaMinor = /:8\.0\.(\d+)(-|$)/.exec(v.perconaImage);
    if (v.dbEngine === "percona" && perconaMinor && Number(perconaMinor[1]) < 30) {
        problems.push(
            `${name("perconaImage")}: ${v.perconaImage} is older than 8.0.30, which the generated innodb_redo_log_capacity and semi-sync plugin names need`,
        );
    }
    // XtraBackup 8.4 and the innovation series do not back up an 8.0 server (their release notes, e.g.
    // https://docs.percona.com/percona-xtrabackup/innovation-release/release-notes/8.3.0-1.html); 8.0.34+ does.
    const pxbVersion = /:(\d+)\.(\d+)\.(\d+)/.exec(v.perconaXtrabackupImage);
    if (v.dbEngine === "percona" && pxbVersion && (pxbVersion[1] !== "8" || pxbVersion[2] !== "0" || Number(pxbVersion[3]) < 34)) {
        problems.push(
            `${name("perconaXtrabackupImage")}: ${v.perconaXtrabackupImage} is not XtraBackup 8.0.34 or later of the 8.0 series, which backs up Percona Server 8.0.34 and later`,
        );
    }
    const seenPaths = new Set<string>();
    for (const p of v.sharedPaths) {
        for (const other of seenPaths) {
            if (p === other || p.startsWith(`${other}/`) || other.startsWith(`${p}/`)) {
                problems.push(`${name("sharedPaths")}: "${p}" overlaps "${other}"; list each shared tree once`);
            }
        }
        seenPaths.add(p);
    }
    if (v.alertEmailTo && !v.alertSmarthost)
        problems.push(`${name("alertSmarthost")}: required with ${name("alertEmailTo")} (the SMTP server as host:port)`);
    if (!v.alertEmailTo && (v.alertSmarthost || v.alertSmtpUser || v.alertEmailFrom))
        problems.push(`${name("alertEmailTo")}: set it, or remove the other alert e-mail settings (they are unused without it)`);
    if (v.alertSmtpUser && v.alertSmtpPassword === undefined)
        problems.push(
            `${name("alertSmtpPassword")}: required with ${name("alertSmtpUser")} (pulumi config set --secret alertSmtpPassword)`,
        );
    // Published ports: each must be unique on the bind address.
    const ports: Array<[string, number]> = [
        ["httpPort", v.httpPort],
        ["httpsPort", v.httpsPort],
        ["statusPort", v.statusPort],
    ];
    if (v.monitoring) ports.push(["prometheusPort", v.prometheusPort], ["alertmanagerPort", v.alertmanagerPort]);
    if (v.dbPortBase > 0) for (let i = 0; i <= v.dbReplicas; i++) ports.push([`dbPortBase+${i}`, v.dbPortBase + i]);
    if (v.sentinelPortBase > 0) for (let i = 0; i < v.sentinels; i++) ports.push([`sentinelPortBase+${i}`, v.sentinelPortBase + i]);
    const byPort = new Map<number, string>();
    for (const [key, p] of ports) {
        if (p > 65535) problems.push(`${name(key.split("+")[0])}: the range reaches port ${p}; allowed: ports up to 65535`);
        const clash = byPort.get(p);
        if (clash) problems.push(`${name(key.split("+")[0])}: port ${p} (${key}) clashes with ${clash}; every published port must differ`);
        byPort.set(p, key);
    }
    if (v.pushServers > 0 && v.placement === "docker" && v.pushImage === "") {
        problems.push(
            `${name("pushImage")}: required with ${name("pushServers")} = ${v.pushServers}: the push server's image (Bitrix ships it with its environment only, so you supply it; docs/push.md)`,
        );
    }
    if (v.pushServers > 0 && v.placement === "hosts") {
        if (v.pushArchive === "")
            problems.push(
                `${name("pushArchive")}: required with ${name("pushServers")} = ${v.pushServers} on hosts: the path of the push server's tarball where pulumi runs (Bitrix ships it with its environment only, so you supply it; docs/push.md)`,
            );
        else {
            const archive = readPushArchive(v.pushArchive);
            if ("problem" in archive) problems.push(`${name("pushArchive")}: ${archive.problem}`);
        }
    }
    for (const k of ["pushImage", "pushArchive"] as const)
        if (v.pushServers === 0 && v[k] !== "")
            problems.push(`${name("pushServers")}: set it to 1 or more to run ${name(k)}, or remove ${name(k)}`);
    if (v.placement !== "docker") return;
    const { first, last } = ipv4Range(v.dockerSubnet);
    // Docker hands out the upper half of the subnet; the NFS server's fixed address is in the lower half.
    const dynamic = (last - first + 1) / 2 - 1;
    const needed =
        (v.monitoring ? 1 : 0) +
        (v.pushServers > 0 ? v.pushServers + 1 : 0) +
        v.webNodes +
        (1 + v.dbReplicas) +
        (1 + v.redisReplicas) +
        v.sentinels;
    if (needed > dynamic) {
        problems.push(
            `${name("dockerSubnet")}: ${v.dockerSubnet} leaves ${dynamic} addresses for ${needed} containers; use a larger subnet`,
        );
    }
}

/** The push server's tarball, checked in crossChecks. */
function pushArchiveOf(file: string): PushArchive {
    const archive = readPushArchive(file);
    if ("problem" in archive) throw new ConfigError([archive.problem]);
    return archive;
}

function build(v: KeyValues, ctx: ValidateContext): ClusterConfig {
    const weights: number[] = v.webWeights.length > 0 ? v.webWeights : Array.from({ length: v.webNodes }, () => 1);
    return {
        prefix: v.namePrefix || defaultPrefix(ctx.stack),
        // The keys' checks (oneOf) allowed only these words.
        placement: v.placement as ClusterConfig["placement"],
        balancer: {
            count: v.balancers,
            algorithm: v.balancerAlgorithm as ClusterConfig["balancer"]["algorithm"],
            stickyCookie: v.stickyCookie,
            weights,
            healthIntervalMs: v.healthIntervalMs,
            healthTimeoutMs: v.healthTimeoutMs,
            maxFails: v.maxFails,
            failTimeoutS: v.failTimeoutS,
            adminAllowlist: v.adminAllowlist.length === 0 && v.devStack ? DEV_ADMIN_ALLOWLIST : v.adminAllowlist,
            serverName: v.serverName,
            hstsMaxAgeS: v.hstsMaxAgeS,
            tlsCertificate: v.tlsCertificate,
            tlsKey: v.tlsKey,
            tlsMode: tlsModeOf(v),
            acme:
                tlsModeOf(v) === "acme"
                    ? {
                          directory: acmeDirectoryUrl(v.acmeDirectory)!,
                          email: v.acmeEmail,
                          names: v.acmeNames.length > 0 ? v.acmeNames : [v.serverName],
                          directoryCa: v.acmeDirectoryCa,
                          // tlsChecks refused one without the other.
                          ...(v.acmeEabKid !== undefined && v.acmeEabHmac !== undefined
                              ? { eab: { kid: v.acmeEabKid, hmac: v.acmeEabHmac } }
                              : {}),
                      }
                    : undefined,
        },
        ports: {
            bindAddress: v.bindAddress,
            http: v.httpPort,
            https: v.httpsPort,
            status: v.statusPort,
            dbBase: v.dbPortBase,
            sentinelBase: v.sentinelPortBase,
        },
        web: {
            nodes: v.webNodes,
            phpMemoryLimitMb: v.phpMemoryLimitMb,
            phpMaxExecutionS: v.phpMaxExecutionS,
            uploadMaxMb: v.uploadMaxMb,
            fpmMaxChildren: v.fpmMaxChildren,
            timezone: v.timezone,
        },
        db: {
            engine: v.dbEngine as ClusterConfig["db"]["engine"],
            replicas: v.dbReplicas,
            name: v.dbName,
            user: v.dbUser,
            redoLogMb: v.dbRedoLogMb,
            bufferPoolMb: v.dbBufferPoolMb,
            semiSyncTimeoutMs: v.semiSyncTimeoutMs,
            failover: v.dbFailover,
            binlogStream: v.dbBinlogStream,
            perconaImage: v.perconaImage,
            perconaXtrabackupImage: v.perconaXtrabackupImage,
        },
        redis: {
            replicas: v.redisReplicas,
            sentinels: v.sentinels,
            quorum: v.sentinelQuorum || Math.floor(v.sentinels / 2) + 1,
            downAfterMs: v.sentinelDownAfterMs,
            failoverTimeoutMs: v.sentinelFailoverTimeoutMs,
            maxMemoryMb: v.redisMaxMemoryMb,
        },
        storage: { mode: v.sharedStorage as ClusterConfig["storage"]["mode"], sharedPaths: v.sharedPaths },
        monitoring: {
            enabled: v.monitoring,
            prometheusPort: v.prometheusPort,
            alertmanagerPort: v.alertmanagerPort,
            webhookUrls: v.alertWebhookUrls,
            email: v.alertEmailTo
                ? {
                      to: v.alertEmailTo,
                      from: v.alertEmailFrom || `alertmanager@${v.serverName}`,
                      smarthost: v.alertSmarthost,
                      ...(v.alertSmtpUser ? { username: v.alertSmtpUser } : {}),
                  }
                : undefined,
            smtpPassword: v.alertSmtpPassword,
            memoryMb: v.monitoringMemoryMb,
        },
        push: {
            servers: v.pushServers,
            image: v.pushImage,
            ...(v.placement === "hosts" && v.pushServers > 0 ? { archive: pushArchiveOf(v.pushArchive) } : {}),
            securityKey: v.pushSecurityKey,
            tunnelTimeoutS: v.pushTunnelTimeoutS,
            memoryMb: v.pushMemoryMb,
        },
        docker: {
            subnet: v.dockerSubnet,
            retainDataVolumes: v.retainDataVolumes,
            protectDataVolumes: !v.allowDataLoss,
            logs: v.dockerLogs === "daemon" ? { driver: "daemon" } : { driver: "local", maxMb: v.dockerLogMaxMb },
            memoryMb: { balancer: v.balancerMemoryMb, web: v.webMemoryMb, nfs: v.nfsMemoryMb, db: v.dbMemoryMb, redis: v.redisMemoryMb },
        },
        secrets: {
            dbPassword: v.dbPassword,
            dbRootPassword: v.dbRootPassword,
            dbReplicationPassword: v.dbReplicationPassword,
            redisPassword: v.redisPassword,
        },
    };
}

/** The VRRP router id a stack uses when vrrpRouterId is 0: 1–255 from its name prefix (FNV-1a). */
export function derivedRouterId(prefix: string): number {
    let h = 0x811c9dc5;
    for (const ch of Buffer.from(prefix)) h = Math.imul(h ^ ch, 0x01000193) >>> 0;
    return 1 + (h % 255);
}

/** Another stack's name prefix, from its plain config. */
const otherPrefix = (other: { stack: string; raw: RawConfig }) =>
    typeof other.raw.namePrefix === "string" && other.raw.namePrefix !== "" ? other.raw.namePrefix : defaultPrefix(other.stack);

/** What another stack's plain config says about its floating address (undefined: it has no VRRP on hosts). */
function otherVrrp(other: { stack: string; raw: RawConfig }): { address: string; routerId: number } | undefined {
    const r = other.raw;
    const balancers = r.balancers ?? KEYS.balancers.default;
    if (r.placement !== "hosts" || Number(balancers) < 2) return undefined;
    return {
        address: typeof r.floatingAddress === "string" ? r.floatingAddress : "",
        routerId: Number(r.vrrpRouterId ?? 0) || derivedRouterId(otherPrefix(other)),
    };
}

/** What another Docker stack's plain config says about its names and network (undefined: not on Docker). */
function otherDocker(other: { stack: string; raw: RawConfig }): { prefix: string; subnet?: string } | undefined {
    if ((other.raw.placement ?? KEYS.placement.default) !== "docker") return undefined;
    const subnet = typeof other.raw.dockerSubnet === "string" ? other.raw.dockerSubnet : KEYS.dockerSubnet.default;
    return { prefix: otherPrefix(other), subnet: KEYS.dockerSubnet.allowed(subnet) === undefined ? subnet : undefined };
}

/** Docker's default bridge network: containers on an overlapping subnet cannot reach each other or the host reliably. */
export const DOCKER_DEFAULT_BRIDGE = "172.17.0.0/16";

/**
 * A Docker stack's names and subnet must be its own on the engine: another stack of the project with the same name
 * prefix would take over its containers and volumes, an overlapping subnet (or Docker's default bridge) cannot be
 * created or routes to the wrong network.
 */
function dockerChecks(v: KeyValues, ctx: ValidateContext, name: (k: string) => string, problems: string[]): void {
    if (v.placement !== "docker") return;
    const mine = ipv4Range(v.dockerSubnet);
    const overlaps = (cidr: string) => {
        const r = ipv4Range(cidr);
        return r.first <= mine.last && mine.first <= r.last;
    };
    if (overlaps(DOCKER_DEFAULT_BRIDGE)) {
        problems.push(
            `${name("dockerSubnet")}: ${v.dockerSubnet} overlaps ${DOCKER_DEFAULT_BRIDGE}, Docker's default bridge; allowed: a subnet outside it, such as "172.28.0.0/24"`,
        );
    }
    const prefix = v.namePrefix || defaultPrefix(ctx.stack);
    for (const other of ctx.otherStacks ?? []) {
        const o = otherDocker(other);
        if (!o) continue;
        if (o.prefix === prefix)
            problems.push(
                `${name("namePrefix")}: ${prefix} is also the name prefix of stack "${other.stack}"; its containers, volumes and network would be this stack's`,
            );
        if (o.subnet && overlaps(o.subnet))
            problems.push(
                `${name("dockerSubnet")}: ${v.dockerSubnet} overlaps ${o.subnet} of stack "${other.stack}"; give each stack on one Docker engine its own subnet`,
            );
    }
}

/**
 * The floating address of 2+ balancers. On Docker it is an address of the stack's subnet that no container gets;
 * on hosts it is required and must be no host's address, and no other hosts stack of the project may use the same
 * address or router id (VRRP routers with one id on one network fight over the address).
 */
function vrrpChecks(
    v: KeyValues,
    ctx: ValidateContext,
    inventory: Inventory | undefined,
    name: (k: string) => string,
    problems: string[],
): VrrpSettings | undefined {
    if (v.balancers < 2) {
        if (v.floatingAddress !== "")
            problems.push(`${name("floatingAddress")}: only used with 2 or more ${name("balancers")} (it is ${v.balancers})`);
        return undefined;
    }
    const prefix = v.namePrefix || defaultPrefix(ctx.stack);
    const routerId = v.vrrpRouterId || derivedRouterId(prefix);
    let address: string = v.floatingAddress;
    if (v.placement === "docker") {
        if (v.balancers > MAX_DOCKER_BALANCERS) problems.push(`${name("balancers")}: at most ${MAX_DOCKER_BALANCERS} on Docker`);
        address ||= dockerAddressing(v.dockerSubnet).floatingAddress;
        const { first, last } = ipv4Range(v.dockerSubnet);
        const n = ipv4Range(`${address}/32`).first - first;
        if (n < 0 || n > last - first)
            problems.push(`${name("floatingAddress")}: ${address} is outside ${name("dockerSubnet")} ${v.dockerSubnet}`);
        else if (n < 2 || n >= (last - first + 1) / 2 || (n >= RESERVED_SLOTS.first && n <= RESERVED_SLOTS.last)) {
            problems.push(
                `${name("floatingAddress")}: ${address} is not free: use an address of the lower half of ${v.dockerSubnet} other than the network, gateway and numbers ${RESERVED_SLOTS.first}–${RESERVED_SLOTS.last} (the NFS server and balancers); empty picks number ${FLOATING_SLOT}`,
            );
        }
    } else {
        if (address === "")
            problems.push(
                `${name("floatingAddress")}: required with ${v.balancers} balancers on hosts: an unused IPv4 address on the balancer hosts' network`,
            );
        const host = inventory?.hosts.find((h) => h.address === address);
        if (host)
            problems.push(
                `${name("floatingAddress")}: ${address} is the address of host "${host.name}"; the floating address must be one no machine has`,
            );
        for (const other of ctx.otherStacks ?? []) {
            const o = otherVrrp(other);
            if (!o) continue;
            if (address !== "" && o.address === address)
                problems.push(`${name("floatingAddress")}: ${address} is also the floating address of stack "${other.stack}"`);
            if (o.routerId === routerId)
                problems.push(
                    `${name("vrrpRouterId")}: router id ${routerId}${v.vrrpRouterId ? "" : " (derived from the name prefix)"} is also used by stack "${other.stack}"; set a different ${name("vrrpRouterId")}`,
                );
        }
    }
    return { address, interface: v.placement === "hosts" ? v.vrrpInterface : "eth0", routerId, password: v.vrrpPassword };
}

/** bx-<stack>, cut to a valid prefix. */
export function defaultPrefix(stack: string): string {
    const cleaned = `bx-${stack.toLowerCase().replace(/[^a-z0-9-]+/g, "-")}`.slice(0, 24).replace(/-+$/, "");
    return cleaned.length >= 2 ? cleaned : "bx";
}
