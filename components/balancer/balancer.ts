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
    /** Published ports on the host. */
    published: { http: number; https: number; status: number };
    /** Address the published ports bind to, for the URLs. @default "127.0.0.1" */
    bindAddress?: string;
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
    const config = balancerConfig({
        ...s, upstreams: args.upstreams, healthPath: args.healthPath, certPath: CERT_PATH, listen: BALANCER_LISTEN,
        publicHttpsPort: args.published.https, resolver: args.placement.dnsResolver,
    });
    const files: FileSpec[] = [{ path: "/etc/haproxy/haproxy.cfg", content: config }];
    if (s.tlsCertificate && s.tlsKey) {
        files.push({ path: CERT_PATH, content: pulumi.secret(pulumi.interpolate`${s.tlsCertificate}\n${s.tlsKey}\n`) });
    }
    const deployed = args.placement.deploy(parent, {
        resourceName: `${name}-haproxy`,
        service: "balancer",
        image: { role: "balancer" },
        files,
        // Without a certificate in config the image makes a self-signed one for this name at first start.
        env: { SERVER_NAME: s.serverName },
        ports: [
            { internal: BALANCER_LISTEN.http, published: args.published.http },
            { internal: BALANCER_LISTEN.https, published: args.published.https },
            { internal: BALANCER_LISTEN.status, published: args.published.status },
        ],
        health: { command: `curl -fsS -o /dev/null http://127.0.0.1:${BALANCER_LISTEN.status}/`, intervalS: 5, timeoutS: 2, retries: 3, startPeriodS: 5 },
        memoryMb: args.memoryMb ?? 256,
        dependsOn: args.dependsOn,
    });
    const host = args.bindAddress ?? "127.0.0.1";
    return {
        url: `https://${host}:${args.published.https}/`,
        statusUrl: `http://${host}:${args.published.status}/`,
        resource: deployed.resource,
    };
}

/** Balancer layer (type `bitrix:cluster:Balancer`): a thin component over `createBalancer`. */
export const Balancer = layerComponent<BalancerArgs, BalancerResult>("bitrix:cluster:Balancer", createBalancer, (r) => ({ url: r.url, statusUrl: r.statusUrl }));
export type Balancer = InstanceType<typeof Balancer>;
