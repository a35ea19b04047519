/**
 * BitrixCluster: composes the five layers and wires their endpoints. NFS, database and Redis come first; web
 * nodes get the master/replica and Redis endpoints and the shared mounts; the balancer gets the web nodes.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Balancer, BALANCER_LISTEN, balancerServices } from "./balancer/balancer";
import { drainSeconds } from "./balancer/haproxyConfig";
import { ClusterConfig } from "./config/types";
import { Database } from "./database/database";
import { nfsExports, nfsMountOptions, sharedSlug } from "./nfs/ganeshaConfig";
import { NfsServer } from "./nfs/nfsServer";
import { DockerPlacement } from "./placement/docker";
import { HostsPlacement } from "./placement/hosts";
import { Placement } from "./placement/types";
import { FPM_METRICS_PORT, Monitoring } from "./monitoring/monitoring";
import { NFS_PORT } from "./nfs/ganeshaConfig";
import { PUSH_LOCAL_PUB, PUSH_PATHS, PUSH_PORTS, pullModuleSettings } from "./push/pushConfig";
import { PushLayer } from "./push/pushLayer";
import { RedisSentinel } from "./redis/redisSentinel";
import { FPM_STATUS_PATH, HEALTH_PATH, WEB_PORT, WebNode } from "./web/webNode";

/** The database login of the monitoring exporter. */
export const MONITOR_DB_USER = "exporter";

export interface BitrixClusterArgs {
    config: ClusterConfig;
    /** Where the layers run; made from the config (`placement`, `hosts`) when unset. */
    placement?: Placement;
}

/** The placement the config asks for: the local Docker engine, or the listed hosts over SSH. */
export function createPlacement(name: string, c: ClusterConfig, opts: pulumi.ComponentResourceOptions): Placement {
    if (c.placement === "hosts") {
        if (!c.hosts) throw new Error("placement hosts without a validated host list");
        return new HostsPlacement(
            `${name}-hosts`,
            {
                inventory: c.hosts.inventory,
                privateKey: c.hosts.privateKey,
                bastion: c.hosts.bastion,
                insecureIgnoreHostKeys: c.hosts.insecureIgnoreHostKeys,
                engine: c.db.engine,
                adminAllowlist: c.balancer.adminAllowlist,
                nodeExporter: c.monitoring.enabled,
            },
            opts,
        );
    }
    return new DockerPlacement(
        `${name}-docker`,
        {
            prefix: c.prefix,
            subnet: c.docker.subnet,
            bindAddress: c.ports.bindAddress,
            protectData: c.docker.protectDataVolumes,
            logs: c.docker.logs,
        },
        opts,
    );
}

export class BitrixCluster extends pulumi.ComponentResource {
    readonly url: string;
    readonly statusUrl: string;
    /** Each balancer's status page at its own address. */
    readonly statusUrls: string[];
    /** The balancers' floating address ("" with one balancer). */
    readonly floatingAddress: string;
    readonly dbMaster: string;
    readonly dbReplicas: string[];
    readonly redisNodes: string[];
    readonly sentinels: string[];
    readonly sentinelMasterName: string;
    readonly webNodes: string[];
    readonly nfsExports: string[];
    /** The NFS server's export directory of each shared path, by slug ("upload" → "/srv/nfs/upload"). */
    readonly sharedDirs: Record<string, string>;
    readonly dbPassword: pulumi.Output<string>;
    /**
     * The pull module's settings for the push layer (docs/push.md), with `signature_key` pointing at the secret
     * output `pushSecurityKey`; empty without a push layer.
     */
    readonly pullSettings: Record<string, string>;
    /** The push servers' signature key (secret); undefined without a push layer. */
    readonly pushSecurityKey?: pulumi.Output<string>;
    /** The push services' host names. */
    readonly pushServers: string[];
    /** Prometheus and Alertmanager ("" with monitoring off). */
    readonly prometheusUrl: string;
    readonly alertmanagerUrl: string;

