/** The Balancer layer: HAProxy with active health checks, TLS termination, the admin allowlist and a status page. */
import * as pulumi from "@pulumi/pulumi";
import { layerComponent } from "../shared/layer";
import { BalancerSettings } from "../config/types";
import { FileSpec, Placement } from "../placement/types";
import { balancerConfig, BalancerUpstream } from "./haproxyConfig";

export interface BalancerArgs {
    placement: Placement;
    upstreams: BalancerUpstream[];
    settings: BalancerSettings;
    healthPath: string;
    /** Published ports on the Docker host (placement docker; on hosts the balancer's own ports are the public ones). */
    published: { http: number; https: number; status: number };
    /** @default 256 */
    memoryMb?: number;
    dependsOn?: pulumi.Resource[];
}

export const BALANCER_LISTEN = { http: 80, https: 443, status: 8404 };
export const CERT_PATH = "/etc/haproxy/certs/site.pem";

export interface BalancerResult {
    url: string;
    statusUrl: string;
    resource: pulumi.Resource;
}

export function createBalancer(name: string, parent: pulumi.ComponentResource, args: BalancerArgs): BalancerResult {
    const s = args.settings;
    const ports = {
        http: { internal: BALANCER_LISTEN.http, published: args.published.http },
        https: { internal: BALANCER_LISTEN.https, published: args.published.https },
        status: { internal: BALANCER_LISTEN.status, published: args.published.status },
    };
    const https = args.placement.reach("balancer", ports.https);
    const status = args.placement.reach("balancer", ports.status);
    const config = balancerConfig({
        ...s, upstreams: args.upstreams, healthPath: args.healthPath, certPath: CERT_PATH, listen: BALANCER_LISTEN,
        publicHttpsPort: https.port, resolver: args.placement.dnsResolver,
    });
    const files: FileSpec[] = [{ path: "/etc/haproxy/haproxy.cfg", content: config }];
    if (s.tlsCertificate && s.tlsKey) {
        files.push({ path: CERT_PATH, content: pulumi.secret(pulumi.interpolate`${s.tlsCertificate}\n${s.tlsKey}\n`), secret: true });
    }
    const deployed = args.placement.deploy(parent, {
        resourceName: `${name}-haproxy`,
        service: "balancer",
        image: { role: "balancer" },
        files,
        // Without a certificate in config the image makes a self-signed one for this name at first start.
        env: { SERVER_NAME: s.serverName },
        ports: [ports.http, ports.https, ports.status],
        health: { command: `curl -fsS -o /dev/null http://127.0.0.1:${BALANCER_LISTEN.status}/`, intervalS: 5, timeoutS: 2, retries: 3, startPeriodS: 5 },
        memoryMb: args.memoryMb ?? 256,
        // HAProxy's master re-reads its config and hands new connections to new workers; old ones finish theirs.
        reload: ["/usr/sbin/haproxy -c -q -f /etc/haproxy/haproxy.cfg", "/bin/kill -USR2 $MAINPID"],
        dependsOn: args.dependsOn,
    });
    return {
        url: `https://${https.host}:${https.port}/`,
        statusUrl: `http://${status.host}:${status.port}/`,
        resource: deployed.resource,
    };
}

/** Balancer layer (type `bitrix:cluster:Balancer`): a thin component over `createBalancer`. */
export const Balancer = layerComponent<BalancerArgs, BalancerResult>("bitrix:cluster:Balancer", createBalancer, (r) => ({ url: r.url, statusUrl: r.statusUrl }));
export type Balancer = InstanceType<typeof Balancer>;
