/**
 * The Balancer layer: one or more HAProxy balancers with identical generated configs — active health checks, TLS
 * termination, the admin allowlist and a status page. Two or more share the portal's floating address by VRRP
 * (keepalived beside each HAProxy), so losing a balancer does not close the front door.
 */
import * as pulumi from "@pulumi/pulumi";
import { layerComponent } from "../shared/layer";
import { BalancerSettings } from "../config/types";
import { FileSpec, Placement, PortSpec, VolumeSpec } from "../placement/types";
import {
    ACME_DIRECTORY_CA,
    ACME_EAB_ENV,
    ACME_ENV,
    ACME_HTTP_PORT,
    ACME_METRICS_PORT,
    acmeEabEnv,
    acmeEnv,
    TLS_DIR,
    TLS_RECEIVER,
    TLS_SOURCE,
} from "./acme";
import { balancerConfig, BalancerUpstream, PushRoute } from "./haproxyConfig";
import { keepalivedConfig, vipGuardRules } from "./keepalivedConfig";
import { selfSignedPair } from "./selfSigned";

export interface BalancerArgs {
    placement: Placement;
    upstreams: BalancerUpstream[];
    /** Settings from stack config; `count` balancers, with `vrrp` when there are two or more. */
    settings: BalancerSettings;
    healthPath: string;
    /** Sources that may read `/metrics` on the status port besides the allowlist (the monitoring service). @default [] */
    metricsSources?: string[];
    /** Ports published on the Docker host by the first balancer (on hosts each balancer's own ports are the public ones). */
    published: { http: number; https: number; status: number };
    /** @default 256 */
    memoryMb?: number;
    /** Subscriber routes to the push servers (docs/push.md). @default none */
    push?: PushRoute;
    /** Keep the ACME service's state (account, certificate) on `pulumi destroy` (tlsMode "acme"). @default true */
    retainAcmeState?: boolean;
    dependsOn?: pulumi.Resource[];
}

export const BALANCER_LISTEN = { http: 80, https: 443, status: 8404 };
export const CERT_PATH = "/etc/haproxy/certs/site.pem";
export const HAPROXY_CFG = "/etc/haproxy/haproxy.cfg";
export const KEEPALIVED_CFG = "/etc/keepalived/keepalived.conf";
export const VIP_GUARD = "/etc/keepalived/vip-guard.nft";
/** Capabilities keepalived needs to add the address and send VRRP adverts. */
export const VRRP_CAPABILITIES = ["NET_ADMIN", "NET_BROADCAST", "NET_RAW"];

/** Service names of `count` balancers: balancer-1, balancer-2, … */
export function balancerServices(count: number): string[] {
    return Array.from({ length: count }, (_, i) => `balancer-${i + 1}`);
}

export interface BalancerResult {
    /** The portal: the floating address with two or more balancers, else the balancer's own door. */
    url: string;
    /** The first balancer's status page where clients reach it (the published port on Docker). */
    statusUrl: string;
    /** Each balancer's status page at its own address (from the Docker host, or on the hosts' network). */
    statusUrls: string[];
    /** The floating address, "" with one balancer. */
    floatingAddress: string;
    /** The balancers' resources, first to last. */
    resources: pulumi.Resource[];
    /** The ACME service's metrics (host:port), tlsMode "acme" only. */
    acmeMetrics?: string;
    /** The ACME service's resource, tlsMode "acme" only. */
    acmeResource?: pulumi.Resource;
}

/** The ACME service's name in the stack. */
export const ACME_SERVICE = "acme";

/**
 * The ACME service (tlsMode "acme"): lego's loop, its state on a data volume, the published PEM on the shared one,
 * which reaches balancers on other hosts by push (placement hosts).
 */
