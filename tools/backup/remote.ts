/**
 * Where the backup tools run a command of the stack (pure, unit-tested): in one of its containers (`docker exec`), or
 * on one of its machines over SSH with the same host keys, bastion, key and sudo rule as `pulumi up`
 * (components/placement/hosts.ts). Every command is a `sh -c` script quoted as one word at each hop, so nothing a
 * value holds is parsed by a shell in between.
 */
import type { InventoryHost } from "../../components/placement/hostsInventory";
import { shellQuote } from "../../components/shared/shell";

const q = shellQuote;

/** A container of a Docker stack, or a machine of a hosts stack reached through the generated ssh config. */
export type Target = { kind: "docker"; name: string } | { kind: "ssh"; name: string; alias: string; sudo: boolean };

/** The name a machine has in the generated ssh config (`Host` line). */
export const sshAlias = (host: string) => `bx-host-${host}`;
/** The bastion's name in the generated ssh config. */
export const BASTION_ALIAS = "bx-bastion";

/** A target for a machine of the inventory: through `sudo -n` unless its SSH user is root (as `pulumi up`). */
export function hostTarget(host: Pick<InventoryHost, "name" | "user">): Target {
    return { kind: "ssh", name: host.name, alias: sshAlias(host.name), sudo: host.user !== "root" };
}

/**
 * The local bash command that runs `script` with `sh` on the target as root, its stdin passed through (`-i`): a pipe
 * into this command reaches the script. Over SSH the remote side gets one word (`sh -c '<script>'`, or behind
 * `sudo -n`), which the login shell splits back into exactly that.
 */
export function onTarget(t: Target, script: string, sshConfig?: string): string {
    if (t.kind === "docker") return `docker exec -i ${q(t.name)} sh -c ${q(script)}`;
    if (!sshConfig) throw new Error(`backup: no ssh config to reach host ${t.name}`);
    const remote = `${t.sudo ? "sudo -n " : ""}sh -c ${q(script)}`;
    return `ssh -F ${q(sshConfig)} ${q(t.alias)} ${q(remote)}`;
}

/**
 * A database client as root on its server's container or machine. Containers: the root password from the
 * container's own environment (never on a command line). Machines: root's unix_socket login, which the entrypoint
 * gives root@localhost beside its password (images/mariadb/entrypoint.sh), as `sudo -n` or root's session is.
 */
export function dbRootScript(t: Target, argv: string[]): string {
    const args = [...argv, "-uroot"].map(q).join(" ");
    return t.kind === "docker" ? `MYSQL_PWD="\${MARIADB_ROOT_PASSWORD:-\${MYSQL_ROOT_PASSWORD:-}}" exec ${args}` : `exec ${args}`;
}

/** The web server's user on Debian (www-data), owner of every shared tree. */
export const APP_UID = 33;

/**
 * Writes a tar stream of `dir`'s content to stdout (symlinks as symlinks; nothing in it is followed or run). The
 * members are the entries below `dir`, without `dir` itself (`.`): unpacking a `.` member makes tar set the
 * directory's mode, which the web server's user may not (a mount point is often root's), and which is not the
 * tree's to change anyway.
 */
export function readTreeScript(dir: string): string {
    return `(cd ${q(checkAbsolute(dir))} && find . -mindepth 1 -maxdepth 1 -printf '%P\\0' | tar --null -T - -cf -)`;
}

/**
 * Empties `dir` and unpacks a tar stream from stdin into it **as the web server's user**, never as root: the
 * directory is the app's to write, so a link it planted between the two steps can only lead where the app could
 * write anyway. `-p` keeps the files' modes; `find -delete` does not follow links. The stream comes from
 * {@link readTreeScript} (no `.` member), so `dir` itself keeps its owner and mode.
 */
export function refillTreeScript(dir: string): string {
    const d = q(checkAbsolute(dir));
    return `find ${d} -mindepth 1 -delete && setpriv --reuid=${APP_UID} --regid=${APP_UID} --clear-groups tar -C ${d} -xpf -`;
}

