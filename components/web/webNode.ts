/** The WebNode layer: nginx + PHP-FPM 8.2, a local Redis-master proxy and the shared-storage watchdog. */
import * as pulumi from "@pulumi/pulumi";
import { layerComponent } from "../shared/layer";
import { SharedStorageMode } from "../config/types";
import { NfsExport, sharedSlug } from "../nfs/ganeshaConfig";
import { Placement, VolumeSpec } from "../placement/types";
import { PUSH_PORTS, pushPubSection } from "../push/pushConfig";
import { redisProxyConfig } from "../redis/proxyConfig";
import { resolverServerOptions } from "../shared/haproxy";
import {
    DB_WRITER_CHECK,
    DB_WRITER_CREDENTIALS,
    DB_WRITER_ROUTE,
    dbWriterCheckScript,
    dbWriterCredentials,
    dbWriterSection,
    EXTERNAL_CHECK_GLOBALS,
} from "./dbWriterRoute";
import { bitrixSettings, DbEndpoint } from "./bitrixSettings";
import { CACHE_ENGINE_REQUIRED_FILE, cacheEngineClass } from "./cacheEngine";
import { healthEndpoint } from "./healthEndpoint";
import { webNginxConfig } from "./nginxConfig";
import { fpmPool, phpIni } from "./phpConfig";
import { probeApp } from "./probeApp";
import { watchdogScript } from "./watchdog";

export const DOCROOT = "/var/www/html";
export const HEALTH_PATH = "/healthz.php";
export const WEB_PORT = 80;
/** PHP-FPM's status page (also served as OpenMetrics to the monitoring service). */
export const FPM_STATUS_PATH = "/fpm-status";
export const FPM_SOCKET = "/run/php/php8.2-fpm.sock";
export const SETTINGS_PATH = `${DOCROOT}/bitrix/.settings.php`;
export const HEARTBEAT_FILE = "/run/bitrix/shared-ok";
/** Present while the node drains before it stops (the image's entrypoint creates it on SIGTERM). */
export const DRAIN_FILE = "/run/bitrix/draining";
export const REDIS_PROXY = { address: "127.0.0.1", port: 6379 };
/** How often each node-local Redis proxy asks every Redis node for its role (ms). */
export const REDIS_PROXY_CHECK_MS = 500;

export interface WebNodeArgs {
    placement: Placement;
    /** Node number, from 1. */
    index: number;
    db: {
        /** Replicas are not configured here: the kernel reads them from b_cluster_dbnode (db-failover keeps it). */
        database: string;
        user: string;
        password: pulumi.Input<string>;
        master: DbEndpoint;
        /** Every database server when a failover manager decides the writable one: writes then go through the local
         * route to whichever reports read_only = 0 (dbWriterRoute.ts). @default none: writes go to `master` */
        writers?: Array<{ service: string; host: string; port: number }>;
    };
    redis: { nodes: Array<{ service: string; host: string; port: number }>; password: pulumi.Input<string> };
    /** Shared trees and how they are reached. */
    storage: { mode: SharedStorageMode; exports: NfsExport[]; nfsAddress: string; mountOptions: string; retain: boolean };
    /** Addresses whose X-Forwarded-For the node trusts: the balancers' own, nothing else. */
    trustedProxies: string[];
    /** Serve PHP-FPM's status as OpenMetrics on this port to these sources (the monitoring service). @default none */
    metrics?: { port: number; allow: string[] };
    /** @default 512 */
    phpMemoryLimitMb?: number;
    /** @default 60 */
    phpMaxExecutionS?: number;
    /** @default 64 */
    uploadMaxMb?: number;
    /** @default 16 */
    fpmMaxChildren?: number;
    /** @default "UTC" */
    timezone?: string;
    /**
     * The push services (Push & Pull): PHP publishes to 127.0.0.1:8895, which the node's local HAProxy sends to the
     * first healthy one's publisher (docs/push.md). @default none
     */
    push?: { servers: Array<{ service: string; host: string }> };
    /** Cache namespace shared by all nodes. @default "bitrix" */
    cacheSid?: string;
    /** @default 1024 */
    memoryMb?: number;
    /**
     * Rolling updates: on a stop the node answers its health check 503 for `drainS` seconds (the balancers take it
     * out) before its processes stop gracefully; after a (re)start `ready` waits until these balancers report it UP.
     * @default no drain; `ready` is the node itself
     */
    rotation?: { drainS: number; balancers: string[]; statusPort: number };
    dependsOn?: pulumi.Resource[];
}

export interface WebNodeResult {
    service: string;
    host: string;
    port: number;
    resource: pulumi.Resource;
    /** Depend on this for the node to be back in rotation (the next node of a rolling update does). */
    ready: pulumi.Resource;
}

