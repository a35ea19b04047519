/**
 * The db-master drill (seed 002: "kill the MySQL master → replica promoted, application reconnects within 60 s") on a
 * Docker stack: under steady writes through the floating address (each answered write is an acknowledged row), the
 * writable server's container (the master, whichever server holds that role now) is killed (SIGKILL). The drill measures when writes succeed again, checks that every
 * acknowledged row is on the promoted server, then starts the old master and waits until it replicates from the
 * promoted one at the same GTID position. Goal: writes again within 30 s, 0 acknowledged rows lost, old master rejoined.
 */
import { docker, waitUntil } from "./docker";
import { interruption, Interruption, recoveredAfter, RequestRecord, startLoad, steadyAgain } from "./load";

export interface DbMasterDrillInput {
    /** e.g. https://172.28.20.5 */
    base: string;
    /** Stack name prefix (containers are `<prefix>-db-master`, `<prefix>-db-replica-N`). */
    prefix: string;
    replicas: number;
    /** The application database (config `dbName`). @default "bitrix" */
    database?: string;
    /** @default 4 */
    concurrency?: number;
    /** @default 30 */
    goalS?: number;
    log?: (line: string) => void;
}

export interface DbMasterDrillResult extends Interruption {
    /** Seconds from the kill until writes were acknowledged again for good (see recoveredAfter). */
    writesBackS: number;
    acknowledged: number;
    lost: number;
    /** The server that was writable and was killed. */
    master: string;
    promoted: string;
    /** Seconds from starting the old master until it replicates from the promoted server at its GTID position. */
    rejoinS: number;
    gtid: string;
    pass: boolean;
}

/** SQL as root inside a database container (asynchronous: the load runs in this process). */
export async function dbSql(container: string, query: string): Promise<string> {
    return (await docker(["exec", container, "sh", "-c", `mariadb -uroot -p"$MARIADB_ROOT_PASSWORD" -N -B -e "${query}"`])).trim();
}

/** SHOW SLAVE STATUS as column → value (empty when the server replicates from nobody). */
export async function slaveStatus(container: string): Promise<Record<string, string>> {
    // With column names (no -N): batch output is a header line and a value line, tab-separated.
    const out = (
        await docker(["exec", container, "sh", "-c", 'mariadb -uroot -p"$MARIADB_ROOT_PASSWORD" -B -e "SHOW SLAVE STATUS"'])
    ).split("\n");
    if (out.length < 2 || !out[1]) return {};
    const names = out[0].split("\t");
    const values = out[1].split("\t");
    return Object.fromEntries(names.map((n, i) => [n, values[i] ?? ""]));
}

/** The server accepts writes (read_only off): the master, as the failover manager keeps it. */
export async function writable(container: string): Promise<boolean> {
    try {
        return (await dbSql(container, "SELECT @@global.read_only")) === "0";
    } catch {
        return false;
    }
}

