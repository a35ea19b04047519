/**
 * Placement on the user's machines over SSH (`placement: hosts`). Per host: one idempotent install step for all its
 * roles, then its firewall. Per service: its image's own files (entrypoint, supervisord.conf) and its generated
 * files, an environment file and a systemd unit, each written from stdin (a secret never reaches a command line),
 * then a start step that starts, reloads or restarts the unit and waits for its health command. A changed file
 * re-runs its own write step and the service's start step (the start step carries a digest of everything it runs
 * from); a service run from an archive (the user's push server) gets it uploaded by SFTP and unpacked by root in its
 * start step; services of one role restart one at a time; removing a service stops and disables its unit and removes
 * its files (data directories stay).
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { fileMode } from "./fileMode";
import { defaultImagesDir } from "./docker";
import { unpackArchiveScript } from "./hostArchive";
import { firewallRuleset, firewallUnit, FIREWALL_FILE, FIREWALL_UNIT } from "./hostFirewall";
import { DbEngine, HostRole, installScript } from "./hostPackages";
import { Inventory, InventoryRole } from "./hostsInventory";
import {
    authorizedKeysLine,
    authorizeScript,
    pushDir,
    PUSH_DIR_ENV,
    pushKeygenScript,
    pushKeyRemoveScript,
    pushKnownHosts,
    pushMarker,
    pushPeersText,
} from "./hostPush";
import { shellQuote } from "../shared/shell";
import {
    environmentFile,
    envFile,
    fileManifestScript,
    imageLayout,
    mountUnit,
    mountUnitName,
    removeServiceScript,
    serviceUnit,
    startScript,
    unitName,
} from "./systemdUnit";
import { DeployedService, FileSpec, ListenSpec, Placement, PortSpec, ServiceSpec, VolumeSpec } from "./types";

export interface HostsPlacementArgs {
    inventory: Inventory;
    /** SSH private key for every host and the bastion (a config secret). */
    privateKey: pulumi.Input<string>;
    /** Jump host to reach the hosts through, with its pinned SSH host key ("<type> <base64>"). */
    bastion?: { host: string; port?: number; user?: string; hostKey?: string };
    /** Connect to a host or bastion without a pinned key, accepting any key (sshInsecureIgnoreHostKeys). @default false */
    insecureIgnoreHostKeys?: boolean;
    engine: DbEngine;
    /** CIDRs that may reach the balancer's status page through the host firewall. @default [] */
    adminAllowlist?: string[];
    /** Run each machine's node-exporter (the Monitoring layer is on). @default false */
    nodeExporter?: boolean;
    /** Directory holding the images' entrypoints and Dockerfiles. @default "<project>/images" */
    imagesDir?: string;
}

/** The package roles a host needs for its inventory roles, and for the services placed beside them (the ACME service). */
export function packageRoles(roles: InventoryRole[], services: string[] = []): HostRole[] {
    const map: Record<InventoryRole, HostRole> = {
        balancer: "balancer",
        web: "web",
        nfs: "nfs",
        "db-master": "db",
        "db-replica": "db",
        redis: "redis",
        sentinel: "redis",
        monitoring: "monitoring",
        push: "push",
    };
    return [...new Set([...roles.map((r) => map[r]), ...(services.includes("acme") ? (["acme"] as const) : [])])];
}

/** A file as written on a host: mode and group from its FileSpec. */
export interface HostFile {
    path: string;
    content: pulumi.Input<string>;
    mode: string;
    group?: string;
}

/** A file on a host, with the mode and group every placement gives it (fileMode). */
export function hostFile(f: FileSpec): HostFile {
    return { path: f.path, content: f.content, ...fileMode(f) };
}

/** The command that writes a file from stdin, atomically for its readers (install writes a new inode). */
export function writeCommand(f: HostFile): string {
    return `install -D -m ${f.mode}${f.group ? ` -g ${f.group}` : ""} /dev/stdin ${shellQuote(f.path)}`;
}

