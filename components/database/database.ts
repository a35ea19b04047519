/** The Database layer: a GTID master and M replicas, Percona Server 8.0 or MariaDB. */
import * as pulumi from "@pulumi/pulumi";
import { layerComponent } from "../shared/layer";
import { DbEngine } from "../config/types";
import { ImageSpec, Placement, ServiceSpec } from "../placement/types";
import { INIT_SQL_DIR, masterInitSql, replicaInitSql } from "./initSql";
import { DB_CONFIG_PATH, dbServerConfig } from "./serverConfig";
import { FAILOVER_CONFIG_PATH, FAILOVER_DB_USER, FAILOVER_SERVICE, failoverManagerConfig } from "./failoverManager";
import { binlogStreamSpec } from "./binlogStream";

/** The replication login the master creates. */
export const REPLICATION_DB_USER = "replicator";

export interface DatabaseArgs {
    placement: Placement;
    /** @default "percona" */
    engine?: DbEngine;
    /** Number of replicas. @default 1 */
    replicas?: number;
    /** Application database. @default "bitrix" */
    database?: string;
    /** Application user. @default "bitrix" */
    user?: string;
    password: pulumi.Input<string>;
    rootPassword: pulumi.Input<string>;
    replicationPassword: pulumi.Input<string>;
    /** Replication user. @default "replicator" */
    replicationUser?: string;
    /** @default 1024 */
    redoLogMb?: number;
    /** @default 512 */
    bufferPoolMb?: number;
    /** @default 1000 */
    semiSyncTimeoutMs?: number;
    /** Image for the percona engine. @default "percona/percona-server:8.0.36-28" */
    perconaImage?: string;
    /** First published port (master, then replicas); 0 publishes none. @default 0 */
    publishedPortBase?: number;
    /** Keep data volumes on destroy. @default true */
    retainData?: boolean;
    /** @default 2048 */
    memoryMb?: number;
    /** Login of the monitoring exporter, created at the master's first start. @default none */
    monitor?: { user: string; password: pulumi.Input<string> };
    /**
     * Password of the failover manager's login. With it (and at least one replica) every server starts read-only and
     * the `db-failover` service opens the master and promotes a replica when the master is gone. @default none
     */
    failoverPassword?: pulumi.Input<string>;
    /**
     * The web nodes' Redis cache (the Redis nodes, their password and the cache sid): the failover manager clears the
     * kernel's cached copy of b_cluster_dbnode there after it rewrote the rows. @default none (rows only)
     */
    kernelCache?: { nodes: Array<{ host: string; port: number }>; password: pulumi.Input<string>; sid: string };
    /** Run the binlog-stream service for point-in-time restores (binlogStream.ts; engine mariadb). @default false */
    binlogStream?: boolean;
    /** The binlog-stream service writes its lag metrics for the Monitoring layer. @default false */
    binlogStreamMetrics?: boolean;
}

export const DB_PORT = 3306;

export interface DbNode {
    service: string;
    host: string;
    port: number;
    resource: pulumi.Resource;
}

export interface DatabaseResult {
    engine: DbEngine;
    master: DbNode;
    replicas: DbNode[];
    database: string;
    user: string;
    /** The failover manager's resource when it runs: web nodes then route writes to whichever server is writable. */
    failover?: pulumi.Resource;
    /** The binlog-stream service's resource when it runs. */
    binlogStream?: pulumi.Resource;
}

