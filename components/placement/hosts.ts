/**
 * Placement on the user's machines over SSH (issue 4, in progress — not selectable from config yet): per host one
 * idempotent install step for its roles, then per service its image's entrypoint, its generated files and a systemd
 * unit written from stdin (a secret never reaches a command line), and a start step that restarts the unit and waits
 * for its health command. A changed file re-runs its own write step and the service's start step (the start step
 * carries a digest of everything it runs from); services of one role restart one at a time; removing a service
 * disables its unit and removes its files.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { defaultImagesDir } from "./docker";
import { DbEngine, HostRole, installScript } from "./hostPackages";
import { Inventory, InventoryRole } from "./hostsInventory";
import { shellQuote } from "../shared/shell";
import { environmentFile, envFile, imageLayout, serviceUnit, startScript, unitName } from "./systemdUnit";
import { DeployedService, FileSpec, Placement, ServiceSpec } from "./types";

export interface HostsPlacementArgs {
    inventory: Inventory;
    /** SSH private key for every host (a config secret). */
    privateKey: pulumi.Input<string>;
    /** Jump host to reach the hosts through. */
    bastion?: { host: string; port?: number; user?: string };
    engine: DbEngine;
    /** Directory holding the images' entrypoints and Dockerfiles. @default "<project>/images" */
    imagesDir?: string;
}

/** The package roles a host needs for its inventory roles. */
export function packageRoles(roles: InventoryRole[]): HostRole[] {
    const map: Record<InventoryRole, HostRole> = {
        balancer: "balancer", web: "web", nfs: "nfs", "db-master": "db", "db-replica": "db", redis: "redis", sentinel: "redis",
    };
    return [...new Set(roles.map((r) => map[r]))];
}

/** A short, stable resource-name part for a path. */
const slug = (p: string) => p.replace(/^\/+/, "").replace(/[^A-Za-z0-9]+/g, "-").toLowerCase();

export class HostsPlacement extends pulumi.ComponentResource implements Placement {
    readonly kind = "hosts";
    readonly fixedAddress: string;
    readonly dnsResolver = undefined;
    private readonly installs = new Map<string, command.remote.Command>();
    private readonly lastStart = new Map<string, pulumi.Resource>();
    /** Per host: path → the service that writes it (generated files) or "image:<role>" (an image's own files). */
    private readonly written = new Map<string, Map<string, string>>();
    /** Per host and image: the commands that wrote the image's own files (later services of that image wait on them). */
    private readonly imageWrites = new Map<string, command.remote.Command[]>();

    constructor(private readonly name: string, private readonly args: HostsPlacementArgs, opts?: pulumi.ComponentResourceOptions) {
        super("bitrix:placement:Hosts", name, {}, opts);
        this.fixedAddress = this.hostFor("nfs").address;
        this.registerOutputs({ hosts: args.inventory.hosts.map((h) => h.address) });
    }

    hostOf(service: string): string {
        return this.hostFor(service).address;
    }