/** How a service's volumes become things on a host: directories, NFS mount units, or paths the user mounted. */
export function hostVolumes(volumes: VolumeSpec[]): {
    dirs: string[];
    mounts: Array<{ unit: string; file: HostFile; path: string }>;
    mounted: string[];
} {
    const dirs: string[] = [];
    const mounts: Array<{ unit: string; file: HostFile; path: string }> = [];
    const mounted: string[] = [];
    for (const v of volumes) {
        switch (v.kind) {
            case "data":
            case "shared":
                dirs.push(v.path);
                break;
            case "nfs": {
                const unit = mountUnitName(v.path);
                mounts.push({
                    unit,
                    path: v.path,
                    file: {
                        path: `/etc/systemd/system/${unit}`,
                        mode: "0644",
                        content: mountUnit({ what: `${v.server}:${v.exportPath}`, where: v.path, type: "nfs4", options: v.options }),
                    },
                });
                break;
            }
            case "mounted":
                mounted.push(v.path);
                break;
        }
    }
    return { dirs, mounts, mounted };
}

/** A script as root: as it is for root, through `sudo -n` (passwordless sudo, no prompt) for any other SSH user. */
export function asRoot(user: string, script: string): string {
    return user === "root" ? script : `sudo -n sh -c ${shellQuote(script)}`;
}

/** A short, stable resource-name part for a path. */
const slug = (p: string) =>
    p
        .replace(/^\/+/, "")
        .replace(/[^A-Za-z0-9]+/g, "-")
        .toLowerCase();
const digestOf = (contents: unknown[]) => createHash("sha256").update(JSON.stringify(contents)).digest("hex").slice(0, 16);

export class HostsPlacement extends pulumi.ComponentResource implements Placement {
    readonly kind = "hosts";
    readonly dnsResolver = undefined;
    private readonly ready = new Map<string, pulumi.Resource>();
    private readonly lastStart = new Map<string, pulumi.Resource>();
    /** Per host: path → the service that writes it (generated files) or "image:<role>" (an image's own files). */
    private readonly written = new Map<string, Map<string, string>>();
    /** Per host and image: the commands that wrote the image's own files (later services of that image wait on them). */
    private readonly imageWrites = new Map<string, command.remote.Command[]>();
    /** Per host: the ports its services listen on (`ServiceSpec.listens`), which its firewall opens. */
    private readonly listens = new Map<string, ListenSpec[]>();
    /** Resolves once every service has been handed over (see `allHandedOver`). */
    private handedOver?: Promise<void>;
    private closed = false;

    constructor(
        private readonly name: string,
        private readonly args: HostsPlacementArgs,
        opts?: pulumi.ComponentResourceOptions,
    ) {
        // Refused before any resource exists: a connection without a pinned key accepts whichever machine answers.
        const unpinnedHosts = args.inventory.hosts.filter((h) => !h.hostKey).map((h) => h.name);
        const unpinnedBastion = args.bastion !== undefined && !args.bastion.hostKey;
        if (!args.insecureIgnoreHostKeys && (unpinnedHosts.length || unpinnedBastion)) {
            const what = [...unpinnedHosts.map((h) => `host ${h}`), ...(unpinnedBastion ? ["the bastion"] : [])];
            throw new Error(
                `${name}: no SSH host key pinned for ${what.join(", ")}; set hostKey (sshBastionHostKey), or insecureIgnoreHostKeys for a lab`,
            );
        }
        super("bitrix:placement:Hosts", name, {}, opts);
        const ignored = [...unpinnedHosts, ...(unpinnedBastion ? ["bastion"] : [])];
        if (ignored.length)
            void pulumi.log.warn(
                `SSH host keys NOT checked for ${ignored.join(", ")} (sshInsecureIgnoreHostKeys): whoever answers there receives every secret`,
                this,
            );
        this.registerOutputs({ hosts: args.inventory.hosts.map((h) => `${h.name}=${h.address}`) });
    }

