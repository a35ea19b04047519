/**
 * The validated, fully defaulted description of one cluster. Everything the components need comes from here;
 * `loadClusterConfig` builds it from stack config and `validateClusterConfig` guarantees every field is sane.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Inventory } from "../placement/hostsInventory";
import type { PushArchive } from "../push/pushArchive";
import type { ContainerLogs } from "../placement/containerLogs";

export type DbEngine = "percona" | "mariadb";
export type BalancerAlgorithm = "least_conn" | "round_robin" | "ip_hash";
export type SharedStorageMode = "nfs" | "docker-volume" | "external";
export type PlacementKind = "docker" | "hosts";

/** The balancers' floating address (VRRP, keepalived), with two or more balancers. */
export interface VrrpSettings {
    /** The floating IPv4 address. @default the 5th address of dockerSubnet (Docker); required on hosts */
    address: string;
    /** Interface that carries it: "eth0" in containers, `vrrpInterface` on hosts. @default "eth0" */
    interface: string;
    /** Virtual router id, 1–255. @default derived from the name prefix */
    routerId: number;
    /** PASS authentication (VRRPv2); undefined = VRRPv3 without authentication, unicast peers only. */
    password?: pulumi.Output<string>;
}

export interface BalancerSettings {
    /** Number of balancers. @default 2 */
    count: number;
    /** Set when `count` ≥ 2. */
    vrrp?: VrrpSettings;
    /** Spreading of requests over the web nodes. @default "least_conn" */
    algorithm: BalancerAlgorithm;
    /** Affinity cookie inserted by the balancer; "" turns stickiness off. @default "BXSRV" */
    stickyCookie: string;
    /** Relative weight of each web node (index = node number - 1). @default all 1 */
    weights: number[];
    /** Interval of the active health check, in milliseconds (seed 004: every 2–3 s). @default 2000 */
    healthIntervalMs: number;
    /** Answer budget of one health check, in milliseconds (seed 004: under 0.5 s). @default 500 */
    healthTimeoutMs: number;
    /** Failed checks before a node is taken out (nginx max_fails). @default 3 */
    maxFails: number;
    /** Seconds a node stays out before it is tried again (nginx fail_timeout). @default 15 */
    failTimeoutS: number;
    /** CIDRs allowed to reach /bitrix/admin and the status page. @default private ranges and loopback */
    adminAllowlist: string[];
    /** Host name the portal answers to (used for the redirect and the self-signed certificate). @default "localhost" */
    serverName: string;
    /** HSTS max-age in seconds; 0 leaves the header out. @default 31536000 */
    hstsMaxAgeS: number;
    /** PEM certificate chain; with `tlsKey` (tlsMode "provided"). Without both, the balancers share a self-signed pair. */
    tlsCertificate?: pulumi.Output<string>;
    /** PEM private key (a config secret). */
    tlsKey?: pulumi.Output<string>;
    /** Where the certificate comes from. @default "provided" with tlsCertificate, else "self-signed" */
    tlsMode: TlsMode;
    /** With tlsMode "acme". */
    acme?: AcmeSettings;
}

export type TlsMode = "self-signed" | "provided" | "acme";

/** One ACME account and certificate for every balancer (docs/tls.md). */
export interface AcmeSettings {
    /** The CA's directory URL (presets resolved). @default Let's Encrypt production */
    directory: string;
    /** Contact e-mail of the account. */
    email: string;
    /** Names of the certificate, serverName first. @default [serverName] */
    names: string[];
    /** Extra PEM roots for the directory's HTTPS (a private CA). @default "" (system roots) */
    directoryCa: string;
    /** External Account Binding (config secrets). @default none */
    eab?: { kid: pulumi.Output<string>; hmac: pulumi.Output<string> };
}

export interface PortSettings {
    /** Address the published ports bind to on the Docker host. @default "127.0.0.1" */
    bindAddress: string;
    /** Published HTTP port of the balancer (redirects to HTTPS). @default 8080 */
    http: number;
    /** Published HTTPS port of the balancer. @default 8443 */
    https: number;
    /** Published port of the balancer's status page. @default 8404 */
    status: number;
    /** First published port of the databases (master, then replicas); 0 publishes none. @default 0 */
    dbBase: number;
    /** First published port of the sentinels; 0 publishes none. @default 0 */
    sentinelBase: number;
}

export interface WebSettings {
    /** Number of PHP web nodes. @default 2 */
    nodes: number;
    /** php.ini memory_limit in MB. @default 512 */
    phpMemoryLimitMb: number;
    /** php.ini max_execution_time in seconds. @default 60 */
    phpMaxExecutionS: number;
    /** upload_max_filesize / post_max_size in MB. @default 64 */
    uploadMaxMb: number;
    /** PHP-FPM pm.max_children per node. @default 16 */
    fpmMaxChildren: number;
    /** date.timezone. @default "UTC" */
    timezone: string;
}