function deployAcme(
    name: string,
    parent: pulumi.ComponentResource,
    args: BalancerArgs,
    tlsVolume: VolumeSpec,
    balancers: string[],
): pulumi.Resource {
    const acme = args.settings.acme!;
    const files: FileSpec[] = [{ path: ACME_ENV, content: acmeEnv(acme) }];
    if (acme.directoryCa) files.push({ path: ACME_DIRECTORY_CA, content: acme.directoryCa });
    if (acme.eab) {
        const eab = acme.eab;
        files.push({
            path: ACME_EAB_ENV,
            content: pulumi.secret(pulumi.all([eab.kid, eab.hmac]).apply(([kid, hmac]) => acmeEabEnv(kid, hmac))),
            secret: true,
        });
    }
    return args.placement.deploy(parent, {
        resourceName: `${name}-acme`,
        service: ACME_SERVICE,
        image: { role: "acme" },
        files,
        volumes: [{ kind: "data", name: "state", path: "/var/lib/acme", retain: args.retainAcmeState ?? true, precious: true }, tlsVolume],
        // lego's challenge server (the balancers' acme backend) and the metrics (the monitoring host).
        listens: [
            { port: ACME_HTTP_PORT, from: "cluster" },
            { port: ACME_METRICS_PORT, from: "cluster" },
        ],
        pushesTo: { services: balancers, receiver: TLS_RECEIVER },
        health: { command: "test -s /srv/metrics/metrics", intervalS: 10, timeoutS: 2, retries: 3, startPeriodS: 5 },
        memoryMb: 128,
        dependsOn: args.dependsOn,
    }).resource;
}