    deploy(parent: pulumi.ComponentResource, spec: ServiceSpec): DeployedService {
        if ("pull" in spec.image) {
            throw new Error(`${spec.service}: ${spec.image.pull} is a container image; engine "percona" on hosts is not implemented yet`);
        }
        const role = spec.image.role;
        const host = this.hostFor(spec.service);
        const connection = this.connection(host);
        const install = this.install(host, connection);
        const imagesDir = this.args.imagesDir ?? defaultImagesDir();
        const unit = unitName(spec.service);
        const image = imageLayout(imagesDir, role);
        const files: Array<FileSpec & { mode: string }> = [
            // The image's own files at the image's paths (entrypoint, supervisord.conf, ...), modes as in the context.
            ...image.copies.map((c) => ({ path: c.target, content: fs.readFileSync(c.source, "utf8"), mode: (fs.statSync(c.source).mode & 0o111) ? "0755" : "0644" })),
            ...spec.files.map((f) => ({ ...f, mode: f.executable ? "0755" : "0644" })),
            { path: envFile(spec.service), content: pulumi.all(spec.env ?? {}).apply((env) => environmentFile(env as Record<string, string>)), mode: "0600" },
            {
                path: `/etc/systemd/system/${unit}`, mode: "0644",
                content: serviceUnit({ service: spec.service, entrypoint: image.entrypoint, command: spec.command ?? image.cmd, stopGraceS: spec.stopGraceS, memoryMb: spec.memoryMb }),
            },
        ];
        const claimed = this.claim(host.name, spec.service, role, files, image.copies.length);
        const write = (f: FileSpec & { mode: string }, keep: boolean) => new command.remote.Command(`${spec.resourceName}-file-${slug(f.path)}`, {
            connection,
            create: `install -D -m ${f.mode} /dev/stdin ${shellQuote(f.path)}`,
            stdin: f.content,
            delete: keep ? undefined : `rm -f ${shellQuote(f.path)}`,
            logging: "stderr",
        }, { parent, dependsOn: [install] });
        // The image's own files stay on delete: another service of the same image on this host may run from them.
        const imageKey = `${host.name}/${role}`;
        if (!this.imageWrites.has(imageKey)) this.imageWrites.set(imageKey, claimed.imageFiles.map((f) => write(f, true)));
        const writes = claimed.serviceFiles.map((f) => write(f, false));
        const digest = pulumi.all(files.map((f) => f.content)).apply((contents) =>
            createHash("sha256").update(JSON.stringify(contents)).digest("hex").slice(0, 16));
        const family = spec.service.replace(/-\d+$/, "");
        const previous = this.lastStart.get(family);
        const start = new command.remote.Command(`${spec.resourceName}-start`, {
            connection,
            create: pulumi.interpolate`# generated files ${digest}\n${startScript(spec.service, spec.health)}`,
            delete: `systemctl disable --now ${unit} >/dev/null 2>&1 || true; rm -f /etc/systemd/system/${unit}; systemctl daemon-reload`,
            logging: "stderr",
        }, { parent, dependsOn: [...writes, ...(this.imageWrites.get(imageKey) ?? []), ...(spec.dependsOn ?? []), ...(previous ? [previous] : [])] });
        this.lastStart.set(family, start);
        return { host: host.address, resource: start };
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
                throw new Error(`${service} and ${previous.replace(/^image:/, "the image of ")} both write ${f.path} on host ${host}; ` +
                    "per-service config directories on hosts are not implemented yet: put these roles on different hosts");
            }
            owners.set(f.path, files.indexOf(f) < imageFiles ? imageOwner : service);
        }
        return { imageFiles: fresh, serviceFiles: files.slice(imageFiles) };
    }

    private hostFor(service: string) {
        const name = this.args.inventory.services[service];
        const host = this.args.inventory.hosts.find((h) => h.name === name);
        if (!host) throw new Error(`no host carries ${service}; the inventory assigns ${Object.keys(this.args.inventory.services).join(", ")}`);
        return host;
    }

    private connection(host: { address: string; port: number; user: string }): command.types.input.remote.ConnectionArgs {
        const b = this.args.bastion;
        return {
            host: host.address, port: host.port, user: host.user, privateKey: this.args.privateKey,
            proxy: b && { host: b.host, port: b.port ?? 22, user: b.user ?? "root", privateKey: this.args.privateKey },
        };
    }

    /** One install step per host, for all its roles (run again only when the script changes). */
    private install(host: Inventory["hosts"][number], connection: command.types.input.remote.ConnectionArgs): command.remote.Command {
        let install = this.installs.get(host.name);
        if (!install) {
            install = new command.remote.Command(`${this.name}-${host.name}-install`, {
                connection, create: installScript(packageRoles(host.roles), this.args.engine), logging: "stderr",
            }, { parent: this });
            this.installs.set(host.name, install);
        }
        return install;
    }
}
