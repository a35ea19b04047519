/**
 * The machines of a `hosts` stack and which services each carries. Validated before any resource exists, with every
 * problem named (like the config validator): the roles must add up to the cluster the config describes, and no
 * host may carry two roles that want the same port.
 */
import { isIpv4 } from "../config/checks";
import { hostKeyHowTo, parseHostKey } from "./hostKey";

export const HOST_ROLES = ["balancer", "web", "nfs", "db-master", "db-replica", "redis", "sentinel", "monitoring", "push"] as const;
export type InventoryRole = (typeof HOST_ROLES)[number];

export interface HostEntry {
    /** Short name, used in resource names (a-z, 0-9, '-'). */
    name: string;
    /** IPv4 address the other hosts and Pulumi reach it by (it also goes into the allowlists of the NFS exports,
     * the web nodes' trusted proxies and the host firewalls, which need addresses, not names). */
    address: string;
    /** SSH port. @default 22 */
    port?: number;
    /** SSH user (root, or one with passwordless sudo). @default "root" */
    user?: string;
    roles: InventoryRole[];
    /** The host's SSH public key as "<type> <base64>" (ssh-ed25519 or ecdsa-sha2-nistp*): every connection checks
     * the server against it. Required unless the stack accepts any host key (sshInsecureIgnoreHostKeys). */
    hostKey?: string;
}

/** A validated host: SSH defaults filled in, the host key normalised (absent only when host keys are ignored). */
export type InventoryHost = Required<Omit<HostEntry, "hostKey">> & { hostKey?: string };

/** How many of each role the rest of the config asks for. */
export interface RoleCounts {
    webNodes: number;
    dbReplicas: number;
    redisNodes: number;
    sentinels: number;
    /** Balancers (config `balancers`). @default 1 */
    balancers?: number;
    /** 1 with the Monitoring layer on, else 0. @default 0 */
    monitoring?: number;
    /** 1 with sharedStorage "nfs", 0 with "external". @default 1 */
    nfsServers?: number;
    /** Push services (config `pushServers`): one per host carrying "push". @default 0 */
    push?: number;
}

export interface Inventory {
    hosts: InventoryHost[];
    /** Service name ("balancer-1", "web-1", "db-replica-2", "sentinel-3", …) → host name. */
    services: Record<string, string>;
}

/** Pairs of roles that cannot share a machine, and why. */
const CLASHES: Array<[InventoryRole, InventoryRole, string]> = [
    ["balancer", "web", "both listen on port 80"],
    ["web", "redis", "the web node's local Redis proxy listens on 127.0.0.1:6379"],
    ["db-master", "db-replica", "both listen on port 3306"],
];

/**
 * Parses and checks the host list; throws one error listing every problem. Every host needs its `hostKey` unless
 * `insecureIgnoreHostKeys` (a lab's explicit choice to accept whatever key answers). With `acme` (tlsMode "acme") the
 * ACME service goes on the first balancer's host.
 */