export function createBalancer(name: string, parent: pulumi.ComponentResource, args: BalancerArgs): BalancerResult {
    const s = args.settings;
    const services = balancerServices(s.count);
    if (s.count > 1 && !s.vrrp) throw new Error(`${name}: ${s.count} balancers need a floating address (settings.vrrp)`);
    const port = (internal: number, published: number): PortSpec => ({ internal, published });
    const door = {
        http: port(BALANCER_LISTEN.http, args.published.http),
        https: port(BALANCER_LISTEN.https, args.published.https),
        status: port(BALANCER_LISTEN.status, args.published.status),
    };
    const https = args.placement.reach(services[0], door.https);
    const httpDoor = args.placement.reach(services[0], door.http);
    const status = args.placement.reach(services[0], door.status);
    const acme = s.tlsMode === "acme";
    const haproxy = balancerConfig({
        ...s,
        upstreams: args.upstreams,
        healthPath: args.healthPath,
        certPath: CERT_PATH,
        listen: BALANCER_LISTEN,
        publicHttpsPort: https.port,
        publicHttpPort: httpDoor.port,
        resolver: args.placement.dnsResolver,
        metricsSources: args.metricsSources,
        push: args.push,
        acmeChallenge: acme ? { host: args.placement.hostOf(ACME_SERVICE), port: ACME_HTTP_PORT } : undefined,
    });
    // One volume for the whole stack: the ACME service writes site.pem (root's, 600), every balancer reads it.
    const tlsVolume: VolumeSpec = { kind: "shared", name: "tls", path: TLS_DIR, retain: args.retainAcmeState ?? true };
    const resources: pulumi.Resource[] = [];
    // One pair for every balancer: from config, or made once by pulumi up (self-signed); ACME's comes later, by volume.
    const pair =
        s.tlsMode === "provided" && s.tlsCertificate && s.tlsKey
            ? { certificate: s.tlsCertificate, key: s.tlsKey }
            : s.tlsMode === "self-signed"
              ? selfSignedPair(`${name}-self-signed`, s.serverName, parent)
              : undefined;

    services.forEach((service, i) => {
        const files: FileSpec[] = [{ path: HAPROXY_CFG, content: haproxy }];
        if (pair) {
            files.push({ path: CERT_PATH, content: pulumi.secret(pulumi.interpolate`${pair.certificate}\n${pair.key}\n`), secret: true });
        }
        if (s.vrrp) {
            const vrrp = s.vrrp;
            const input = {
                name: args.placement.hostOf(service),
                interface: vrrp.interface,
                routerId: vrrp.routerId,
                address: vrrp.address,
                // The first balancer takes the address first; the others follow in order.
                priority: 150 - 10 * i,
                peers: services.filter((o) => o !== service).map((o) => args.placement.addressOf(o)),
                checkUrl: `http://127.0.0.1:${BALANCER_LISTEN.status}/`,
            };
            files.push(
                vrrp.password
                    ? {
                          path: KEEPALIVED_CFG,
                          content: pulumi.secret(vrrp.password.apply((password) => keepalivedConfig({ ...input, password }))),
                          secret: true,
                      }
                    : { path: KEEPALIVED_CFG, content: keepalivedConfig(input) },
            );
            files.push({ path: VIP_GUARD, content: vipGuardRules(vrrp.address) });
        }
        resources.push(
            args.placement.deploy(parent, {
                resourceName: `${name}-${i + 1}-haproxy`,
                service,
                image: { role: "balancer" },
                files,
                // ACME mode: the image makes a self-signed certificate at first start until the ACME service has published
                // the stack's, which then replaces it in place.
                env: { SERVER_NAME: s.serverName, ...(acme ? { TLS_SOURCE } : {}) },
                volumes: acme ? [tlsVolume] : undefined,
                // Only the first balancer publishes ports on a Docker host (a port has one container); the pair's door is
                // the floating address.
                ports: i === 0 ? [door.http, door.https, door.status] : [],
                listens: [
                    { port: BALANCER_LISTEN.http, from: "public" },
                    { port: BALANCER_LISTEN.https, from: "public" },
                    { port: BALANCER_LISTEN.status, from: "admin" },
                ],
                capabilities: s.vrrp ? VRRP_CAPABILITIES : undefined,
                health: {
                    command: `curl -fsS -o /dev/null http://127.0.0.1:${BALANCER_LISTEN.status}/`,
                    intervalS: 5,
                    timeoutS: 2,
                    retries: 3,
                    startPeriodS: 5,
                },
                memoryMb: args.memoryMb ?? 256,
                // On stop the address is handed over first, then HAProxy finishes the requests it serves.
                stopGraceS: 15,
                // HAProxy's master re-reads its config and hands new connections to new workers; keepalived re-reads its own.
                reload: [
                    `/usr/sbin/haproxy -c -q -f ${HAPROXY_CFG}`,
                    ...(s.vrrp ? [`/usr/sbin/keepalived -t -f ${KEEPALIVED_CFG}`] : []),
                    "/bin/kill -USR2 $MAINPID",
                ],
                dependsOn: args.dependsOn,
            }).resource,
        );
    });
    // After the balancers: its first order is validated through them.
    const acmeResource = acme ? deployAcme(name, parent, { ...args, dependsOn: resources }, tlsVolume, services) : undefined;
    const floating = s.vrrp?.address ?? "";
    return {
        url: floating ? `https://${floating}/` : `https://${https.host}:${https.port}/`,
        statusUrl: `http://${status.host}:${status.port}/`,
        statusUrls: services.map((service) => `http://${args.placement.addressOf(service)}:${BALANCER_LISTEN.status}/`),
        floatingAddress: floating,
        resources,
        acmeResource,
        acmeMetrics: acme ? `${args.placement.hostOf(ACME_SERVICE)}:${ACME_METRICS_PORT}` : undefined,
    };
}

/** Balancer layer (type `bitrix:cluster:Balancer`): a thin component over `createBalancer`. */
export const Balancer = layerComponent<BalancerArgs, BalancerResult>("bitrix:cluster:Balancer", createBalancer, (r) => ({
    url: r.url,
    statusUrl: r.statusUrl,
    statusUrls: r.statusUrls,
    floatingAddress: r.floatingAddress,
}));
export type Balancer = InstanceType<typeof Balancer>;
