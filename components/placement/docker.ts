/**
 * Placement on one Docker engine: a per-stack network, images built from `images/<role>`, named volumes and one
 * container per service with the generated files uploaded before it starts.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ipv4At } from "../config/checks";
import { dockerAddressing, pinnedSlot } from "./dockerAddressing";
import { ContainerLogs, containerLogOptions } from "./containerLogs";
import { fileGroupsEnv, fileMode } from "./fileMode";
import { readinessGateScript } from "./readinessGate";
import { rotationGateScript } from "./rotationGate";
import { DeployedService, HealthSpec, ImageSpec, Placement, PortSpec, ServiceSpec, VolumeSpec } from "./types";

export interface DockerPlacementArgs {
    /** Prefix of every Docker object's name (unique per stack). */
    prefix: string;
    /** Subnet of the stack network. */
    subnet: string;
    /** Host address that published ports bind to. @default "127.0.0.1" */
    bindAddress?: string;
    /** Directory holding the Dockerfiles. @default "<project>/images" */
    imagesDir?: string;
    /** Base image the Dockerfiles build FROM. @default "debian:bookworm-slim" */
    baseImage?: string;
    /** Mark the volumes that hold data `protect`: Pulumi then refuses to replace or delete them. @default false */
    protectData?: boolean;
    /** How containers log: Docker's rotated `local` driver with a size cap, or the engine's own default.
     * @default { driver: "local", maxMb: 100 } */
    logs?: ContainerLogs;
}

/** Docker's embedded DNS server, present in every container on a user-defined network. */
export const DOCKER_DNS = "127.0.0.11:53";

/** Short digest of a health check's command and timings. */
export function healthDigest(h: HealthSpec): string {
    return createHash("sha256")
        .update(JSON.stringify([h.command, h.intervalS, h.timeoutS, h.retries, h.startPeriodS]))
        .digest("hex")
        .slice(0, 16);
}

/**
 * A duration as Go prints it (`time.Duration.String()`: "500ms", "2s", "1m0s", "1h30m0s"). The docker provider reads
 * a container's health check back in this form, so the program sends it the same way or every `up` shows a diff.
 */
export function goDuration(seconds: number): string {
    if (!Number.isFinite(seconds) || seconds < 0) throw new Error(`goDuration: ${seconds} is not a duration`);
    const ms = Math.round(seconds * 1000);
    if (ms === 0) return "0s";
    if (ms < 1000) return `${ms}ms`;
    const h = Math.floor(ms / 3_600_000);
    const m = Math.floor((ms % 3_600_000) / 60_000);
    const s = (ms % 60_000) / 1000;
    return `${h ? `${h}h` : ""}${h || m ? `${m}m` : ""}${s}s`;
}

/** The engine platform images are built for ("linux/amd64"), stated so the provider need not guess and warn. */
export function dockerPlatform(arch: string = process.arch): string {
    const names: Record<string, string> = {
        x64: "amd64",
        arm64: "arm64",
        arm: "arm",
        ppc64: "ppc64le",
        s390x: "s390x",
        riscv64: "riscv64",
    };
    const name = names[arch];
    if (!name) throw new Error(`no Docker platform name for the CPU architecture ${arch}`);
    return `linux/${name}`;
}

/**
 * The build context as the provider should record it: relative to the program's directory (where Pulumi runs the
 * program and the plugin) when it lies inside it, so a stack previewed from another checkout (a PR runner, a clone)
 * sees the same input and no rebuild; absolute otherwise.
 */
export function buildContext(dir: string, cwd: string = process.cwd()): string {
    const rel = path.relative(cwd, dir);
    return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : dir;
}

/** The project's `images/` directory: next to the nearest Pulumi.yaml above this file (source or compiled). */
export function defaultImagesDir(from = __dirname): string {
    for (let dir = from; ; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return path.join(dir, "images");
        if (path.dirname(dir) === dir) throw new Error(`no Pulumi.yaml above ${from}: pass imagesDir to DockerPlacement`);
    }
}

export class DockerPlacement extends pulumi.ComponentResource implements Placement {
    readonly kind = "docker";
    readonly network: docker.Network;
    readonly dnsResolver = DOCKER_DNS;
    private readonly images = new Map<string, pulumi.Output<string>>();
    private readonly sharedVolumes = new Map<string, docker.Volume>();

