/**
 * Physical backup and restore of a Docker stack's database layer, as data (pure, unit-tested): the bash scripts run
 * in the replica's container (copy + prepare) and in a one-off container on each server's data volume (copy-back),
 * and the checks that refuse a stack the physical path cannot handle before anything is stopped. `physicalRun.ts`
 * carries them out; the tool's own flags come from physical.ts.
 *
 * Facts relied on (Debian 12's mariadb-backup 10.11, checked in tests/daemons/physicalBackup.test.ts and the e2e
 * restore drill): the copy holds the InnoDB tables (mysql.gtid_slave_pos among them, so a server started on it knows
 * the master position it is consistent with), not the binary logs, master.info or relay logs; `--copy-back` wants an
 * empty data directory and leaves the files owned by whoever ran it.
 */
import { shellQuote as q } from "../../components/shared/shell";
import { backupOptionFile, checkDir, copyBackCommand, physicalBackupCommand, prepareCommand } from "./physical";
import type { Engine } from "./plan";

/** The data directory of the database image (components/database/database.ts mounts the data volume there). */
export const DB_DATADIR = "/var/lib/mysql";
/** The server's socket in the mariadb image (Debian's default; the generated config keeps it). */
export const DB_SOCKET = "/run/mysqld/mysqld.sock";
/** What the image's entrypoint requires in a data directory whose first start finished (images/mariadb/entrypoint.sh). */
export const INITIALIZED_MARKER = ".bitrix-cluster-initialized";
/**
 * Left in an emptied data directory when the copy-back fails: the entrypoint refuses to start on it, where it would
 * otherwise initialise an empty server (no `mysql/` in it) that the failover manager could open for writes.
 */
export const RESTORE_FAILED_MARKER = ".bitrix-cluster-restore-failed";

/** What `--method` may be: the dump (default) or mariadb-backup's copy. */
export type BackupMethod = "logical" | "physical";

export function checkMethod(value: string | undefined): BackupMethod {
    if (value === undefined || value === "logical" || value === "physical") return value ?? "logical";
    throw new Error(`backup: --method must be "logical" or "physical", got ${JSON.stringify(value)}`);
}

/** Why a Docker stack cannot take or restore a physical copy (undefined when it can). */
export function physicalUnsupported(engine: Engine, replicas: number, managed: boolean): string | undefined {
    if (engine !== "mariadb")
        return "the percona image carries no xtrabackup; physical backups on Docker are implemented for dbEngine mariadb only so far (use --method logical)";
    if (replicas < 1) return "a physical copy is taken on a replica, and the stack has none (dbReplicas 0; use --method logical)";
    if (!managed)
        return "restoring a physical copy re-attaches the replicas through the failover manager, and dbFailover is off (use --method logical)";
    return undefined;
}

/**
 * Runs in the replica's container as root: the copy and its prepare in `workDir` (a new directory in the container's
 * own file system, never on the data volume), logged to files there; on failure the log's tail goes to stderr. root
 * logs in over the socket (the image's root is `unix_socket OR mysql_native_password`), so the option file carries
 * no password.
 */
export function containerBackupScript(engine: Engine, workDir: string): string {
    const dir = checkDir("workDir", workDir);
    if (dir === DB_DATADIR || dir.startsWith(`${DB_DATADIR}/`))
        throw new Error("physical backup: workDir must not be in the data directory");
    const optionFile = `${dir}/login.cnf`;
    const copy = `${dir}/copy`;
    const step = (argv: string[], log: string) =>
        `${argv.map(q).join(" ")} > ${q(`${dir}/${log}`)} 2>&1 || { tail -n 30 ${q(`${dir}/${log}`)} >&2; exit 1; }`;
    return [
        "set -euo pipefail",
        "umask 077",
        `rm -rf ${q(dir)}`,
        `mkdir -p ${q(copy)}`,
        `printf '%s' ${q(backupOptionFile(engine, { user: "root", password: "", socket: DB_SOCKET }))} > ${q(optionFile)}`,
        step(physicalBackupCommand(engine, copy, { optionFile }), "backup.log"),
        step(prepareCommand(engine, copy), "prepare.log"),
        "",
    ].join("\n");
}

/**
 * Runs as root beside the stopped server: in a one-off container of its image with its data volume
 * (`--volumes-from`), or on its machine. The prepared copy arrives as a tar stream on stdin, the data directory is
 * emptied, the copy put back, owned by mysql, and marked initialised (so the entrypoint starts it instead of refusing
 * a half-made directory). A failed copy-back leaves RESTORE_FAILED_MARKER instead.
 * @param work Where the copy is unpacked (`<work>/copy` on a machine) and the tool logs. The default fixed path is
 * safe only in a new one-off container; on a machine pass a new random name: with `exclusive` it is made with
 * `mkdir` (which fails on anything already there, a link included), mode 0700, and removed when the script ends.
 * @default "/var/tmp/bitrix-cluster-copy"
 */
export function copyBackScript(engine: Engine, work = "/var/tmp/bitrix-cluster-copy", opts: { exclusive?: boolean } = {}): string {
    checkDir("copy", work);
    const copy = opts.exclusive ? `${work}/copy` : work;
    const logFile = opts.exclusive ? `${work}/copy-back.log` : "/tmp/copy-back.log";
    const marker = `${DB_DATADIR}/${INITIALIZED_MARKER}`;
    return [
        "set -euo pipefail",
        ...(opts.exclusive
            ? [`mkdir -m 0700 ${q(work)}`, `trap 'rm -rf ${q(work).replace(/'/g, "'\\''")}' EXIT`, `mkdir ${q(copy)}`]
            : [`mkdir -p ${q(copy)}`]),
        `tar -C ${q(copy)} -xf -`,
        `find ${q(DB_DATADIR)} -mindepth 1 -delete`,
        `${copyBackCommand(engine, copy, DB_DATADIR).map(q).join(" ")} > ${q(logFile)} 2>&1 || ` +
            `{ touch ${q(`${DB_DATADIR}/${RESTORE_FAILED_MARKER}`)}; tail -n 30 ${q(logFile)} >&2; exit 1; }`,
        `touch ${q(marker)}`,
        `chown -R mysql:mysql ${q(DB_DATADIR)}`,
        "",
    ].join("\n");
}