export function parseInventory(
    raw: unknown,
    counts: RoleCounts,
    opts: { insecureIgnoreHostKeys?: boolean; acme?: boolean; binlogStream?: boolean } = {},
): Inventory {
    const problems: string[] = [];
    if (!Array.isArray(raw) || raw.length === 0)
        throw new Error('hosts: a non-empty list of { name, address, roles } is required for placement "hosts"');
    const hosts = raw.map((entry: unknown, i): InventoryHost => {
        const h = typeof entry === "object" && entry !== null ? (entry as Record<string, unknown>) : undefined;
        const name = typeof h?.name === "string" ? h.name : undefined;
        const at = `hosts[${i}]${name !== undefined ? ` (${name})` : ""}`;
        if (h === undefined) {
            problems.push(`${at}: expected an object`);
            return { name: "", address: "", port: 22, user: "root", roles: [] };
        }
        for (const key of Object.keys(h))
            if (!["name", "address", "port", "user", "roles", "hostKey"].includes(key)) problems.push(`${at}: unknown field "${key}"`);
        if (name === undefined || !/^[a-z][a-z0-9-]{0,30}$/.test(name))
            problems.push(`${at}: name must be 1–31 of a-z, 0-9, '-', starting with a letter`);
        const address = typeof h.address === "string" ? h.address : undefined;
        if (address === undefined || !isIpv4(address)) problems.push(`${at}: address must be an IPv4 address in dotted form`);
        const port = h.port ?? 22;
        const portText = typeof port === "number" || typeof port === "string" ? String(port) : JSON.stringify(port);
        const integerPort = typeof port === "number" && Number.isInteger(port) ? port : undefined;
        if (integerPort === undefined || integerPort < 1 || integerPort > 65535)
            problems.push(`${at}: port must be an integer from 1 to 65535`);
        const user = h.user ?? "root";
        if (typeof user !== "string" || !/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) problems.push(`${at}: user must be a Unix user name`);
        // Checked one by one below: a role that is not an InventoryRole is a problem, not a host.
        const roles = Array.isArray(h.roles) ? (h.roles as InventoryRole[]) : [];
        if (roles.length === 0) problems.push(`${at}: roles must list at least one of ${HOST_ROLES.join(", ")}`);
        for (const r of roles)
            if (!HOST_ROLES.includes(r)) problems.push(`${at}: unknown role "${String(r)}" (one of ${HOST_ROLES.join(", ")})`);
        if (new Set(roles).size !== roles.length) problems.push(`${at}: a role is listed twice`);
        for (const [a, b, why] of CLASHES)
            if (roles.includes(a) && roles.includes(b)) problems.push(`${at}: ${a} and ${b} cannot share a host (${why})`);
        let hostKey: string | undefined;
        if (h.hostKey !== undefined) {
            const parsed = parseHostKey(h.hostKey);
            if ("problem" in parsed) problems.push(`${at}: hostKey ${parsed.problem}`);
            else hostKey = parsed.key;
        } else if (!opts.insecureIgnoreHostKeys) {
            problems.push(
                `${at}: hostKey is required (the host's SSH public key; without it any machine answering on ` +
                    `${address ?? "its address"}:${portText} would receive every secret); ${hostKeyHowTo(address ?? "<address>", integerPort ?? 22)}`,
            );
        }
        // With a problem the list is refused below; these fallbacks never reach a stack.
        return {
            name: name ?? "",
            address: address ?? "",
            port: integerPort ?? 22,
            user: typeof user === "string" ? user : "root",
            roles,
            ...(hostKey ? { hostKey } : {}),
        };
    });
    for (const field of ["name", "address"] as const) {
        const seen = new Set<string>();
        for (const h of hosts) {
            if (h[field] && seen.has(h[field])) problems.push(`hosts: ${field} "${h[field]}" is used twice`);
            seen.add(h[field]);
        }
    }
    const carrying = (role: InventoryRole) => hosts.filter((h) => h.roles.includes(role));
    const expect = (role: InventoryRole, n: number, from: string) => {
        const got = carrying(role).length;
        if (got !== n) problems.push(`hosts: ${n} host(s) must carry "${role}" (${from}); ${got} do`);
    };
    expect("balancer", counts.balancers ?? 1, "balancers");
    expect("nfs", counts.nfsServers ?? 1, counts.nfsServers === 0 ? "none: sharedStorage is external" : "one NFS server");
    expect("db-master", 1, "one database master");
    expect("web", counts.webNodes, "webNodes");
    expect("db-replica", counts.dbReplicas, "dbReplicas");
    expect("redis", counts.redisNodes, "1 + redisReplicas");
    expect("sentinel", counts.sentinels, "sentinels");
    expect("monitoring", counts.monitoring ?? 0, counts.monitoring ? "the Monitoring layer" : "none: monitoring is off");
    expect("push", counts.push ?? 0, counts.push ? "pushServers" : "none: pushServers is 0");
    if (problems.length)
        throw new Error(`invalid host list (${problems.length} problem${problems.length > 1 ? "s" : ""}):\n  - ${problems.join("\n  - ")}`);

    const services: Record<string, string> = {};
    const numbered = (role: InventoryRole, service: string) => carrying(role).forEach((h, i) => (services[`${service}-${i + 1}`] = h.name));
    numbered("balancer", "balancer");
    // Beside balancer-1, which reads its certificate from the same directory; the other balancers get it pushed.
    if (opts.acme) services.acme = services["balancer-1"];
    if (carrying("nfs").length) services.nfs = carrying("nfs")[0].name;
    if (carrying("monitoring").length) services.monitoring = carrying("monitoring")[0].name;
    services["db-master"] = carrying("db-master")[0].name;
    numbered("web", "web");
    numbered("db-replica", "db-replica");
    // The database failover manager runs beside the first replica: not on the master it has to outlive.
    if (carrying("db-replica").length) services["db-failover"] = carrying("db-replica")[0].name;
    // The binlog streamer (dbBinlogStream) too: a copy of the master's binlog belongs on another machine.
    if (opts.binlogStream && carrying("db-replica").length) services["binlog-stream"] = carrying("db-replica")[0].name;
    numbered("redis", "redis");
    numbered("sentinel", "sentinel");
    numbered("push", "push");
    // The push services' own Redis (docs/push.md) runs on the first push host.
    if (carrying("push").length) services["push-redis"] = carrying("push")[0].name;
    return { hosts, services };
}