export interface DatabaseSettings {
    /** Database engine. @default "percona" */
    engine: DbEngine;
    /** Number of read replicas. @default 1 */
    replicas: number;
    /** Application database name. @default "bitrix" */
    name: string;
    /** Application database user. @default "bitrix" */
    user: string;
    /** InnoDB redo log size in MB. @default 1024 */
    redoLogMb: number;
    /** InnoDB buffer pool in MB. @default 512 */
    bufferPoolMb: number;
    /** Semi-sync wait for a replica ack before falling back to async, in ms. @default 1000 */
    semiSyncTimeoutMs: number;
    /** Automatic failover by the db-failover manager. @default true */
    failover: boolean;
    /** Run the binlog-stream service for point-in-time restores (dbBinlogStream). @default false */
    binlogStream: boolean;
    /** Percona image used when engine = percona. @default "percona/percona-server:8.0.36-28" */
    perconaImage: string;
    /** Percona XtraBackup 8.0 image of physical backups on Docker (engine percona). @default "percona/percona-xtrabackup:8.0.35-33" */
    perconaXtrabackupImage: string;
}

export interface RedisSettings {
    /** Redis replicas beside the master. @default 2 */
    replicas: number;
    /** Number of sentinels (odd, ≥ 3). @default 3 */
    sentinels: number;
    /** Sentinels that must agree the master is down. @default majority of sentinels */
    quorum: number;
    /** Sentinel down-after-milliseconds. @default 5000 */
    downAfterMs: number;
    /** Sentinel failover-timeout in ms. @default 60000 */
    failoverTimeoutMs: number;
    /** maxmemory of each Redis node in MB. Policy volatile-lru: keys with a TTL — cache entries and sessions alike —
     * are evicted when it is full, so size it for every live session plus the cache. @default 256 */
    maxMemoryMb: number;
}

export interface StorageSettings {
    /** How web nodes reach the shared paths: over NFS, or one Docker volume shared on a single Docker host. @default "nfs" */
    mode: SharedStorageMode;
    /** Docroot-relative paths shared by every web node. @default ["upload", "bitrix/cache"] */
    sharedPaths: string[];
}

export interface DockerSettings {
    /** Subnet of the stack's Docker network (the NFS server gets a fixed address in it). @default "172.28.0.0/24" */
    subnet: string;
    /** Keep database, Redis and NFS volumes when the stack is destroyed. @default true */
    retainDataVolumes: boolean;
    /** Mark data volumes `protect`, so nothing replaces or deletes them (off with allowDataLoss). @default true */
    protectDataVolumes: boolean;
    /** How containers log: Docker's `local` driver rotated at `maxMb` per container, or the engine's default. */
    logs: ContainerLogs;
    /** Memory limit per container in MB by layer; 0 = unlimited. */
    memoryMb: { balancer: number; web: number; nfs: number; db: number; redis: number };
}

export interface Secrets {
    dbPassword?: pulumi.Output<string>;
    dbRootPassword?: pulumi.Output<string>;
    dbReplicationPassword?: pulumi.Output<string>;
    redisPassword?: pulumi.Output<string>;
}

/** The machines of a `placement: hosts` stack and how to reach them. */
export interface HostsSettings {
    inventory: Inventory;
    /** SSH private key for every host and the bastion (a config secret). */
    privateKey: pulumi.Output<string>;
    /** Jump host; undefined connects directly. Its `hostKey` ("<type> <base64>") is absent only when host keys are ignored. */
    bastion?: { user: string; host: string; port: number; hostKey?: string };
    /** Accept any host key where none is pinned (sshInsecureIgnoreHostKeys: labs only). */
    insecureIgnoreHostKeys: boolean;
}

/** The Monitoring layer's settings. */
export interface MonitoringSettings {
    /** Run it. @default true */
    enabled: boolean;
    /** Published ports on Docker. @default 9090, 9093 */
    prometheusPort: number;
    alertmanagerPort: number;
    /** Webhook receivers (a config secret: a URL can carry a token); undefined = none. */
    webhookUrls?: pulumi.Output<string[]>;
    /** E-mail receiver; undefined sends no e-mail. */
    email?: { to: string; from: string; smarthost: string; username?: string };
    /** SMTP password (a config secret). */
    smtpPassword?: pulumi.Output<string>;
    /** @default 768 */
    memoryMb: number;
}

/** The Push layer's settings (Push & Pull, docs/push.md). */
export interface PushSettings {
    /** Number of push services; 0 = no push layer. @default 0 */
    servers: number;
    /** The push server's container image, supplied by the user; required with servers ≥ 1 on Docker. @default "" */
    image: string;
    /** The push server's tarball, checked (placement hosts; required there with servers ≥ 1). */
    archive?: PushArchive;
    /** Signature key shared with the pull module (a config secret); random when unset. */
    securityKey?: pulumi.Output<string>;
    /** Seconds an idle websocket stays open at the balancer. @default 3600 */
    tunnelTimeoutS: number;
    /** Memory limit of a push service in MB. @default 256 */
    memoryMb: number;
}

export interface ClusterConfig {
    /** Prefix of every container, volume, network and image name; unique per stack. */
    prefix: string;
    placement: PlacementKind;
    /** Set when placement is "hosts". */
    hosts?: HostsSettings;
    balancer: BalancerSettings;
    ports: PortSettings;
    web: WebSettings;
    db: DatabaseSettings;
    redis: RedisSettings;
    storage: StorageSettings;
    monitoring: MonitoringSettings;
    push: PushSettings;
    docker: DockerSettings;
    secrets: Secrets;
}