    /** Every service is at its host's address. */
    addressOf(service: string): string {
        return this.hostFor(service).address;
    }

    hostOf(service: string): string {
        return this.hostFor(service).address;
    }

    /** A service on a host is reached on its own port at the host's address. */
    reach(service: string, port: PortSpec): { host: string; port: number } {
        return { host: this.hostOf(service), port: port.internal };
    }

    sourcesOf(services: string[]): string[] {
        return [...new Set(services.map((s) => `${this.hostOf(s)}/32`))];
    }

    deploy(parent: pulumi.ComponentResource, spec: ServiceSpec): DeployedService {
        if ("pull" in spec.image) {
            throw new Error(`${spec.service}: ${spec.image.pull} is a container image; engine "percona" on hosts is not implemented yet`);
        }
        const archive = "archive" in spec.image ? spec.image.archive : undefined;
        if (archive && !spec.command) throw new Error(`${spec.service}: a service run from an archive needs its command`);
        const role = "role" in spec.image ? spec.image.role : `archive:${archive!.into}`;
        const host = this.hostFor(spec.service);
        if (this.closed) {
            throw new Error(
                `${spec.service}: handed to the hosts placement after the host firewalls were written; deploy every service while the program builds the stack, not in a callback`,
            );
        }
        this.listens.set(host.name, [...(this.listens.get(host.name) ?? []), ...(spec.listens ?? [])]);
        const connection = this.connection(host);
        const root = (script: string) => asRoot(host.user, script);
        const ready = this.prepare(host, connection);
        const unit = unitName(spec.service);
        const image = archive ? { entrypoint: [], cmd: [], copies: [] } : imageLayout(this.args.imagesDir ?? defaultImagesDir(), role);
        const volumes = hostVolumes(spec.volumes ?? []);
        const push = this.pushSetup(parent, spec, host, connection, ready);
        const imageFiles: HostFile[] = image.copies.map((c) => ({
            path: c.target,
            content: fs.readFileSync(c.source, "utf8"),
            mode: fs.statSync(c.source).mode & 0o111 ? "0755" : "0644",
        }));
        const runtime: HostFile[] = [
            {
                path: envFile(spec.service),
                content: pulumi.all({ ...spec.env, ...push.env }).apply((env) => environmentFile(env)),
                mode: "0600",
            },
            {
                path: `/etc/systemd/system/${unit}`,
                mode: "0644",
                content: serviceUnit({
                    service: spec.service,
                    entrypoint: image.entrypoint,
                    command: spec.command ?? image.cmd,
                    stopGraceS: spec.stopGraceS,
                    memoryMb: spec.memoryMb,
                    reload: spec.reload,
                    requiresMountsFor: volumes.mounts.map((m) => m.path),
                }),
            },
            ...volumes.mounts.map((m) => m.file),
        ];
        const generated = [...spec.files.map(hostFile), ...push.files];
        const files = [...imageFiles, ...generated, ...runtime];
        const claimed = this.claim(host.name, spec.service, role, files, imageFiles.length);
        // One file after the other: sshd drops new connections beyond MaxStartups (Debian: 10 unauthenticated at
        // once), and a service writes some twenty files. A file step deletes nothing: the service's start step removes
        // the files it no longer owns, and its delete step all of them, each in one SSH session.
        let lastWrite: command.remote.Command | undefined;
        const write = (f: HostFile): command.remote.Command => {
            lastWrite = new command.remote.Command(
                `${spec.resourceName}-file-${slug(f.path)}`,
                {
                    connection,
                    create: root(writeCommand(f)),
                    stdin: f.content,
                    logging: "stderr",
                },
                { parent, dependsOn: [ready, ...(lastWrite ? [lastWrite] : [])] },
            );
            return lastWrite;
        };
        // The image's own files stay on delete: another service of the same image on this host may run from them.
        const imageKey = `${host.name}/${role}`;
        if (!this.imageWrites.has(imageKey)) this.imageWrites.set(imageKey, claimed.imageFiles.map(write));
        lastWrite = undefined;
        const writes: pulumi.Resource[] = claimed.serviceFiles.map(write);
        const upload = archive && this.uploadArchive(spec, archive, host, connection, parent, ready);
        if (upload) writes.push(upload.copy);
        const owned = claimed.serviceFiles.map((f) => f.path);
        // A change of the unit, its environment or the image's files needs a restart; of the generated config, a reload.
        const restartDigest = pulumi
            .all([...imageFiles, ...runtime].map((f) => f.content))
            .apply((contents) => digestOf(archive ? [...contents, archive.sha256] : contents));
        const digest = pulumi.all(files.map((f) => f.content)).apply(digestOf);
        const family = spec.service.replace(/-\d+$/, "");
        const previous = this.lastStart.get(family);
        const start = new command.remote.Command(
            `${spec.resourceName}-start`,
            {
                connection,
                create: pulumi.all([digest, restartDigest]).apply(([all, restart]) =>
                    root(
                        `# generated files ${all}\n${fileManifestScript(spec.service, owned)}\n${upload ? `${upload.unpack}\n` : ""}${startScript(
                            spec.service,
                            spec.health,
                            {
                                restartDigest: restart,
                                reloadable: (spec.reload ?? []).length > 0,
                                dirs: volumes.dirs,
                                mounts: volumes.mounts.map((m) => m.unit),
                                mounted: volumes.mounted,
                            },
                        )}`,
                    ),
                ),
                delete: root(`${removeServiceScript(spec.service, owned)}${upload ? `\n${upload.remove}` : ""}`),
                logging: "stderr",
            },
            {
                parent,
                dependsOn: [
                    ...writes,
                    ...(this.imageWrites.get(imageKey) ?? []),
                    ...(spec.dependsOn ?? []),
                    ...push.steps,
                    ...(previous ? [previous] : []),
                ],
            },
        );
        this.lastStart.set(family, start);
        return { host: host.address, resource: start, ready: start };
    }