/** Seconds a stop may take: the drain, then nginx and PHP-FPM finishing requests in flight. */
export const WEB_STOP_AFTER_DRAIN_S = 20;

export interface WebSecrets {
    db: string;
    redis: string;
}

export interface WebFile {
    path: string;
    /** Which secrets the file embeds; a file without any stays a plain, diffable output. */
    secrets: Array<keyof WebSecrets>;
    render: (secrets: WebSecrets) => string;
    executable?: boolean;
    /** Group that may read a secret file besides root. @default www-data under the docroot, else none */
    group?: string;
}

/** The generated files of one web node (pure: the component only uploads them). */
export function webNodeFiles(args: WebNodeArgs): WebFile[] {
    const maxExecutionS = args.phpMaxExecutionS ?? 60;
    const uploadMaxMb = args.uploadMaxMb ?? 64;
    const sharedDirs = args.storage.exports.map((e) => `${DOCROOT}/${e.sharedPath}`);
    const redisAt = (password: string) => ({ host: REDIS_PROXY.address, port: REDIS_PROXY.port, password });
    const writers = args.db.writers;
    const master = writers ? { host: DB_WRITER_ROUTE.address, port: DB_WRITER_ROUTE.port } : args.db.master;
    return [
        {
            path: "/etc/nginx/sites-enabled/bitrix.conf",
            secrets: [],
            render: () =>
                webNginxConfig({
                    listenPort: WEB_PORT,
                    docroot: DOCROOT,
                    fpmSocket: FPM_SOCKET,
                    uploadMaxMb,
                    trustedProxies: args.trustedProxies,
                    healthPath: HEALTH_PATH,
                    fpmStatusPath: FPM_STATUS_PATH,
                    fpmPingPath: "/fpm-ping",
                    sharedPaths: args.storage.exports.map((e) => e.sharedPath),
                    metrics: args.metrics,
                }),
        },
        {
            path: "/etc/php/8.2/fpm/conf.d/99-bitrix.ini",
            secrets: ["redis"],
            render: (s) =>
                phpIni({
                    memoryLimitMb: args.phpMemoryLimitMb ?? 512,
                    maxExecutionS,
                    uploadMaxMb,
                    timezone: args.timezone ?? "UTC",
                    redis: redisAt(s.redis),
                }),
        },
        {
            path: "/etc/php/8.2/fpm/pool.d/www.conf",
            secrets: [],
            render: () =>
                fpmPool({
                    socket: FPM_SOCKET,
                    maxChildren: args.fpmMaxChildren ?? 16,
                    maxExecutionS,
                    statusPath: FPM_STATUS_PATH,
                    pingPath: "/fpm-ping",
                    gracefulStopS: WEB_STOP_AFTER_DRAIN_S,
                }),
        },
        {
            path: "/etc/haproxy/redis-proxy.cfg",
            secrets: ["redis"],
            render: (s) =>
                redisProxyConfig({
                    nodes: args.redis.nodes.map((n) => ({ name: n.service, host: n.host, port: n.port })),
                    password: s.redis,
                    listen: REDIS_PROXY,
                    resolver: args.placement.dnsResolver,
                    // Twice a second: a promoted replica is in rotation 1 s after it answers role:master (rise 2).
                    checkIntervalMs: REDIS_PROXY_CHECK_MS,
                    extra:
                        writers || args.push
                            ? {
                                  globals: writers ? EXTERNAL_CHECK_GLOBALS : [],
                                  runsPrograms: writers !== undefined,
                                  sections: [
                                      ...(writers
                                          ? [
                                                dbWriterSection({
                                                    nodes: writers.map((w) => ({ name: w.service, host: w.host, port: w.port })),
                                                    resolver: args.placement.dnsResolver,
                                                }),
                                            ]
                                          : []),
                                      ...(args.push
                                          ? [
                                                pushPubSection({
                                                    servers: args.push.servers.map((p) => ({
                                                        name: p.service,
                                                        host: p.host,
                                                        port: PUSH_PORTS.pub,
                                                    })),
                                                    resolverOptions: resolverServerOptions(args.placement.dnsResolver),
                                                }),
                                            ]
                                          : []),
                                  ],
                              }
                            : undefined,
                }),
        },
        {
            path: SETTINGS_PATH,
            secrets: ["db", "redis"],
            render: (s) =>
                bitrixSettings({
                    database: args.db.database,
                    user: args.db.user,
                    password: s.db,
                    master,
                    redis: redisAt(s.redis),
                    cacheSid: args.cacheSid ?? "bitrix",
                }),
        },
        {
            // The cache engine class the kernel loads through cache.value.type.required_file (no secret in it).
            path: `${DOCROOT}/bitrix/${CACHE_ENGINE_REQUIRED_FILE}`,
            secrets: [],
            render: () => cacheEngineClass(),
        },
        {
            path: `${DOCROOT}${HEALTH_PATH}`,
            secrets: [],
            render: () =>
                healthEndpoint({
                    settingsPath: SETTINGS_PATH,
                    heartbeatFile: HEARTBEAT_FILE,
                    heartbeatMaxAgeS: 8,
                    checkTimeoutS: 0.2,
                    drainFile: DRAIN_FILE,
                }),
        },
        {
            path: `${DOCROOT}/probe/index.php`,
            secrets: [],
            render: () =>
                probeApp({ settingsPath: SETTINGS_PATH, uploadDir: `${DOCROOT}/upload/probe`, replicaWaitS: 5, docroot: DOCROOT }),
        },
        ...(writers
            ? ([
                  { path: DB_WRITER_CHECK, secrets: [], render: () => dbWriterCheckScript(DB_WRITER_CREDENTIALS), executable: true },
                  // Read by the check, which runs as HAProxy's user.
                  {
                      path: DB_WRITER_CREDENTIALS,
                      secrets: ["db"],
                      render: (s) => dbWriterCredentials({ user: args.db.user, password: s.db }),
                      group: "haproxy",
                  },
              ] satisfies WebFile[])
            : []),
        {
            path: "/usr/local/bin/bitrix-shared-watchdog",
            secrets: [],
            render: () =>
                watchdogScript({
                    directories: sharedDirs,
                    heartbeatFile: HEARTBEAT_FILE,
                    intervalS: 2,
                    probeTimeoutS: 2,
                    probeUser: "www-data",
                }),
            executable: true,
        },
    ];
}

