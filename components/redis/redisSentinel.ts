/** The RedisSentinel layer: a Redis master, its replicas and an odd number of sentinels. */
import * as pulumi from "@pulumi/pulumi";
import { layerComponent } from "../shared/layer";
import { Placement, PortSpec } from "../placement/types";
import { SESSION_LOCK_PATTERN } from "../shared/sessionLocks";
import { redisConfig, redisStartEnv, sentinelConfig, sessionLockMinAgeMs } from "./redisConfig";

export interface RedisSentinelArgs {
    placement: Placement;
    password: pulumi.Input<string>;
    /** Replicas beside the master. @default 2 */
    replicas?: number;
    /** Sentinels (odd). @default 3 */
    sentinels?: number;
    /** @default majority of the sentinels */
    quorum?: number;
    /** Milliseconds without a valid reply before a Sentinel counts the master down. @default 2000 */
    downAfterMs?: number;
    /** @default 60000 */
    failoverTimeoutMs?: number;
    /** @default 256 */
    maxMemoryMb?: number;
    /** First published Sentinel port; 0 publishes none. @default 0 */
    publishedSentinelPortBase?: number;
    /** Keep data volumes on destroy. @default true */
    retainData?: boolean;
    /** @default 512 */
    memoryMb?: number;
    /**
     * The web nodes' session lock lifetime (php.ini `redis.session.lock_expire`, their max_execution_time): on a
     * failover the sentinels clear the locks taken before it (images/redis/session-locks.sh).
     * @default 60
     */
    sessionLockExpireS?: number;
}

export const REDIS_PORT = 6379;
export const SENTINEL_PORT = 26379;
export const MASTER_NAME = "bitrix";
export const REDIS_CONFIG_DIR = "/etc/redis/bitrix";
/** Where the image puts images/redis/session-locks.sh. */
export const SESSION_LOCKS_SCRIPT = "/usr/local/bin/redis-session-locks";

export interface RedisEndpoint {
    service: string;
    host: string;
    port: number;
}

export interface RedisSentinelResult {
    masterName: string;
    /** Redis nodes, the initial master first. */
    nodes: RedisEndpoint[];
    sentinels: RedisEndpoint[];
    quorum: number;
    resources: pulumi.Resource[];
}

export function createRedisSentinel(name: string, parent: pulumi.ComponentResource, args: RedisSentinelArgs): RedisSentinelResult {
    const placement = args.placement;
    const nodeCount = 1 + (args.replicas ?? 2);
    const sentinelCount = args.sentinels ?? 3;
    const quorum = args.quorum ?? Math.floor(sentinelCount / 2) + 1;
    const retain = args.retainData ?? true;
    const endpoint = (service: string, port: number): RedisEndpoint => ({ service, host: placement.hostOf(service), port });
    const nodes = Array.from({ length: nodeCount }, (_, i) => endpoint(`redis-${i + 1}`, REDIS_PORT));
    const sentinels = Array.from({ length: sentinelCount }, (_, i) => endpoint(`sentinel-${i + 1}`, SENTINEL_PORT));
    const master = nodes[0];
    const password = pulumi.output(args.password);
    const downAfterMs = args.downAfterMs ?? 2000;
    const sessionLocks = {
        pattern: SESSION_LOCK_PATTERN,
        expireMs: (args.sessionLockExpireS ?? 60) * 1000,
        minAgeMs: sessionLockMinAgeMs(downAfterMs),
    };
    const env = (self: RedisEndpoint, mode: "redis" | "sentinel") =>
        password.apply((pw) =>
            redisStartEnv({
                self: self.host,
                port: self.port,
                masterName: MASTER_NAME,
                sentinels: sentinels.map((s) => `${s.host}:${s.port}`),
                password: pw,
                sessionLocks: mode === "sentinel" ? sessionLocks : undefined,
            }),
        );
    // Redis nodes and sentinels run from the same image and differ in command, config file and port.
    const deploy = (
        self: RedisEndpoint,
        mode: "redis" | "sentinel",
        conf: pulumi.Output<string>,
        ports: PortSpec[],
        dependsOn: pulumi.Resource[],
    ) =>
        placement.deploy(parent, {
            resourceName: `${name}-${self.service}`,
            service: self.service,
            image: { role: "redis" },
            command: [mode],
            files: [
                { path: `${REDIS_CONFIG_DIR}/${mode}.conf`, content: conf, secret: true },
                { path: `${REDIS_CONFIG_DIR}/${mode}.env`, content: env(self, mode), secret: true },
            ],
            // A Redis node's data is the sessions; a sentinel's only what it learned, which it learns again.
            volumes: [{ kind: "data", name: "data", path: "/var/lib/redis", retain, precious: mode === "redis" }],
            ports,
            listens: [{ port: self.port, from: "cluster" }],
            health: {
                command: `. ${REDIS_CONFIG_DIR}/${mode}.env && REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -p ${self.port} ping | grep -q PONG`,
                intervalS: 5,
                timeoutS: 3,
                retries: 3,
                startPeriodS: 10,
            },
            memoryMb: args.memoryMb ?? 512,
            dependsOn,
        }).resource;

    const nodeResources: pulumi.Resource[] = [];
    for (const [i, node] of nodes.entries()) {
        const conf = password.apply((pw) =>
            redisConfig({
                host: node.host,
                port: node.port,
                password: pw,
                maxMemoryMb: args.maxMemoryMb ?? 256,
                dataDir: "/var/lib/redis",
                replicaOf: i === 0 ? undefined : { host: master.host, port: master.port },
            }),
        );
        nodeResources.push(deploy(node, "redis", conf, [], nodeResources.slice(0, 1)));
    }
    const base = args.publishedSentinelPortBase ?? 0;
    const sentinelResources = sentinels.map((sentinel, i) => {
        const conf = password.apply((pw) =>
            sentinelConfig({
                host: sentinel.host,
                port: sentinel.port,
                masterName: MASTER_NAME,
                master: { host: master.host, port: master.port },
                quorum,
                password: pw,
                downAfterMs,
                failoverTimeoutMs: args.failoverTimeoutMs ?? 60000,
                dataDir: "/var/lib/redis",
                reconfigScript: SESSION_LOCKS_SCRIPT,
            }),
        );
        return deploy(sentinel, "sentinel", conf, base ? [{ internal: SENTINEL_PORT, published: base + i }] : [], nodeResources);
    });
    const resources = [...nodeResources, ...sentinelResources];
    return { masterName: MASTER_NAME, nodes, sentinels, quorum, resources };
}

/** RedisSentinel layer (type `bitrix:cluster:RedisSentinel`): a thin component over `createRedisSentinel`. */
export const RedisSentinel = layerComponent<RedisSentinelArgs, RedisSentinelResult>(
    "bitrix:cluster:RedisSentinel",
    createRedisSentinel,
    (r) => ({
        masterName: r.masterName,
        nodes: r.nodes.map((n) => `${n.host}:${n.port}`),
        sentinels: r.sentinels.map((s) => `${s.host}:${s.port}`),
    }),
);
export type RedisSentinel = InstanceType<typeof RedisSentinel>;