export function createDatabase(name: string, parent: pulumi.ComponentResource, args: DatabaseArgs): DatabaseResult {
    const engine = args.engine ?? "percona";
    const replicaCount = args.replicas ?? 1;
    const database = args.database ?? "bitrix";
    const user = args.user ?? "bitrix";
    const replicationUser = args.replicationUser ?? REPLICATION_DB_USER;
    const placement = args.placement;
    const image: ImageSpec = engine === "percona" ? { pull: args.perconaImage ?? "percona/percona-server:8.0.36-28" } : { role: "mariadb" };
    const admin = engine === "percona" ? "mysqladmin" : "mariadb-admin";
    const rootEnv = engine === "percona" ? "MYSQL_ROOT_PASSWORD" : "MARIADB_ROOT_PASSWORD";
    const masterService = "db-master";
    const masterHost = placement.hostOf(masterService);
    const managed = args.failoverPassword !== undefined && replicaCount > 0;

    const node = (index: number, initSql: pulumi.Input<string>, dependsOn: pulumi.Resource[]): DbNode => {
        const master = index === 0;
        const service = master ? masterService : `db-replica-${index}`;
        const host = placement.hostOf(service);
        const spec: ServiceSpec = {
            resourceName: master ? `${name}-master` : `${name}-replica-${index}`,
            service,
            image,
            files: [
                {
                    path: DB_CONFIG_PATH[engine],
                    content: dbServerConfig({
                        engine,
                        role: master ? "master" : "replica",
                        serverId: index + 1,
                        reportHost: host,
                        port: DB_PORT,
                        redoLogMb: args.redoLogMb ?? 1024,
                        bufferPoolMb: args.bufferPoolMb ?? 512,
                        semiSyncTimeoutMs: args.semiSyncTimeoutMs ?? 1000,
                        managed,
                    }),
                },
                { path: `${INIT_SQL_DIR}/10-bitrix-${master ? "master" : "replica"}.sql`, content: initSql, secret: true },
            ],
            env: { [rootEnv]: args.rootPassword },
            volumes: [{ kind: "data", name: "data", path: "/var/lib/mysql", retain: args.retainData ?? true, precious: true }],
            ports: args.publishedPortBase ? [{ internal: DB_PORT, published: args.publishedPortBase + index }] : [],
            listens: [{ port: DB_PORT, from: "cluster" }],
            health: {
                command: `${admin} ping --protocol=tcp -h 127.0.0.1 --silent`,
                intervalS: 5,
                timeoutS: 3,
                retries: 5,
                startPeriodS: 120,
            },
            memoryMb: args.memoryMb ?? 2048,
            // InnoDB flushes dirty pages on shutdown; a killed server would need crash recovery at the next start.
            stopGraceS: 120,
            dependsOn,
        };
        return { service, host, port: DB_PORT, resource: placement.deploy(parent, spec).resource };
    };

    const monitor = args.monitor;
    const masterSql = pulumi
        .all([args.password, args.replicationPassword, monitor?.password ?? "", args.failoverPassword ?? ""])
        .apply(([appPassword, replicationPassword, monitorPassword, failoverPassword]) =>
            masterInitSql({
                engine,
                database,
                appUser: user,
                appPassword,
                replicationUser,
                replicationPassword,
                ...(monitor ? { monitor: { user: monitor.user, password: monitorPassword } } : {}),
                ...(managed ? { failover: { user: FAILOVER_DB_USER, password: failoverPassword } } : {}),
            }),
        );
    const replicaSql = pulumi
        .output(args.replicationPassword)
        .apply((replicationPassword) => replicaInitSql({ engine, masterHost, masterPort: DB_PORT, replicationUser, replicationPassword }));

    const master = node(0, masterSql, []);
    const replicas = Array.from({ length: replicaCount }, (_, i) => node(i + 1, replicaSql, [master.resource]));
    const failover = managed
        ? placement.deploy(parent, {
              resourceName: `${name}-failover`,
              service: FAILOVER_SERVICE,
              // The manager is Python with Debian's PyMySQL, shipped in the mariadb image; it manages Percona the same way.
              image: { role: "mariadb" },
              command: ["/usr/local/bin/db-failover", FAILOVER_CONFIG_PATH],
              files: [
                  {
                      path: FAILOVER_CONFIG_PATH,
                      content: failoverManagerConfig({
                          engine,
                          user: FAILOVER_DB_USER,
                          replicationUser,
                          nodes: [master, ...replicas].map((n) => ({ name: n.service, host: n.host, port: n.port })),
                          bitrix: {
                              database,
                              user,
                              ...(args.kernelCache
                                  ? {
                                        cache: {
                                            nodes: args.kernelCache.nodes.map((n) => ({ host: n.host, port: n.port })),
                                            sid: args.kernelCache.sid,
                                        },
                                    }
                                  : {}),
                          },
                      }),
                  },
              ],
              env: {
                  DB_FAILOVER_PASSWORD: args.failoverPassword!,
                  DB_REPLICATION_PASSWORD: args.replicationPassword,
                  DB_APP_PASSWORD: args.password,
                  ...(args.kernelCache ? { REDIS_PASSWORD: args.kernelCache.password } : {}),
              },
              // Healthy while its loop runs: the beat file (holding the current master's name) is younger than 10 s.
              health: {
                  command: "test $(( $(date +%s) - $(stat -c %Y /run/db-failover/beat) )) -lt 10",
                  intervalS: 5,
                  timeoutS: 3,
                  retries: 3,
                  startPeriodS: 10,
              },
              memoryMb: 128,
              dependsOn: [master.resource, ...replicas.map((r) => r.resource)],
          }).resource
        : undefined;
    if (args.binlogStream && engine !== "mariadb") throw new Error("database: the binlog streamer is built for engine mariadb only");
    const binlogStream = args.binlogStream
        ? placement.deploy(
              parent,
              binlogStreamSpec({
                  resourceName: `${name}-binlog-stream`,
                  servers: [master, ...replicas].map((n) => ({ host: n.host, port: n.port })),
                  user: replicationUser,
                  password: args.replicationPassword,
                  retain: args.retainData ?? true,
                  metrics: args.binlogStreamMetrics ?? false,
                  dependsOn: [master.resource, ...replicas.map((r) => r.resource), ...(failover ? [failover] : [])],
              }),
          ).resource
        : undefined;
    return { engine, master, replicas, database, user, failover, binlogStream };
}

/** Database layer (type `bitrix:cluster:Database`): a thin component over `createDatabase`. */
export const Database = layerComponent<DatabaseArgs, DatabaseResult>("bitrix:cluster:Database", createDatabase, (r) => ({
    master: `${r.master.host}:${r.master.port}`,
    replicas: r.replicas.map((n) => `${n.host}:${n.port}`),
    failover: r.failover !== undefined,
    binlogStream: r.binlogStream !== undefined,
}));
export type Database = InstanceType<typeof Database>;