/** How each shared tree is mounted on this node. */
export function sharedVolumes(storage: WebNodeArgs["storage"]): VolumeSpec[] {
    return storage.exports.map((e): VolumeSpec => {
        const at = { name: sharedSlug(e.sharedPath), path: `${DOCROOT}/${e.sharedPath}` };
        switch (storage.mode) {
            case "nfs":
                return { kind: "nfs", ...at, server: storage.nfsAddress, exportPath: e.pseudo, options: storage.mountOptions };
            case "docker-volume":
                return { kind: "shared", ...at, retain: storage.retain };
            case "external":
                return { kind: "mounted", ...at };
        }
    });
}

export function createWebNode(name: string, parent: pulumi.ComponentResource, args: WebNodeArgs): WebNodeResult {
    const service = `web-${args.index}`;
    const secrets = pulumi.all([args.db.password, args.redis.password]).apply(([db, redis]): WebSecrets => ({ db, redis }));
    const deployed = args.placement.deploy(parent, {
        resourceName: `${name}-node`,
        service,
        image: { role: "web" },
        // Only the files that embed a password become secret outputs; the rest stay readable in previews.
        files: webNodeFiles(args).map((f) => ({
            path: f.path,
            executable: f.executable,
            content: f.secrets.length ? secrets.apply(f.render) : f.render({ db: "", redis: "" }),
            secret: f.secrets.length > 0,
            // PHP's workers read .settings.php, HAProxy's user the writer route's login; the other secret files are
            // read by root-run masters.
            group: f.group ?? (f.path.startsWith(`${DOCROOT}/`) ? "www-data" : undefined),
        })),
        volumes: [{ kind: "data", name: "docroot", path: DOCROOT, retain: args.storage.retain }, ...sharedVolumes(args.storage)],
        // Internal only: the balancers reach nginx, Prometheus the FPM metrics.
        listens: [{ port: WEB_PORT, from: "cluster" }, ...(args.metrics ? [{ port: args.metrics.port, from: "cluster" as const }] : [])],
        health: { command: "curl -fsS -o /dev/null http://127.0.0.1/fpm-ping", intervalS: 5, timeoutS: 2, retries: 3, startPeriodS: 10 },
        memoryMb: args.memoryMb ?? 1024,
        env: { WEB_DRAIN_S: String(args.rotation?.drainS ?? 0) },
        stopGraceS: (args.rotation?.drainS ?? 0) + WEB_STOP_AFTER_DRAIN_S,
        inRotation: args.rotation && { server: service, balancers: args.rotation.balancers, statusPort: args.rotation.statusPort },
        dependsOn: args.dependsOn,
    });
    return { service, host: deployed.host, port: WEB_PORT, resource: deployed.resource, ready: deployed.ready };
}

/** WebNode layer (type `bitrix:cluster:WebNode`): a thin component over `createWebNode`. */
export const WebNode = layerComponent<WebNodeArgs, WebNodeResult>("bitrix:cluster:WebNode", createWebNode, (r) => ({
    service: r.service,
    host: r.host,
}));
export type WebNode = InstanceType<typeof WebNode>;