    constructor(name: string, args: BitrixClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("bitrix:cluster:BitrixCluster", name, {}, opts);
        const c = args.config;
        const child = { parent: this };
        const placement = args.placement ?? createPlacement(name, c, child);
        const webServices = Array.from({ length: c.web.nodes }, (_, i) => `web-${i + 1}`);
        const password = (key: string, given: pulumi.Output<string> | undefined) =>
            // Secret by the provider already; marked here too so no path can leak it into plain outputs.
            given ?? pulumi.secret(new random.RandomPassword(`${name}-${key}`, { length: 32, special: false }, child).result);
        const dbPassword = password("db-password", c.secrets.dbPassword);
        const retain = c.docker.retainDataVolumes;
        const monitorPassword = c.monitoring.enabled ? password("db-monitor-password", undefined) : undefined;

        // With sharedStorage "external" the user's own storage is already mounted on the web hosts: no NFS server.
        const nfs =
            c.storage.mode === "external"
                ? undefined
                : new NfsServer(
                      `${name}-nfs`,
                      {
                          placement,
                          sharedPaths: c.storage.sharedPaths,
                          clients: placement.sourcesOf(webServices),
                          retainData: retain,
                          memoryMb: c.docker.memoryMb.nfs,
                      },
                      child,
                  );
        const redisPassword = password("redis-password", c.secrets.redisPassword);
        const redis = new RedisSentinel(
            `${name}-redis`,
            {
                placement,
                password: redisPassword,
                replicas: c.redis.replicas,
                sentinels: c.redis.sentinels,
                quorum: c.redis.quorum,
                downAfterMs: c.redis.downAfterMs,
                failoverTimeoutMs: c.redis.failoverTimeoutMs,
                maxMemoryMb: c.redis.maxMemoryMb,
                publishedSentinelPortBase: c.ports.sentinelBase,
                retainData: retain,
                memoryMb: c.docker.memoryMb.redis,
                sessionLockExpireS: c.web.phpMaxExecutionS,
            },
            child,
        );
        const db = new Database(
            `${name}-db`,
            {
                placement,
                engine: c.db.engine,
                replicas: c.db.replicas,
                database: c.db.name,
                user: c.db.user,
                password: dbPassword,
                rootPassword: password("db-root-password", c.secrets.dbRootPassword),
                replicationPassword: password("db-replication-password", c.secrets.dbReplicationPassword),
                redoLogMb: c.db.redoLogMb,
                bufferPoolMb: c.db.bufferPoolMb,
                semiSyncTimeoutMs: c.db.semiSyncTimeoutMs,
                perconaImage: c.db.perconaImage,
                publishedPortBase: c.ports.dbBase,
                retainData: retain,
                memoryMb: c.docker.memoryMb.db,
                monitor: monitorPassword ? { user: MONITOR_DB_USER, password: monitorPassword } : undefined,
                failoverPassword: c.db.failover ? password("db-failover-password", undefined) : undefined,
                // Bitrix's replica rows (b_cluster_dbnode) are kept by the failover manager, which then clears the kernel's
                // cached copy in the web nodes' Redis cache (same sid as their .settings.php).
                kernelCache: { nodes: redis.nodes, password: redisPassword, sid: c.prefix },
                binlogStream: c.db.binlogStream,
                binlogStreamMetrics: c.monitoring.enabled,
            },
            child,
        );

        // Push & Pull: push services with their own Redis (docs/push.md); web nodes publish through a local route.
        const pushKey =
            c.push.servers > 0
                ? (c.push.securityKey ??
                  pulumi.secret(new random.RandomPassword(`${name}-push-security-key`, { length: 64, special: false }, child).result))
                : undefined;
        const push = pushKey
            ? new PushLayer(
                  `${name}-push`,
                  {
                      placement,
                      count: c.push.servers,
                      server: c.push.archive ? { archive: c.push.archive } : { image: c.push.image },
                      key: pushKey,
                      memoryMb: c.push.memoryMb,
                  },
                  child,
              )
            : undefined;

        // Rolling updates: each node drains for as long as the balancers need to see it fail (maxFails checks), and
        // node N+1 depends on node N being back in rotation, so a change that replaces every node takes one at a time.
        const rotation = {
            drainS: drainSeconds(c.balancer),
            balancers: balancerServices(c.balancer.count),
            statusPort: BALANCER_LISTEN.status,
        };
        const webs: WebNode[] = [];
        for (let i = 0; i < c.web.nodes; i++) {
            webs.push(
                new WebNode(
                    `${name}-web-${i + 1}`,
                    {
                        placement,
                        index: i + 1,
                        db: {
                            database: db.database,
                            user: db.user,
                            password: dbPassword,
                            master: { host: db.master.host, port: db.master.port },
                            writers: db.failover ? [db.master, ...db.replicas] : undefined,
                        },
                        redis: { nodes: redis.nodes, password: redisPassword },
                        push: push ? { servers: push.servers } : undefined,
                        storage: {
                            mode: c.storage.mode,
                            exports: nfs?.exports ?? nfsExports(c.storage.sharedPaths),
                            nfsAddress: nfs?.address ?? "",
                            mountOptions: nfs?.mountOptions ?? nfsMountOptions(),
                            retain,
                        },
                        // The balancers' own addresses, never a whole network: on Docker the subnet holds the bridge gateway,
                        // which carries every published-port client, so a client's header would be believed.
                        trustedProxies: balancerServices(c.balancer.count).map((b) => placement.addressOf(b)),
                        metrics: c.monitoring.enabled ? { port: FPM_METRICS_PORT, allow: placement.sourcesOf(["monitoring"]) } : undefined,
                        phpMemoryLimitMb: c.web.phpMemoryLimitMb,
                        phpMaxExecutionS: c.web.phpMaxExecutionS,
                        uploadMaxMb: c.web.uploadMaxMb,
                        fpmMaxChildren: c.web.fpmMaxChildren,
                        timezone: c.web.timezone,
                        cacheSid: c.prefix,
                        memoryMb: c.docker.memoryMb.web,
                        rotation,
                        dependsOn: [
                            ...(nfs ? [nfs.resource] : []),
                            db.master.resource,
                            ...(db.failover ? [db.failover] : []),
                            ...redis.resources.slice(0, 1),
                            ...(i > 0 ? [webs[i - 1].ready] : []),
                        ],
                    },
                    child,
                ),
            );
        }

        const balancer = new Balancer(
            `${name}-balancer`,
            {
                placement,
                upstreams: webs.map((w, i) => ({ name: w.service, host: w.host, port: w.port, weight: c.balancer.weights[i] })),
                settings: c.balancer,
                healthPath: HEALTH_PATH,
                metricsSources: c.monitoring.enabled ? placement.sourcesOf(["monitoring"]) : [],
                published: { http: c.ports.http, https: c.ports.https, status: c.ports.status },
                memoryMb: c.docker.memoryMb.balancer,
                retainAcmeState: retain,
                push: push
                    ? {
                          servers: push.servers.map((p) => ({ name: p.service, host: p.host, port: PUSH_PORTS.sub })),
                          listenerPath: PUSH_PATHS.subws,
                          tunnelTimeoutS: c.push.tunnelTimeoutS,
                      }
                    : undefined,
                dependsOn: [...webs.map((w) => w.resource), ...(push?.resources ?? [])],
            },
            child,
        );

        const monitoring = c.monitoring.enabled
            ? new Monitoring(
                  `${name}-monitoring`,
                  {
                      placement,
                      balancers: balancerServices(c.balancer.count),
                      webNodes: webServices,
                      healthPath: HEALTH_PATH,
                      webPort: WEB_PORT,
                      fpmStatusPath: FPM_STATUS_PATH,
                      databases: [db.master, ...db.replicas].map((d, i) => ({
                          service: d.service,
                          host: d.host,
                          port: d.port,
                          role: i === 0 ? ("master" as const) : ("replica" as const),
                      })),
                      dbUser: MONITOR_DB_USER,
                      dbPassword: monitorPassword!,
                      redis: redis.nodes,
                      sentinels: redis.sentinels,
                      redisPassword,
                      nfs: nfs ? { address: nfs.address, port: NFS_PORT } : undefined,
                      // Hosts: every machine's own node-exporter; Docker: the monitoring container's (the one machine).
                      nodes: (c.hosts?.inventory.hosts ?? []).map((h) => ({
                          address: h.address,
                          instance: h.name,
                          nfs: h.roles.includes("nfs"),
                      })),
                      alerts: { webhookUrls: c.monitoring.webhookUrls, email: c.monitoring.email, smtpPassword: c.monitoring.smtpPassword },
                      published: { prometheus: c.monitoring.prometheusPort, alertmanager: c.monitoring.alertmanagerPort },
                      tls: { serverName: c.balancer.serverName, httpsPort: BALANCER_LISTEN.https, acmeMetrics: balancer.acmeMetrics },
                      memoryMb: c.monitoring.memoryMb,
                      retainData: retain,
                      binlogStream: c.db.binlogStream,
                      dependsOn: [balancer, ...webs.map((w) => w.resource)],
                  },
                  child,
              )
            : undefined;

        this.url = balancer.url;
        this.prometheusUrl = monitoring?.prometheusUrl ?? "";
        this.alertmanagerUrl = monitoring?.alertmanagerUrl ?? "";
        this.statusUrl = balancer.statusUrl;
        this.statusUrls = balancer.statusUrls;
        this.floatingAddress = balancer.floatingAddress;
        this.dbMaster = `${db.master.host}:${db.master.port}`;
        this.dbReplicas = db.replicas.map((r) => `${r.host}:${r.port}`);
        this.redisNodes = redis.nodes.map((n) => `${n.host}:${n.port}`);
        this.sentinels = redis.sentinels.map((s) => `${s.host}:${s.port}`);
        this.sentinelMasterName = redis.masterName;
        this.webNodes = webs.map((w) => w.host);
        this.nfsExports = nfs ? nfs.exports.map((e) => `${nfs.address}:${e.pseudo}`) : [];
        this.sharedDirs = Object.fromEntries((nfs?.exports ?? []).map((e) => [sharedSlug(e.sharedPath), e.directory]));
        this.dbPassword = pulumi.secret(dbPassword);
        this.pushServers = push ? push.servers.map((p) => p.host) : [];
        this.pushSecurityKey = pushKey && pulumi.secret(pushKey);
        this.pullSettings = push
            ? pullModuleSettings({
                  publishUrl: `http://${PUSH_LOCAL_PUB.address}:${PUSH_LOCAL_PUB.port}${PUSH_PATHS.pub}`,
                  key: "(secret: pulumi stack output pushSecurityKey --show-secrets)",
              })
            : {};
        this.registerOutputs({
            url: this.url,
            statusUrl: this.statusUrl,
            statusUrls: this.statusUrls,
            floatingAddress: this.floatingAddress,
            dbMaster: this.dbMaster,
            dbReplicas: this.dbReplicas,
            redisNodes: this.redisNodes,
            sentinels: this.sentinels,
            webNodes: this.webNodes,
            nfsExports: this.nfsExports,
            pushServers: this.pushServers,
            pullSettings: this.pullSettings,
        });
    }
}