    constructor(
        private readonly name: string,
        private readonly args: DockerPlacementArgs,
        opts?: pulumi.ComponentResourceOptions,
    ) {
        super("bitrix:placement:Docker", name, {}, opts);
        const addressing = dockerAddressing(args.subnet);
        this.network = new docker.Network(
            `${name}-network`,
            {
                name: `${args.prefix}-net`,
                driver: "bridge",
                ipamConfigs: [{ subnet: args.subnet, gateway: addressing.gateway, ipRange: addressing.dynamicRange }],
                labels: [{ label: "bitrix-cluster.prefix", value: args.prefix }],
            },
            { parent: this, deleteBeforeReplace: true },
        );
        this.registerOutputs({ network: this.network.name });
    }

    hostOf(service: string): string {
        return `${this.args.prefix}-${service}`;
    }

    /** The address pinned for the service in the lower half of the subnet (the NFS server, balancer-N). */
    addressOf(service: string): string {
        const slot = pinnedSlot(service);
        if (slot === undefined)
            throw new Error(`${service}: Docker hands out its address at start; only the NFS server and the balancers have fixed ones`);
        return ipv4At(this.args.subnet, slot);
    }

    reach(_service: string, port: PortSpec): { host: string; port: number } {
        return { host: this.args.bindAddress ?? "127.0.0.1", port: port.published };
    }

    /** Every container of the stack talks from the stack network. */
    sourcesOf(): string[] {
        return [this.args.subnet];
    }

    deploy(parent: pulumi.ComponentResource, spec: ServiceSpec): DeployedService {
        const host = this.hostOf(spec.service);
        // Docker names are fixed per stack, so a replacement must delete the old object before creating the new one.
        const opts: pulumi.CustomResourceOptions = { parent, dependsOn: spec.dependsOn, deleteBeforeReplace: true };
        const volumes = (spec.volumes ?? []).map((v) => ({
            volumeName: this.volume(parent, spec, v).name,
            containerPath: v.path,
        }));
        const fileGroups = fileGroupsEnv(spec.files);
        const container = new docker.Container(
            spec.resourceName,
            {
                name: host,
                hostname: host,
                image: this.image(spec.image),
                command: spec.command,
                envs: Object.entries({ ...spec.env, ...(fileGroups ? { BITRIX_FILE_GROUPS: fileGroups } : {}) }).map(
                    ([k, v]) => pulumi.interpolate`${k}=${v}`,
                ),
                networksAdvanced: [
                    {
                        name: this.network.name,
                        aliases: [spec.service],
                        ipv4Address: pinnedSlot(spec.service) === undefined ? undefined : this.addressOf(spec.service),
                    },
                ],
                volumes,
                ports: (spec.ports ?? []).map((p) => ({
                    internal: p.internal,
                    external: p.published,
                    ip: this.args.bindAddress ?? "127.0.0.1",
                })),
                // The same modes as on hosts: a secret is 0600 (0640 for its reading group), never world-readable.
                uploads: spec.files.map((f) => ({ file: f.path, content: f.content, permissions: fileMode(f).mode })),
                healthcheck: spec.health && {
                    tests: ["CMD-SHELL", spec.health.command],
                    interval: goDuration(spec.health.intervalS),
                    timeout: goDuration(spec.health.timeoutS),
                    retries: spec.health.retries,
                    startPeriod: goDuration(spec.health.startPeriodS),
                },
                capabilities: spec.capabilities?.length ? { adds: spec.capabilities } : undefined,
                memory: spec.memoryMb ? spec.memoryMb : undefined,
                // Docker doubles the limit for memory + swap when it is not given and the provider reads that back; the
                // same value as `memory` means no swap (a database or Redis that swaps is down in all but name).
                memorySwap: spec.memoryMb ? spec.memoryMb : undefined,
                ...containerLogOptions(this.args.logs ?? { driver: "local", maxMb: 100 }),
                restart: "unless-stopped",
                // The docker provider kills a container at once on delete unless given a grace period.
                destroyGraceSeconds: spec.stopGraceS ?? 10,
                mustRun: true,
                // Not the provider's wait (Docker's health status, polled once a second, first set one interval
                // after the start): the readiness gate below runs the check itself (readinessGate.ts).
                wait: false,
                labels: [
                    { label: "bitrix-cluster.prefix", value: this.args.prefix },
                    { label: "bitrix-cluster.service", value: spec.service },
                    // The docker provider records a changed health check without applying it; a changed label replaces
                    // the container, so the new check really runs.
                    ...(spec.health ? [{ label: "bitrix-cluster.health-digest", value: healthDigest(spec.health) }] : []),
                ],
            },
            opts,
        );
        const resource = spec.health ? this.readinessGate(parent, spec, spec.health, container) : container;
        return { host, resource, ready: spec.inRotation ? this.rotationGate(parent, spec, resource, container) : resource };
    }

