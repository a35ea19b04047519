/**
 * The Push layer (docs/push.md): `count` push services running the user's push server (an image on Docker, a
 * tarball on hosts) with generated sub and pub configs, and one Redis of their own that stores messages and carries
 * them between push services (pub/sub). The balancers route subscribers to the push services; web nodes publish
 * through their local route.
 */
import * as pulumi from "@pulumi/pulumi";
import { layerComponent } from "../shared/layer";
import { Placement } from "../placement/types";
import { PUSH_SERVICE_USER } from "../placement/hostPackages";
import { PUSH_ARCHIVE_DIR, PUSH_ARCHIVE_ENTRY, PushArchive } from "./pushArchive";
import {
    DEFAULT_PUSH_TTLS,
    PUSH_PATHS,
    PUSH_REDIS_PORT,
    pushConfigPath,
    PUSH_PORTS,
    pushRedisConfig,
    pushServerConfig,
    PushTtls,
} from "./pushConfig";

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
    /**
     * The push server, supplied by the user (Bitrix distributes it with its environment only): a container image
     * (Docker), or a checked tarball (hosts; readPushArchive), unpacked to PUSH_ARCHIVE_DIR and run as PUSH_SERVICE_USER.
     */
    server: { image: string } | { archive: PushArchive };
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

/**
 * A push service answers on both listeners: the publisher's stats with 200, the subscriber's path without a channel
 * id with the server's own 400 (hosts, where the start step waits for it; curl is in the push role's packages).
 */
export const pushHealth = {
    command:
        `curl -fsS -o /dev/null http://127.0.0.1:${PUSH_PORTS.pub}${PUSH_PATHS.stat} && ` +
        `[ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:${PUSH_PORTS.sub}${PUSH_PATHS.subws})" = 400 ]`,
    intervalS: 1,
    timeoutS: 2,
    retries: 15,
    startPeriodS: 5,
};

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
        const archive = "archive" in args.server ? args.server.archive : undefined;
        const deployed = args.placement.deploy(parent, {
            resourceName: `${name}-${i + 1}`,
            service,
            ...(archive
                ? {
                      image: { archive: { path: archive.path, sha256: archive.sha256, into: PUSH_ARCHIVE_DIR } },
                      // Never root: the unpacked server is root's, its configs are readable through the user's group.
                      command: ["runuser", "-u", PUSH_SERVICE_USER, "--", `${PUSH_ARCHIVE_DIR}/${PUSH_ARCHIVE_ENTRY}`],
                      health: pushHealth,
                  }
                : { image: { pull: (args.server as { image: string }).image } }),
            // The server starts one subscriber and one publisher listener from these files (docs/push.md).
            files: (["sub", "pub"] as const).map((role) => ({
                path: pushConfigPath(role),
                content: config(role),
                secret: true,
                ...(archive ? { group: PUSH_SERVICE_USER } : {}),
            })),
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
