/**
 * The Monitoring layer: one service with Prometheus, Alertmanager and the exporters (see processes.ts), scraping
 * every layer from the same node lists the cluster is built from, with the seeds' alert rules and Alertmanager
 * routing from stack config. Published on the bind address on Docker; on hosts it runs on the host with role
 * `monitoring`, and every host's own node-exporter (Debian's unit) is scraped.
 */
import * as pulumi from "@pulumi/pulumi";
import { layerComponent } from "../shared/layer";
import { FileSpec, Placement } from "../placement/types";
import { alertmanagerConfig, AlertmanagerInput } from "./alertmanagerConfig";
import { alertRulesYaml, alertsFor } from "./alertRules";
import { grafanaDashboard } from "./grafanaDashboard";
import { blackboxConfig, prometheusConfig, Target } from "./prometheusConfig";
import { MONITORING_DIR, MONITORING_PORTS, mysqldCnf, supervisorConfig, TEXTFILE_VOLUME } from "./processes";

/** Where the web nodes serve PHP-FPM's OpenMetrics status to the monitoring service only. */
export const FPM_METRICS_PORT = 9253;

export interface MonitoringArgs {
    placement: Placement;
    /** Balancer services (HAProxy's exporter on 8404). */
    balancers: string[];
    /** Web node services and the health path their blackbox probe requests. */
    webNodes: string[];
    healthPath: string;
    webPort: number;
    /** Path of PHP-FPM's status page on the web nodes' metrics port. */
    fpmStatusPath: string;
    /** Database servers: service name, host, port and role. */
    databases: Array<{ service: string; host: string; port: number; role: "master" | "replica" }>;
    /** The exporter's database login (created by the master's first-start SQL). */
    dbUser: string;
    dbPassword: pulumi.Input<string>;
    redis: Array<{ service: string; host: string; port: number }>;
    sentinels: Array<{ service: string; host: string; port: number }>;
    redisPassword: pulumi.Input<string>;
    /** The NFS server's address and port; undefined without one (sharedStorage external). */
    nfs?: { address: string; port: number };
    /** Machines whose own node-exporter is scraped (hosts: every host's address, the NFS server's marked); empty = this service's. */
    nodes: Array<{ address: string; instance: string; nfs: boolean }>;
    /** Receivers; the webhook URLs and the SMTP password are secrets (a URL can carry a token). */
    alerts: Omit<AlertmanagerInput, "webhookUrls"> & { webhookUrls?: pulumi.Input<string[]>; smtpPassword?: pulumi.Input<string> };
    /** Published ports (Docker) for Prometheus and Alertmanager. */
    published: { prometheus: number; alertmanager: number };
    /** @default 512 */
    memoryMb?: number;
    /** The portal's name (the TLS probe of each balancer asks for it) and the ACME service's metrics (host:port, tlsMode "acme"). @default no TLS probe */
    tls?: { serverName: string; httpsPort: number; acmeMetrics?: string };
    /** Keep Prometheus's data volume on destroy. @default true */
    retainData?: boolean;
    /**
     * The stack runs the binlog-stream service (dbBinlogStream): its alert rules are on, and on Docker this service's
     * node-exporter reads its metrics from the shared textfile volume. @default false
     */
    binlogStream?: boolean;
    dependsOn?: pulumi.Resource[];
}

export interface MonitoringResult {
    prometheusUrl: string;
    alertmanagerUrl: string;
    resource: pulumi.Resource;
}