    /** Waits, after each (re)creation of the container, until its health command passes; dependents wait on this. */
    private readinessGate(
        parent: pulumi.ComponentResource,
        spec: ServiceSpec,
        health: HealthSpec,
        container: docker.Container,
    ): pulumi.Resource {
        return new command.local.Command(
            `${spec.resourceName}-ready`,
            {
                create: readinessGateScript({ container: this.hostOf(spec.service), health }),
                // A new container (new id) runs the gate again.
                triggers: [container.id],
            },
            { parent, dependsOn: [container] },
        );
    }

    /** Waits, after each (re)creation of the container, until the running balancers report the service UP. */
    private rotationGate(
        parent: pulumi.ComponentResource,
        spec: ServiceSpec,
        after: pulumi.Resource,
        container: docker.Container,
    ): pulumi.Resource {
        return new command.local.Command(
            `${spec.resourceName}-in-rotation`,
            {
                create: rotationGateScript({
                    server: spec.inRotation!.server,
                    balancers: spec.inRotation!.balancers.map((b) => this.hostOf(b)),
                    statusPort: spec.inRotation!.statusPort,
                }),
                // A new container (new id) runs the gate again.
                triggers: [container.id],
            },
            { parent, dependsOn: [after] },
        );
    }

    /** The image of a role, built once per stack; a pulled image for `{ pull }`. */
    private image(spec: ImageSpec): pulumi.Output<string> {
        if ("archive" in spec) throw new Error(`${spec.archive.path}: an archive runs on placement hosts only; on Docker give an image`);
        const key = "pull" in spec ? `pull:${spec.pull}` : spec.role;
        let image = this.images.get(key);
        if (!image) {
            if ("pull" in spec) {
                image = new docker.RemoteImage(
                    `${this.name}-image-${spec.pull.replace(/[^a-z0-9]+/g, "-")}`,
                    {
                        name: spec.pull,
                        keepLocally: true,
                    },
                    { parent: this },
                ).imageId;
            } else {
                const context = buildContext(path.join(this.args.imagesDir ?? defaultImagesDir(), spec.role));
                image = new docker.Image(
                    `${this.name}-image-${spec.role}`,
                    {
                        imageName: `${this.args.prefix}-${spec.role}:latest`,
                        build: { context, platform: dockerPlatform(), args: { BASE_IMAGE: this.args.baseImage ?? "debian:bookworm-slim" } },
                        skipPush: true,
                    },
                    { parent: this },
                ).repoDigest;
            }
            this.images.set(key, image);
        }
        return image;
    }

    private volume(parent: pulumi.ComponentResource, spec: ServiceSpec, v: VolumeSpec): docker.Volume {
        const labels = [{ label: "bitrix-cluster.prefix", value: this.args.prefix }];
        switch (v.kind) {
            case "data":
                return new docker.Volume(
                    `${spec.resourceName}-${v.name}`,
                    {
                        name: `${this.hostOf(spec.service)}-${v.name}`,
                        labels,
                    },
                    {
                        parent,
                        retainOnDelete: v.retain,
                        protect: (this.args.protectData ?? false) && (v.precious ?? false),
                        deleteBeforeReplace: true,
                    },
                );
            case "shared": {
                // One volume per shared tree for the whole stack: the NFS server exports it, and in
                // docker-volume mode the web nodes mount it directly.
                let volume = this.sharedVolumes.get(v.name);
                if (!volume) {
                    volume = new docker.Volume(
                        `${this.name}-shared-${v.name}`,
                        {
                            name: `${this.args.prefix}-shared-${v.name}`,
                            labels,
                        },
                        {
                            parent: this,
                            retainOnDelete: v.retain,
                            protect: (this.args.protectData ?? false) && (v.precious ?? true),
                            deleteBeforeReplace: true,
                        },
                    );
                    this.sharedVolumes.set(v.name, volume);
                }
                return volume;
            }
            case "nfs":
                // dockerd mounts NFS with the host's resolver, so the server is an IP address.
                return new docker.Volume(
                    `${spec.resourceName}-nfs-${v.name}`,
                    {
                        name: `${this.hostOf(spec.service)}-nfs-${v.name}`,
                        driver: "local",
                        driverOpts: { type: "nfs", o: `addr=${v.server},${v.options}`, device: `:${v.exportPath}` },
                        labels,
                    },
                    { parent, deleteBeforeReplace: true },
                );
            case "mounted":
                throw new Error(
                    `${spec.service}: ${v.path} is an already-mounted shared path (sharedStorage "external"), which only placement "hosts" has`,
                );
        }
    }
}