    /**
     * A service's archive (`ImageSpec.archive`): uploaded by SFTP as the SSH user to its home (only the file's hash
     * and path are in the state, not its bytes), then, in the service's start step, checked and unpacked by root
     * (unpackArchiveScript). The upload is the SSH user's file, so root trusts it only after the SHA-256 check.
     */
    private uploadArchive(
        spec: ServiceSpec,
        archive: { path: string; sha256: string; into: string },
        host: { name: string; user: string },
        connection: command.types.input.remote.ConnectionArgs,
        parent: pulumi.ComponentResource,
        ready: pulumi.Resource,
    ) {
        const upload = `.bitrix-cluster/${archive.into.split("/").pop()}.tar.gz`;
        const copy = new command.remote.CopyToRemote(
            `${spec.resourceName}-archive`,
            { connection, source: new pulumi.asset.FileAsset(archive.path), remotePath: upload },
            { parent, dependsOn: [ready] },
        );
        return {
            copy,
            unpack: unpackArchiveScript({ sshUser: host.user, upload, dir: archive.into, sha256: archive.sha256 }),
            remove: `rm -rf -- ${shellQuote(archive.into)}; rm -f -- "$(getent passwd ${shellQuote(host.user)} | cut -d: -f6)"/${shellQuote(upload)}`,
        };
    }

