/** Starts the cluster's own daemons on loopback from the generated files, through the images' entrypoints. */
import * as fs from "node:fs";
import * as path from "node:path";
import { dbServerConfig } from "../../components/database/serverConfig";
import { redisProxyConfig } from "../../components/redis/proxyConfig";
import { redisConfig, redisStartEnv } from "../../components/redis/redisConfig";
import { loopbackDefaults } from "../../tools/bench/localMariadb";
import { Daemons, portOpen, run, waitFor, write } from "./daemons";

export const IMAGES = path.join(__dirname, "..", "..", "..", "images");

/** The entrypoint script of one of the project's images. */
export const entrypointOf = (role: string) => path.join(IMAGES, role, "entrypoint.sh");
export const HOST = "127.0.0.1";

/** Bitrix's b_cluster_dbnode as the cluster module's install SQL creates it (what the kernel picks replicas from). */
export const CLUSTER_DBNODE_DDL =
    "CREATE TABLE IF NOT EXISTS b_cluster_dbnode (ID INT(11) NOT NULL AUTO_INCREMENT, ACTIVE CHAR(1) NOT NULL DEFAULT 'Y', " +
    "GROUP_ID INT(11), ROLE_ID VARCHAR(50), NAME VARCHAR(50), DESCRIPTION VARCHAR(250), DB_HOST VARCHAR(250), DB_NAME VARCHAR(250), " +
    "DB_LOGIN VARCHAR(50), DB_PASSWORD VARCHAR(50), MASTER_ID INT(11), MASTER_HOST VARCHAR(50), MASTER_PORT INT(11), SERVER_ID VARCHAR(50), " +
    "STATUS VARCHAR(50), UNIQID VARCHAR(50), SELECTABLE CHAR(1), WEIGHT INT(11), PRIMARY KEY (ID))";

/**
 * Node 1 of b_cluster_dbnode: the cluster module's record of the main database (CClusterSlave and CClusterDBNode treat
 * node_id 1 as the kernel's own connection, classes/mysql/slave.php of cluster 23.900). The module adds it when it is
 * installed; db-failover registers replicas only beside it.
 */
export const CLUSTER_MAIN_ROW =
    "INSERT IGNORE INTO b_cluster_dbnode (ID, GROUP_ID, ACTIVE, ROLE_ID, NAME, STATUS) VALUES (1, 1, 'Y', 'MAIN', 'Main database', 'ONLINE')";
/** The cluster module's table as an installed module leaves it: created, with its main-database row. */
export const CLUSTER_MODULE_SQL = `${CLUSTER_DBNODE_DDL}; ${CLUSTER_MAIN_ROW}`;

export interface MariadbNode {
    dir: string;
    socket: string;
    port: number;
}

/** A MariaDB node from the generated config and init SQL, started by images/mariadb/entrypoint.sh. */
export async function startMariadb(
    daemons: Daemons,
    root: string,
    node: string,
    args: { role: "master" | "replica"; serverId: number; port: number; initSql: string; managed?: boolean },
): Promise<MariadbNode> {
    fs.chmodSync(root, 0o755);
    const dir = path.join(root, node);
    const socket = path.join(dir, "run", "mysqld.sock");
    const generated = write(
        path.join(dir, "90-bitrix.cnf"),
        dbServerConfig({
            engine: "mariadb",
            role: args.role,
            serverId: args.serverId,
            reportHost: HOST,
            port: args.port,
            redoLogMb: 64,
            bufferPoolMb: 64,
            semiSyncTimeoutMs: 1000,
            managed: args.managed,
        }),
    );
    const defaults = write(path.join(dir, "my.cnf"), loopbackDefaults(dir, `${dir}/data`, socket, generated));
    if (!fs.existsSync(path.join(dir, "initdb"))) write(path.join(dir, "initdb", `10-bitrix-${args.role}.sql`), args.initSql);
    daemons.start(node, "bash", [entrypointOf("mariadb"), "mariadbd", `--defaults-file=${defaults}`, "--user=mysql"], {
        MARIADB_ROOT_PASSWORD: "root pw",
        MARIADB_DATADIR: path.join(dir, "data"),
        MARIADB_RUN_DIR: path.join(dir, "run"),
        MARIADB_INITDB_DIR: path.join(dir, "initdb"),
        MARIADB_DEFAULTS_FILE: defaults,
    });
    await waitFor(`${node} on port ${args.port}`, () => portOpen(args.port), 90000, 250).catch((e) => {
        throw new Error(`${e}\n${daemons.log(node)}`);
    });
    return { dir, socket, port: args.port };
}

export function mariadbSql(node: MariadbNode, query: string): string {
    return run("mariadb", ["--socket", node.socket, "-N", "-B", "-e", query]).trim();
}

/** SHOW SLAVE STATUS of a node as field → value (empty when it has no replication configured). */
export function mariadbSlaveStatus(node: MariadbNode): Record<string, string> {
    const out = run("mariadb", ["--socket", node.socket, "-e", "SHOW SLAVE STATUS\\G"]);
    return Object.fromEntries(
        out
            .split("\n")
            .map((l) => /^\s*(\w+): ?(.*)$/.exec(l))
            .filter((m): m is RegExpExecArray => !!m)
            .map((m) => [m[1], m[2]]),
    );
}

export function redisCli(port: number, password: string, ...args: string[]): string {
    return run("redis-cli", ["-h", HOST, "-p", String(port), "--raw", ...args], { env: { REDISCLI_AUTH: password } }).trim();
}

/** A Redis node or sentinel started by images/redis/entrypoint.sh from files already in `dir/conf`. */
export function startRedisEntrypoint(daemons: Daemons, name: string, dir: string, mode: "redis" | "sentinel"): void {
    daemons.start(name, "bash", [entrypointOf("redis"), mode], {
        REDIS_RUN_AS: "root",
        REDIS_CONF_DIR: path.join(dir, "conf"),
        REDIS_DATA_DIR: path.join(dir, "data"),
    });
}

/** Writes a Redis node's generated files and starts it. */
export function startRedisNode(
    daemons: Daemons,
    root: string,
    args: { port: number; password: string; replicaOf?: number; sentinels: string[] },
): string {
    const dir = path.join(root, `redis-${args.port}`);
    write(
        path.join(dir, "conf", "redis.conf"),
        redisConfig({
            host: HOST,
            port: args.port,
            password: args.password,
            maxMemoryMb: 32,
            dataDir: path.join(dir, "data"),
            replicaOf: args.replicaOf ? { host: HOST, port: args.replicaOf } : undefined,
        }),
    );
    write(
        path.join(dir, "conf", "redis.env"),
        redisStartEnv({ self: HOST, port: args.port, masterName: "bitrix", sentinels: args.sentinels, password: args.password }),
    );
    fs.mkdirSync(path.join(dir, "data"), { recursive: true });
    startRedisEntrypoint(daemons, `redis-${args.port}`, dir, "redis");
    return dir;
}

/** The web nodes' Redis-master proxy (HAProxy) in front of the given Redis ports. */
export function startRedisProxy(daemons: Daemons, root: string, args: { port: number; password: string; nodes: number[] }): string {
    const cfg = write(
        path.join(root, "redis-proxy.cfg"),
        redisProxyConfig({
            nodes: args.nodes.map((p, i) => ({ name: `redis-${i + 1}`, host: HOST, port: p })),
            password: args.password,
            listen: { address: HOST, port: args.port },
            checkIntervalMs: 500,
            adminSocket: path.join(root, "redis-proxy.sock"),
        }),
    );
    daemons.start("redis-proxy", "haproxy", ["-db", "-f", cfg]);
    return cfg;
}