export function createMonitoring(name: string, parent: pulumi.ComponentResource, args: MonitoringArgs): MonitoringResult {
    const p = MONITORING_PORTS;
    const placement = args.placement;
    const self = "127.0.0.1";
    const ownNode = args.nodes.length === 0;
    const t = (address: string, instance: string, labels?: Record<string, string>): Target => ({
        address,
        instance,
        ...(labels ? { labels } : {}),
    });
    const prometheus = prometheusConfig({
        ruleFile: `${MONITORING_DIR}/rules.yml`,
        alertmanager: `${self}:${p.alertmanager}`,
        self: `${self}:${p.prometheus}`,
        node: ownNode
            ? [t(`${self}:${p.node}`, "docker-host", { nfs: args.nfs ? "true" : "false" })]
            : args.nodes.map((n) => t(`${n.address}:${p.node}`, n.instance, { nfs: String(n.nfs) })),
        mysqld: args.databases.map((d, i) => t(`${self}:${p.mysqldBase + i}`, d.service, { role: d.role })),
        redisExporter: `${self}:${p.redis}`,
        redis: args.redis.map((r) => t(`redis://${r.host}:${r.port}`, r.service)),
        sentinel: args.sentinels.map((s) => t(`redis://${s.host}:${s.port}`, s.service)),
        haproxy: args.balancers.map((b) => t(`${placement.hostOf(b)}:8404`, b)),
        phpfpm: args.webNodes.map((w) => t(`${placement.hostOf(w)}:${FPM_METRICS_PORT}`, w)),
        phpfpmPath: args.fpmStatusPath,
        blackbox: `${self}:${p.blackbox}`,
        webHealth: args.webNodes.map((w) => t(`http://${placement.hostOf(w)}:${args.webPort}${args.healthPath}`, w)),
        nfs: args.nfs ? [t(`${args.nfs.address}:${args.nfs.port}`, "nfs")] : [],
        // Each balancer's own door, not only the floating address: a balancer serving an old certificate shows.
        tlsCert: args.tls ? args.balancers.map((b) => t(`${placement.hostOf(b)}:${args.tls!.httpsPort}`, b)) : [],
        acme: args.tls?.acmeMetrics ? [t(args.tls.acmeMetrics, "acme")] : [],
    });
    const { smtpPassword, webhookUrls, ...alerts } = args.alerts;
    // With a webhook URL or an SMTP password the file holds a credential: a secret, readable by its group only.
    const secretAlerts = smtpPassword !== undefined || webhookUrls !== undefined;
    const alertmanager = secretAlerts
        ? pulumi.secret(
              pulumi.all([smtpPassword, webhookUrls]).apply(([password, urls]) =>
                  alertmanagerConfig({
                      ...alerts,
                      webhookUrls: urls ?? [],
                      email: alerts.email && password !== undefined ? { ...alerts.email, password } : alerts.email,
                  }),
              ),
          )
        : alertmanagerConfig(alerts);
    const files: FileSpec[] = [
        { path: `${MONITORING_DIR}/prometheus.yml`, content: prometheus },
        { path: `${MONITORING_DIR}/rules.yml`, content: alertRulesYaml(alertsFor({ binlogStream: args.binlogStream })) },
        { path: `${MONITORING_DIR}/alertmanager.yml`, content: alertmanager, secret: secretAlerts, group: "prometheus" },
        { path: `${MONITORING_DIR}/blackbox.yml`, content: blackboxConfig(args.tls?.serverName) },
        { path: `${MONITORING_DIR}/grafana-dashboard.json`, content: `${JSON.stringify(grafanaDashboard(), null, 2)}\n` },
        {
            path: `${MONITORING_DIR}/supervisord.conf`,
            content: supervisorConfig({ databases: args.databases.length, nodeExporter: ownNode }),
        },
        ...args.databases.map((d, i): FileSpec => ({
            path: `${MONITORING_DIR}/mysqld-${i + 1}.cnf`,
            content: pulumi.secret(
                pulumi.output(args.dbPassword).apply((password) => mysqldCnf({ host: d.host, port: d.port, user: args.dbUser, password })),
            ),
            secret: true,
            group: "prometheus",
        })),
    ];
    const ports = {
        prometheus: { internal: p.prometheus, published: args.published.prometheus },
        alertmanager: { internal: p.alertmanager, published: args.published.alertmanager },
    };
    const deployed = placement.deploy(parent, {
        resourceName: `${name}-prometheus`,
        service: "monitoring",
        image: { role: "monitoring" },
        files,
        env: { REDIS_PASSWORD: pulumi.secret(args.redisPassword) },
        volumes: [
            { kind: "data", name: "prometheus", path: "/var/lib/prometheus", retain: args.retainData ?? true },
            // Docker: the binlog stream writes its metrics into this volume (hosts: into its own machine's directory).
            ...(ownNode && args.binlogStream ? [TEXTFILE_VOLUME] : []),
        ],
        ports: [ports.prometheus, ports.alertmanager],
        listens: [
            { port: p.prometheus, from: "admin" },
            { port: p.alertmanager, from: "admin" },
        ],
        health: {
            command: `curl -fsS -o /dev/null http://127.0.0.1:${p.prometheus}/-/ready && curl -fsS -o /dev/null http://127.0.0.1:${p.alertmanager}/-/ready`,
            intervalS: 5,
            timeoutS: 3,
            retries: 6,
            startPeriodS: 10,
        },
        memoryMb: args.memoryMb ?? 512,
        dependsOn: args.dependsOn,
    });
    const prom = placement.reach("monitoring", ports.prometheus);
    const am = placement.reach("monitoring", ports.alertmanager);
    return {
        prometheusUrl: `http://${prom.host}:${prom.port}/`,
        alertmanagerUrl: `http://${am.host}:${am.port}/`,
        resource: deployed.resource,
    };
}

/** Monitoring layer (type `bitrix:cluster:Monitoring`): a thin component over `createMonitoring`. */
export const Monitoring = layerComponent<MonitoringArgs, MonitoringResult>("bitrix:cluster:Monitoring", createMonitoring, (r) => ({
    prometheusUrl: r.prometheusUrl,
    alertmanagerUrl: r.alertmanagerUrl,
}));
export type Monitoring = InstanceType<typeof Monitoring>;