    /**
     * `ServiceSpec.pushesTo` on hosts: the push key made on the service's host (its public half is the step's output),
     * each other receiving host's authorized_keys line for it, and the service's peers and known_hosts files and
     * environment. Receivers on the service's own host read the shared directory itself.
     */
    private pushSetup(
        parent: pulumi.ComponentResource,
        spec: ServiceSpec,
        host: Inventory["hosts"][number],
        connection: command.types.input.remote.ConnectionArgs,
        ready: pulumi.Resource,
    ): { files: HostFile[]; env: Record<string, string>; steps: pulumi.Resource[] } {
        const to = spec.pushesTo;
        const peers = to ? [...new Set(to.services.map((s) => this.hostFor(s)))].filter((h) => h.name !== host.name) : [];
        if (!to || peers.length === 0) return { files: [], env: {}, steps: [] };
        const unpinned = peers.filter((p) => !p.hostKey).map((p) => p.name);
        if (unpinned.length)
            throw new Error(
                `${spec.service} pushes to ${unpinned.join(", ")} over SSH, which needs each receiving host's key pinned (hostKey); sshInsecureIgnoreHostKeys does not cover it`,
            );
        const dir = pushDir(spec.service);
        const keygen = new command.remote.Command(
            `${spec.resourceName}-push-key`,
            {
                connection,
                create: asRoot(host.user, pushKeygenScript(spec.service)),
                delete: asRoot(host.user, pushKeyRemoveScript(spec.service)),
                logging: "stderr",
            },
            { parent, dependsOn: [ready] },
        );
        const marker = pushMarker(this.name, spec.service);
        const steps = peers.map((peer) => {
            const peerConnection = this.connection(peer);
            const imageWrites = [...this.imageWrites.entries()].filter(([k]) => k.startsWith(`${peer.name}/`)).flatMap(([, w]) => w);
            return new command.remote.Command(
                `${spec.resourceName}-push-authorize-${peer.name}`,
                {
                    connection: peerConnection,
                    create: asRoot(peer.user, authorizeScript(peer.user, marker, { add: true })),
                    stdin: keygen.stdout.apply(
                        (publicKey) =>
                            `${authorizedKeysLine({ publicKey, user: peer.user, receiver: to.receiver, from: host.address, marker })}\n`,
                    ),
                    delete: asRoot(peer.user, authorizeScript(peer.user, marker, { add: false })),
                    logging: "stderr",
                },
                { parent, dependsOn: [this.prepare(peer, peerConnection), ...imageWrites] },
            );
        });
        const list = peers.map((p) => ({ name: p.name, address: p.address, port: p.port, user: p.user, hostKey: p.hostKey! }));
        return {
            files: [
                { path: `${dir}/peers`, content: pushPeersText(list), mode: "0644" },
                { path: `${dir}/known_hosts`, content: pushKnownHosts(list), mode: "0644" },
            ],
            env: { [PUSH_DIR_ENV]: dir },
            steps: [keygen, ...steps],
        };
    }

    /**
     * Two services on one host must not write the same path (in containers each had its own filesystem): the
     * image's own files (the first `imageFiles`) are written once per host and image; a generated file claimed twice
     * is refused.
     */
    private claim<T extends { path: string }>(host: string, service: string, role: string, files: T[], imageFiles: number) {
        const owners = this.written.get(host) ?? new Map<string, string>();
        this.written.set(host, owners);
        const imageOwner = `image:${role}`;
        const fresh = files.slice(0, imageFiles).filter((f) => owners.get(f.path) !== imageOwner);
        for (const f of [...fresh, ...files.slice(imageFiles)]) {
            const previous = owners.get(f.path);
            if (previous !== undefined) {
                throw new Error(
                    `${service} and ${previous.replace(/^image:/, "the image of ")} both write ${f.path} on host ${host}; put these roles on different hosts`,
                );
            }
            owners.set(f.path, files.indexOf(f) < imageFiles ? imageOwner : service);
        }
        return { imageFiles: fresh, serviceFiles: files.slice(imageFiles) };
    }

    /**
     * A host's firewall needs the ports of all its services, but is made when the first of them arrives (everything
     * on the host waits for it). The layers hand their services over while the program builds the stack, in one
     * synchronous run; this resolves in the turn after it, and a service handed over later is refused in `deploy`.
     */
    private allHandedOver(): Promise<void> {
        this.handedOver ??= new Promise((resolve) =>
            setImmediate(() => {
                this.closed = true;
                resolve();
            }),
        );
        return this.handedOver;
    }