function checkAbsolute(dir: string): string {
    if (!dir.startsWith("/") || dir === "/" || /[\n\0]/.test(dir) || dir.split("/").includes(".."))
        throw new Error(`backup: "${dir}" is not an absolute directory below /`);
    return dir;
}

/** A path that goes into the generated ssh config unquoted (ours: mkdtemp under the temp directory). */
function configPath(p: string): string {
    if (!/^\/[A-Za-z0-9._/-]+$/.test(p)) throw new Error(`backup: the ssh files' path "${p}" has characters ssh_config would split`);
    return p;
}

/** A `known_hosts` line (`[address]:port` off port 22, as ssh looks it up). */
const knownHost = (address: string, port: number, key: string) => `${port === 22 ? address : `[${address}]:${port}`} ${key}`;

export interface SshAccess {
    hosts: Array<Pick<InventoryHost, "name" | "address" | "port" | "user" | "hostKey">>;
    bastion?: { user: string; host: string; port: number; hostKey?: string };
    /** Accept any key where none is pinned (sshInsecureIgnoreHostKeys, labs only): that host's entry checks nothing. */
    insecureIgnoreHostKeys: boolean;
    /** The private key file (0600) and the known_hosts file this config names. */
    keyFile: string;
    knownHostsFile: string;
}

/** `known_hosts` with every pinned key: the hosts' and the bastion's, nothing else. */
export function knownHostsText(a: Pick<SshAccess, "hosts" | "bastion">): string {
    const lines = a.hosts.filter((h) => h.hostKey).map((h) => knownHost(h.address, h.port, h.hostKey!));
    if (a.bastion?.hostKey) lines.push(knownHost(a.bastion.host, a.bastion.port, a.bastion.hostKey));
    return lines.length ? `${lines.join("\n")}\n` : "";
}

/**
 * An ssh_config (`ssh -F`) reaching every host by its alias: the stack's key only, batch mode (no prompt), the
 * pinned keys only (no user or global known_hosts), through the bastion when there is one. ssh passes `-F` on to the
 * bastion's own connection (ProxyJump), so it is checked the same way. A host without a pinned key is accepted as it
 * answers only with insecureIgnoreHostKeys (refused before, by the config's validation, otherwise).
 */
export function sshConfigText(a: SshAccess): string {
    const key = configPath(a.keyFile);
    const known = configPath(a.knownHostsFile);
    const trust = (hostKey: string | undefined) => {
        if (hostKey) return ["    StrictHostKeyChecking yes"];
        if (!a.insecureIgnoreHostKeys) throw new Error("backup: a host without a pinned hostKey (and sshInsecureIgnoreHostKeys off)");
        return ["    StrictHostKeyChecking no", "    UserKnownHostsFile /dev/null"];
    };
    const blocks: string[] = [];
    for (const h of a.hosts)
        blocks.push(
            [
                `Host ${sshAlias(h.name)}`,
                `    HostName ${h.address}`,
                `    Port ${h.port}`,
                `    User ${h.user}`,
                ...(a.bastion ? [`    ProxyJump ${BASTION_ALIAS}`] : []),
                ...trust(h.hostKey),
            ].join("\n"),
        );
    if (a.bastion)
        blocks.push(
            [
                `Host ${BASTION_ALIAS}`,
                `    HostName ${a.bastion.host}`,
                `    Port ${a.bastion.port}`,
                `    User ${a.bastion.user}`,
                ...trust(a.bastion.hostKey),
            ].join("\n"),
        );
    blocks.push(
        [
            "Host *",
            `    IdentityFile ${key}`,
            "    IdentitiesOnly yes",
            "    IdentityAgent none",
            "    BatchMode yes",
            `    UserKnownHostsFile ${known}`,
            "    GlobalKnownHostsFile /dev/null",
            "    CheckHostIP no",
            "    ConnectTimeout 15",
            "    ServerAliveInterval 15",
            "    ServerAliveCountMax 4",
        ].join("\n"),
    );
    return `# Generated by tools/backup/remote.ts for one backup run; removed when it ends.\n${blocks.join("\n\n")}\n`;
}
