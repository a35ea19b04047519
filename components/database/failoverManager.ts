/**
 * The database layer's failover manager (`db-failover`, images/mariadb/db-failover.py): its generated config and the
 * timings it works to. Percona's own pairing (Orchestrator + ProxySQL) and replication-manager cannot be had on the
 * machines this product is built on (the Go module proxy refuses them, neither is packaged by Debian), so the layer
 * carries the smallest mechanism that does the job honestly: every server starts read-only, one manager opens the
 * master, promotes the most advanced replica when the master is gone and its replicas agree, and re-attaches a server
 * that comes back. The web nodes route writes to whichever server is writable (see components/web/dbWriterRoute.ts).
 */
import { DbEngine } from "../config/types";

export interface FailoverManagerInput {
    engine: DbEngine;
    /** Master first, then the replicas, as the manager first finds them. */
    nodes: Array<{ name: string; host: string; port: number }>;
    /** Login the manager uses (created by the master's first-start SQL). */
    user: string;
    replicationUser: string;
    /** @default 1 */
    checkIntervalS?: number;
    /** Failed checks in a row before the master counts as gone (its replicas must agree as well). @default 3 */
    failAfter?: number;
    /** @default 1 */
    connectTimeoutS?: number;
    /**
     * Bitrix's replica rows: the manager keeps b_cluster_dbnode (when the cluster module created it) listing every
     * replica of the current master with this application login (password from DB_APP_PASSWORD), and then clears the
     * kernel's cached copy in the web nodes' Redis cache (password from REDIS_PASSWORD). @default none
     */
    bitrix?: { database: string; user: string; cache?: { nodes: Array<{ host: string; port: number }>; sid: string } };
}

/** Where the manager reads its config. */
export const FAILOVER_CONFIG_PATH = "/etc/db-failover/config.json";
export const FAILOVER_SERVICE = "db-failover";
export const FAILOVER_DB_USER = "failover";

export function failoverManagerConfig(input: FailoverManagerInput): string {
    if (input.nodes.length < 2) throw new Error("failoverManagerConfig: a master and at least one replica are required");
    return `${JSON.stringify(
        {
            engine: input.engine,
            nodes: input.nodes,
            user: input.user,
            replicationUser: input.replicationUser,
            checkIntervalS: input.checkIntervalS ?? 1,
            failAfter: input.failAfter ?? 3,
            connectTimeoutS: input.connectTimeoutS ?? 1,
            ...(input.bitrix ? { bitrix: { ...input.bitrix, weight: 100, syncEveryS: 10 } } : {}),
        },
        null,
        2,
    )}\n`;
}