    private hostFor(service: string) {
        const name = this.args.inventory.services[service];
        const host = this.args.inventory.hosts.find((h) => h.name === name);
        if (!host)
            throw new Error(`no host carries ${service}; the host list assigns ${Object.keys(this.args.inventory.services).join(", ")}`);
        return host;
    }

    /** How to reach a host: its pinned host key, and the bastion's on the proxy hop (the provider checks both). */
    private connection(host: { address: string; port: number; user: string; hostKey?: string }): command.types.input.remote.ConnectionArgs {
        const b = this.args.bastion;
        return {
            host: host.address,
            port: host.port,
            user: host.user,
            privateKey: this.args.privateKey,
            ...(host.hostKey ? { hostKey: host.hostKey } : {}),
            proxy: b && {
                host: b.host,
                port: b.port ?? 22,
                user: b.user ?? "root",
                privateKey: this.args.privateKey,
                ...(b.hostKey ? { hostKey: b.hostKey } : {}),
            },
        };
    }

    /**
     * Per host, once: the install step for all its roles (run again only when the script changes), then the firewall
     * (its rules file and unit from stdin, loaded before any service starts). Everything else on the host waits for it.
     */
    private prepare(host: Inventory["hosts"][number], connection: command.types.input.remote.ConnectionArgs): pulumi.Resource {
        const ready = this.ready.get(host.name);
        if (ready) return ready;
        const opts = { parent: this };
        const root = (script: string) => asRoot(host.user, script);
        const install = new command.remote.Command(
            `${this.name}-${host.name}-install`,
            {
                connection,
                create: root(
                    installScript(
                        packageRoles(
                            host.roles,
                            Object.keys(this.args.inventory.services).filter((s) => this.args.inventory.services[s] === host.name),
                        ),
                        this.args.engine,
                        { nodeExporter: this.args.nodeExporter },
                    ),
                ),
                logging: "stderr",
            },
            opts,
        );
        // Written from every service the host carries, so it waits until all of them have been handed over.
        const rules = pulumi.output(
            this.allHandedOver().then(() =>
                firewallRuleset({
                    roles: host.roles,
                    listens: this.listens.get(host.name) ?? [],
                    clusterAddresses: this.args.inventory.hosts.map((h) => h.address),
                    adminAllowlist: this.args.adminAllowlist ?? [],
                    nodeExporter: this.args.nodeExporter,
                }),
            ),
        );
        const unitPath = `/etc/systemd/system/${FIREWALL_UNIT}`;
        const firewall = new command.remote.Command(
            `${this.name}-${host.name}-firewall`,
            {
                connection,
                // The rules travel on stdin; the unit file is fixed text. `nft -c` checks before anything is replaced.
                create: root(
                    [
                        "set -eu",
                        `install -D -m 0600 /dev/stdin ${FIREWALL_FILE}.new`,
                        `nft -c -f ${FIREWALL_FILE}.new`,
                        `mv ${FIREWALL_FILE}.new ${FIREWALL_FILE}`,
                        `printf '%s' ${shellQuote(firewallUnit())} > ${unitPath}`,
                        "systemctl daemon-reload",
                        `systemctl enable ${FIREWALL_UNIT} >/dev/null 2>&1`,
                        `systemctl restart ${FIREWALL_UNIT}`,
                    ].join("\n"),
                ),
                stdin: rules,
                delete: root(
                    `systemctl disable --now ${FIREWALL_UNIT} >/dev/null 2>&1 || true; rm -f ${unitPath} ${FIREWALL_FILE}; systemctl daemon-reload`,
                ),
                logging: "stderr",
            },
            { ...opts, dependsOn: [install] },
        );
        this.ready.set(host.name, firewall);
        return firewall;
    }
}
