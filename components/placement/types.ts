/**
 * The seam that decides where a layer runs. Every layer component describes its services with `ServiceSpec`
 * (image, generated files, volumes, ports, health check) and hands them to a `Placement`; only the placement
 * knows whether that becomes a Docker container or, later, packages and systemd units on a host over SSH.
 */
import * as pulumi from "@pulumi/pulumi";

/** A generated file written into the service before it starts. */
export interface FileSpec {
    /** Absolute path inside the service. */
    path: string;
    /** File text; secret when it holds a password. */
    content: pulumi.Input<string>;
    /** Make the file executable. @default false */
    executable?: boolean;
    /** The file holds a password or key: on hosts it is readable by root only (or root and `group`). @default false */
    secret?: boolean;
    /** Group that must read a secret file besides root (PHP's www-data for .settings.php). */
    group?: string;
}

/** Where the service's software comes from. */
export type ImageSpec =
    /** One of the project's Dockerfiles under `images/<role>`, built on Debian. */
    | { role: "balancer" | "web" | "nfs" | "mariadb" | "redis" | "monitoring" | "acme" }
    /** A published image, pulled (the Percona path; the user's push server image on Docker). */
    | { pull: string }
    /**
     * A .tar.gz where Pulumi runs (the user's push server on hosts): uploaded to the host, checked against `sha256`
     * and unpacked by root into `into`; the service runs its `command` (required). Hosts only.
     */
    | { archive: { path: string; sha256: string; into: string } };

export type VolumeSpec =
    /** Data that belongs to this one service (database files, Redis AOF). */
    | {
          kind: "data";
          name: string;
          path: string;
          retain: boolean;
          /** Holds data that exists nowhere else (a database, Redis): protected when the placement protects data. @default false */
          precious?: boolean;
      }
    /**
     * A tree several services share (Docker: one volume per name for the stack; hosts: the directory on each machine):
     * the trees the NFS server exports and the web nodes mount, the TLS directory, the textfile collector's directory.
     */
    | {
          kind: "shared";
          name: string;
          path: string;
          retain: boolean;
          /** Holds data that exists nowhere else: protected when the placement protects data. @default true */
          precious?: boolean;
      }
    /** A shared tree mounted from the NFS server. */
    | { kind: "nfs"; name: string; path: string; server: string; exportPath: string; options: string }
    /** A shared tree the user has already mounted at this path on the machine (sharedStorage "external", hosts). */
    | { kind: "mounted"; name: string; path: string };

export interface PortSpec {
    /** Port inside the service. */
    internal: number;
    /** Port published on the host's bind address. */
    published: number;
}

/** Who may reach a port a service listens on. */
export type PortAudience =
    /** The cluster's own hosts only (internal traffic: web, NFS, database, Redis, Sentinel, metrics). */
    | "cluster"
    /** Everyone (the balancers' HTTP and HTTPS). */
    | "public"
    /** The admin allowlist, and the cluster's own hosts (status pages, Prometheus, Alertmanager). */
    | "admin";

/** A TCP port the service listens on for others, and who may reach it. */
export interface ListenSpec {
    port: number;
    from: PortAudience;
}

export interface HealthSpec {
    /** Shell command; exit 0 = healthy. */
    command: string;
    intervalS: number;
    timeoutS: number;
    retries: number;
    startPeriodS: number;
}

export interface ServiceSpec {
    /** Pulumi name of the service's resource; derives from the owning component's name. */
    resourceName: string;
    /** Service name inside the stack ("web-1", "db-master"); the placement turns it into a host name. */
    service: string;
    image: ImageSpec;
    files: FileSpec[];
    /** Process to run; the image's default when unset. */
    command?: string[];
    env?: Record<string, pulumi.Input<string>>;
    volumes?: VolumeSpec[];
    ports?: PortSpec[];
    /**
     * TCP ports the service listens on for others, and who may reach each. Hosts: the host's firewall opens exactly
     * these to their audience and drops them for everyone else; Docker: the network and `ports` decide instead.
     * @default []
     */
    listens?: ListenSpec[];
    health?: HealthSpec;
    /** Linux capabilities the service needs beyond the default set. */
    capabilities?: string[];
    /** Memory limit in MB; 0 = unlimited. */
    memoryMb?: number;
    /**
     * Seconds the service gets to stop cleanly (SIGTERM) before it is killed on replacement or removal.
     * @default 10
     */
    stopGraceS?: number;
    /** Resources that must exist first. */
    dependsOn?: pulumi.Resource[];
    /**
     * Commands that make the running service re-read its config (systemd ExecReload syntax, `$MAINPID`). On hosts a
     * change of generated files then reloads it instead of restarting; containers are replaced either way.
     */
    reload?: string[];
    /**
     * The service sits behind the balancers (a web node): after it is (re)created, `DeployedService.ready` waits
     * until every running balancer reports it UP, so a rolling update takes the next node out only then.
     * Docker: a gate run where Pulumi runs (rotationGate.ts); hosts: `ready` is the service itself (a changed
     * setting restarts the unit in place, draining first).
     */
    inRotation?: { server: string; balancers: string[]; statusPort: number };
    /**
     * The service publishes a file into its `shared` volume that these services read (the ACME service's site.pem for
     * the balancers). Docker: the volume is one, nothing else happens. Hosts: a service on another host gets the file
     * pushed over SSH (hostPush.ts): a key made on this service's host, and on each other host a forced-command line
     * in its SSH user's authorized_keys that runs `receiver` (as root: through `sudo -n` for another user).
     */
    pushesTo?: { services: string[]; receiver: string };
}

export interface DeployedService {
    /** Host name other services use to reach it. */
    host: string;
    /**
     * What dependents wait on: the service started and its health command passed once. Docker: the container's
     * readiness gate (readinessGate.ts), or the container when it has no health check; hosts: the last command.
     */
    resource: pulumi.Resource;
    /** What to depend on for the service to be in service: `resource`, or the rotation gate (`inRotation`). */
    ready: pulumi.Resource;
}

export interface Placement {
    readonly kind: string;
    /** Host name a service will have, known before it is deployed (generated config refers to it). */
    hostOf(service: string): string;
    /**
     * The service's IP address, known before it is deployed, for peers and mounts that need an address rather than
     * a name (the NFS server: dockerd mounts NFS by IP; the balancers: VRRP peers). Hosts: the host's address;
     * Docker: an address the placement pins for the NFS server and the balancers (others throw).
     */
    addressOf(service: string): string;
    /** Resolver the generated HAProxy configs use for host names; undefined = resolve once at start. */
    readonly dnsResolver?: string;
    /** Where clients outside the cluster reach a service's port (published port on Docker, the host's own port on hosts). */
    reach(service: string, port: PortSpec): { host: string; port: number };
    /** Addresses or networks the given services' connections come from (for NFS clients and trusted proxies). */
    sourcesOf(services: string[]): string[];
    /** Runs one service under `parent`. */
    deploy(parent: pulumi.ComponentResource, spec: ServiceSpec): DeployedService;
}
