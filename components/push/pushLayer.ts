/**
 * The Push layer (docs/push.md): `count` push services running the user's push server image with generated sub and
 * pub configs, and one Redis of their own that stores messages and carries them between push services (pub/sub).
 * The balancers route subscribers to the push services; web nodes publish through their local route.
 */
import * as pulumi from "@pulumi/pulumi";
import { layerComponent } from "../shared/layer";
import { Placement } from "../placement/types";
import { DEFAULT_PUSH_TTLS, PUSH_REDIS_PORT, pushConfigPath, PUSH_PORTS, pushRedisConfig, pushServerConfig, PushTtls } from "./pushConfig";

export const PUSH_REDIS_SERVICE = "push-redis";
export const PUSH_REDIS_CONF = "/etc/redis/push/redis.conf";

/** Service names of `count` push services: push-1, push-2, … */
export function pushServices(count: number): string[] {
    return Array.from({ length: count }, (_, i) => `push-${i + 1}`);
}

export interface PushLayerArgs {
    placement: Placement;
    /** Number of push services. */
    count: number;
    /** The push server's image (supplied by the user: Bitrix distributes the server with its environment only). */
    image: string;
    /** Signature key shared with the pull module (letters and digits). */
    key: pulumi.Input<string>;
    /** Storage lifetimes. @default DEFAULT_PUSH_TTLS */
    ttls?: PushTtls;
    /** maxmemory of the push Redis in MB. @default 64 */
    redisMaxMemoryMb?: number;
    /** Memory limit of each push service in MB. @default 256 */
    memoryMb?: number;
    dependsOn?: pulumi.Resource[];
}

export interface PushEndpoint {
    service: string;
    host: string;
}

export interface PushLayerResult {
    /** The push services, first to last. */
    servers: PushEndpoint[];
    /** The push Redis. */
    redis: { host: string; port: number };
    resources: pulumi.Resource[];
}

export function createPushLayer(name: string, parent: pulumi.ComponentResource, args: PushLayerArgs): PushLayerResult {
    if (args.count < 1) throw new Error(`${name}: at least one push service`);
    const maxMemoryMb = args.redisMaxMemoryMb ?? 64;
    const redis = args.placement.deploy(parent, {
        resourceName: `${name}-redis`,
        service: PUSH_REDIS_SERVICE,
        image: { role: "redis" },
        files: [{ path: PUSH_REDIS_CONF, content: pushRedisConfig({ maxMemoryMb }) }],
        command: ["runuser", "-u", "redis", "--", "redis-server", PUSH_REDIS_CONF],
        // No password (the push server cannot send one): only the cluster's own machines may reach it.
        listens: [{ port: PUSH_REDIS_PORT, from: "cluster" }],
        health: { command: `redis-cli -p ${PUSH_REDIS_PORT} ping | grep -q PONG`, intervalS: 5, timeoutS: 2, retries: 3, startPeriodS: 5 },
        memoryMb: maxMemoryMb + 64,
        dependsOn: args.dependsOn,
    });
    const redisAt = { host: redis.host, port: PUSH_REDIS_PORT };
    const servers: PushEndpoint[] = [];
    const resources: pulumi.Resource[] = [redis.resource];
    pushServices(args.count).forEach((service, i) => {
        const config = (role: "sub" | "pub") =>
            pulumi.secret(
                pulumi
                    .output(args.key)
                    .apply((key) => pushServerConfig({ role, service, key, redis: redisAt, ttls: args.ttls ?? DEFAULT_PUSH_TTLS })),
            );
        const deployed = args.placement.deploy(parent, {
            resourceName: `${name}-${i + 1}`,
            service,
            image: { pull: args.image },
            // The image starts one subscriber and one publisher listener from these files (docs/push.md).
            files: (["sub", "pub"] as const).map((role) => ({ path: pushConfigPath(role), content: config(role), secret: true })),
            env: { PUSH_SUB_CONFIG: pushConfigPath("sub"), PUSH_PUB_CONFIG: pushConfigPath("pub") },
            // Subscribers come through the balancers, publishers are the web nodes: both cluster hosts.
            listens: [
                { port: PUSH_PORTS.sub, from: "cluster" },
                { port: PUSH_PORTS.pub, from: "cluster" },
            ],
            memoryMb: args.memoryMb ?? 256,
            stopGraceS: 5,
            dependsOn: [redis.resource],
        });
        servers.push({ service, host: deployed.host });
        resources.push(deployed.resource);
    });
    return { servers, redis: redisAt, resources };
}

/** Push layer (type `bitrix:cluster:Push`): a thin component over `createPushLayer`. */
export const PushLayer = layerComponent<PushLayerArgs, PushLayerResult>("bitrix:cluster:Push", createPushLayer, (r) => ({
    servers: r.servers.map((s) => s.host),
    redis: `${r.redis.host}:${r.redis.port}`,
}));
export type PushLayer = InstanceType<typeof PushLayer>;