export async function dbMasterDrill(input: DbMasterDrillInput): Promise<DbMasterDrillResult> {
    const log = input.log ?? (() => undefined);
    // The writable server is the master, whichever it is now (an earlier failover may have moved the role).
    const servers = [
        `${input.prefix}-db-master`,
        ...Array.from({ length: input.replicas }, (_, i) => `${input.prefix}-db-replica-${i + 1}`),
    ];
    const roles = await Promise.all(servers.map(writable));
    if (roles.filter(Boolean).length !== 1)
        throw new Error(
            `drill db-master: expected exactly one writable server among ${servers.join(", ")}, found ${roles.filter(Boolean).length}`,
        );
    const master = servers[roles.indexOf(true)];
    const replicas = servers.filter((s) => s !== master);
    const run = `d${Date.now().toString(36)}`;
    const load = startLoad((seq) => `${input.base}/probe/?action=write&value=${run}-${seq}`, {
        concurrency: input.concurrency ?? 4,
        keepBody: true,
        timeoutMs: 10_000,
    });
    let records: RequestRecord[] = [];
    let at = 0;
    let promoted = "";
    try {
        await new Promise((r) => setTimeout(r, 2000));
        // Killed while semi-sync is on (its normal state): a master that fell back to asynchronous commits after
        // semiSyncTimeoutMs can lose writes and diverge; that trade-off is the setting's, not the failover's (docs/known-limits.md).
        await waitUntil(
            `semi-sync on at ${master}`,
            async () =>
                (await dbSql(
                    master,
                    "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'Rpl_semi_sync_master_status'",
                )) === "ON",
            30_000,
        );
        log(`drill: kill ${master}`);
        at = load.now();
        await docker(["kill", master]);
        await waitUntil(
            "a replica promoted",
            async () => {
                for (const r of replicas)
                    if (await writable(r)) {
                        promoted = r;
                        return true;
                    }
                return false;
            },
            60_000,
        );
        // Writes through the balancer again, then 3 s more of them.
        await waitUntil("writes through the balancer again", () => steadyAgain(load.seen(), at), 90_000);
        await new Promise((r) => setTimeout(r, 3000));
    } finally {
        records = await load.stop();
    }
    const seen = interruption(records, at, at - 1000, records[records.length - 1]?.end ?? at);
    const writesBackS = recoveredAfter(records, at);
    const acked = records
        .filter((r) => r.status === 200)
        .map((r) => (JSON.parse(r.body ?? "{}") as { value?: string }).value)
        .filter((v): v is string => Boolean(v));
    const stored = new Set(
        (await dbSql(promoted, `SELECT value FROM ${input.database ?? "bitrix"}.probe_rows WHERE value LIKE '${run}-%'`)).split("\n"),
    );
    const lost = acked.filter((v) => !stored.has(v)).length;
    log(
        `drill: ${promoted} promoted; writes back after ${writesBackS} s; ${acked.length} acknowledged, ${lost} lost; start ${master} again`,
    );

    const t0 = performance.now();
    await docker(["start", master]);
    let gtid = "";
    const rejoined = waitUntil(
        `${master} replicating from ${promoted}`,
        async () => {
            try {
                const st = await slaveStatus(master);
                if (st.Master_Host !== promoted || st.Slave_IO_Running !== "Yes" || st.Slave_SQL_Running !== "Yes") return false;
                const [a, b] = await Promise.all([
                    dbSql(master, "SELECT @@global.gtid_current_pos"),
                    dbSql(promoted, "SELECT @@global.gtid_current_pos"),
                ]);
                gtid = b;
                return a === b && (await dbSql(master, "SELECT @@global.read_only")) === "1";
            } catch {
                return false;
            }
        },
        180_000,
    );
    await rejoined.catch(async (e) => {
        // Say why: the manager's view and the old master's replication status.
        const managerLog = await docker(["logs", "--tail", "15", `${input.prefix}-db-failover`]).catch((x) => String(x));
        const st = await slaveStatus(master).catch((x): Record<string, string> => ({ error: String(x) }));
        const status = Object.entries(st)
            .filter(([k]) => /^(error|Master_Host|Slave_.*_Running|Last_.*Error|Gtid_IO_Pos|Using_Gtid)$/.test(k))
            .map(([k, v]) => `${k}: ${v}`)
            .join("\n");
        const pos = await Promise.all(
            [master, promoted].map((c) =>
                dbSql(c, "SELECT @@global.gtid_current_pos, @@global.gtid_binlog_pos, @@global.read_only").catch((x) => String(x)),
            ),
        );
        throw new Error(
            `${(e as Error).message}\ndb-failover log:\n${managerLog}\n${master} replication:\n${status}\n` +
                `gtid_current_pos, gtid_binlog_pos, read_only: ${master}: ${pos[0]}; ${promoted}: ${pos[1]}`,
        );
    });
    const rejoinS = Math.round((performance.now() - t0) / 10) / 100;
    return {
        ...seen,
        writesBackS,
        acknowledged: acked.length,
        lost,
        master,
        promoted,
        rejoinS,
        gtid,
        pass: writesBackS <= (input.goalS ?? 30) && lost === 0 && acked.length > 0,
    };
}
