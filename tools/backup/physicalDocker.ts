/**
 * Physical backup and restore of a Docker stack's database layer, as data (pure, unit-tested): the bash scripts run
 * in the replica's container (copy + prepare) and in a one-off container on each server's data volume (copy-back),
 * and the checks that refuse a stack the physical path cannot handle before anything is stopped. `physicalRun.ts`
 * carries them out; the tool's own flags come from physical.ts.
 *
 * Percona on Docker: the percona/percona-server image carries no xtrabackup, so the copy and the copy-back run in a
 * Percona XtraBackup container beside the server (perconaXtrabackupImage), as Percona's own docs do it
 * (https://docs.percona.com/percona-xtrabackup/8.0/docker.html: `docker run --volumes-from <server container>
 * percona/percona-xtrabackup xtrabackup --backup --datadir=/var/lib/mysql/ …`, as root: quickstart-docker.html
 * "--user root … required to access the MySQL data directory"). Generated from those pages and unit-tested; no
 * Percona image runs on this project's machines.
 *
 * Facts relied on (Debian 12's mariadb-backup 10.11, checked in tests/daemons/physicalBackup.test.ts and the e2e
 * restore drill): the copy holds the InnoDB tables (mysql.gtid_slave_pos among them, so a server started on it knows
 * the master position it is consistent with), not the binary logs, master.info or relay logs; `--copy-back` wants an
 * empty data directory and leaves the files owned by whoever ran it.
 */
import { allowedProblem, KEYS } from "../../components/config/keys";
import { shellQuote as q } from "../../components/shared/shell";
import { backupOptionFile, checkDir, copyBackCommand, OPTION_GROUP, physicalBackupCommand, prepareCommand } from "./physical";
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

/** The servers' port (components/database/database.ts DB_PORT; not imported, that module loads Pulumi; a test keeps them equal). */
export const DB_PORT = 3306;

/** What `--method` may be: the dump (default) or mariadb-backup's copy. */
export type BackupMethod = "logical" | "physical";

export function checkMethod(value: string | undefined): BackupMethod {
    if (value === undefined || value === "logical" || value === "physical") return value ?? "logical";
    throw new Error(`backup: --method must be "logical" or "physical", got ${JSON.stringify(value)}`);
}

/** Why a stack cannot take or restore a physical copy (undefined when it can). Either engine, either placement. */
export function physicalUnsupported(replicas: number, managed: boolean): string | undefined {
    if (replicas < 1) return "a physical copy is taken on a replica, and the stack has none (dbReplicas 0; use --method logical)";
    if (!managed)
        return "restoring a physical copy re-attaches the replicas through the failover manager, and dbFailover is off (use --method logical)";
    return undefined;
}

/**
 * Runs in the replica's container (MariaDB) or on the replica's machine (either engine) as root: the copy and its
 * prepare in `workDir` (a new directory in the container's own file system, never on the data volume), logged to
 * files there; on failure the log's tail goes to stderr. root logs in over the socket (the mariadb image's root is
 * `unix_socket OR mysql_native_password`), so the option file carries no password. Percona on a machine assumes the
 * same socket login for root at Debian's socket path; not verified anywhere: the hosts placement refuses Percona
 * today (docs/known-limits.md), and its first start will have to give root that login. Percona on Docker runs
 * {@link perconaSidecarBackupScript} instead.
 */
export function containerBackupScript(engine: Engine, workDir: string): string {
    return copyAndPrepareScript(engine, workDir, (optionFile) => [
        `printf '%s' ${q(backupOptionFile(engine, { user: "root", password: "", socket: DB_SOCKET }))} > ${q(optionFile)}`,
    ]);
}

/**
 * The shape both backup scripts share: a fresh `workDir` (never in the data directory, files 0600), the lines that
 * write the login into `<workDir>/login.cnf`, the copy into `<workDir>/copy` and its prepare, each logged to a file
 * there with the log's tail on stderr on failure, then `after`.
 */
function copyAndPrepareScript(
    engine: Engine,
    workDir: string,
    login: (optionFile: string) => string[],
    opts: { datadir?: string; after?: (copy: string) => string[] } = {},
): string {
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
        ...login(optionFile),
        step(physicalBackupCommand(engine, copy, { optionFile, ...(opts.datadir ? { datadir: opts.datadir } : {}) }), "backup.log"),
        step(prepareCommand(engine, copy), "prepare.log"),
        ...(opts.after?.(copy) ?? []),
        "",
    ].join("\n");
}

/**
 * Runs as root beside the stopped server: in a one-off container with its data volume (`--volumes-from`; MariaDB:
 * of the server's own image; Percona: of the XtraBackup image, {@link perconaCopyBackCommand}), or on its machine.
 * The prepared copy arrives as a tar stream on stdin, the data directory is emptied, the copy put back, owned by the
 * server's user, and marked initialised (so images/mariadb/entrypoint.sh starts it instead of refusing a half-made
 * directory; the hosts installer keeps a marked directory). A failed copy-back leaves RESTORE_FAILED_MARKER instead.
 *
 * Percona: the owner is whoever owned the data directory's `mysql/` before (else the directory itself), by number:
 * the XtraBackup container's user names need not be the server image's (both Percona images make mysql uid 1001,
 * percona-docker's Dockerfiles, but the number read is the one that counts). The Percona image's entrypoint
 * (percona-docker percona-server-8.0/ps-entry.sh) initialises a data directory only when `$DATADIR/mysql` is
 * missing, so a restored copy (which has `mysql/`, the schema directory XtraBackup copies) starts as it is; it knows
 * neither marker, and on a failed copy-back (no `mysql/`) its `mysqld --initialize-insecure` stops on the
 * non-empty directory ("--initialize specified but the data directory has files in it. Aborting", MY-010457; MySQL
 * 8.0 manual, data-directory-initialization.html) instead of making an empty server. Every server gets the same copy,
 * so a copied `auto.cnf` is removed: each server then makes its own server_uuid at start ("If data_dir/auto.cnf is not
 * found, generate a new UUID and save it to this file", MySQL 8.0 manual, replication-options.html, server_uuid);
 * replicas sharing their source's UUID would not replicate.
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
    const percona = engine === "percona";
    return [
        "set -euo pipefail",
        ...(opts.exclusive
            ? [`mkdir -m 0700 ${q(work)}`, `trap 'rm -rf ${q(work).replace(/'/g, "'\\''")}' EXIT`, `mkdir ${q(copy)}`]
            : [`mkdir -p ${q(copy)}`]),
        `tar -C ${q(copy)} -xf -`,
        ...(percona ? [`owner=$(stat -c '%u:%g' ${q(`${DB_DATADIR}/mysql`)} 2>/dev/null || stat -c '%u:%g' ${q(DB_DATADIR)})`] : []),
        `find ${q(DB_DATADIR)} -mindepth 1 -delete`,
        `${copyBackCommand(engine, copy, DB_DATADIR).map(q).join(" ")} > ${q(logFile)} 2>&1 || ` +
            `{ touch ${q(`${DB_DATADIR}/${RESTORE_FAILED_MARKER}`)}; tail -n 30 ${q(logFile)} >&2; exit 1; }`,
        ...(percona ? [`rm -f ${q(`${DB_DATADIR}/auto.cnf`)}`] : []),
        `touch ${q(marker)}`,
        percona ? `chown -R "$owner" ${q(DB_DATADIR)}` : `chown -R mysql:mysql ${q(DB_DATADIR)}`,
        "",
    ].join("\n");
}

/** An image reference as perconaXtrabackupImage takes it (with a tag; nothing a shell would parse); throws otherwise. */
export function checkImage(image: string): string {
    const problem = typeof image === "string" ? allowedProblem(KEYS.perconaXtrabackupImage, image) : "a string";
    if (problem) throw new Error(`physical backup: the XtraBackup image must be ${problem}, got ${JSON.stringify(image)}`);
    return image;
}

/** A container name as Docker makes them (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`); throws otherwise. */
export function checkContainer(name: string): string {
    if (typeof name !== "string" || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/.test(name))
        throw new Error(`physical backup: ${JSON.stringify(name)} is not a container name`);
    return name;
}

/**
 * Runs in the XtraBackup container beside a Percona replica (its volumes and its network namespace): reads root's
 * password from the first line of stdin (never argv), writes it into a 0600 option file in `workDir` (the
 * container's own file system) in the [xtrabackup] group, logs in over TCP to 127.0.0.1 (the replica's own loopback:
 * `--network container:`; the image's entrypoint makes root@'%' with MYSQL_ROOT_PASSWORD, ps-entry.sh, and its
 * docker.cnf sets skip-name-resolve, so 127.0.0.1 is matched by '%'), copies with `--datadir=/var/lib/mysql` (the
 * server's volume), prepares, and writes the prepared copy as a tar stream to stdout; the tool's logs stay in
 * `workDir`, their tail goes to stderr on failure. The password may hold neither `"` nor `\` (dbRootPassword refuses
 * them for Percona); they are escaped anyway.
 */
export function perconaSidecarBackupScript(workDir: string, port = DB_PORT): string {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`physical backup: port must be 1-65535, got ${port}`);
    return copyAndPrepareScript(
        "percona",
        workDir,
        (optionFile) => [
            `IFS= read -r pw || [ -n "$pw" ] || { echo "physical backup: no root password on stdin" >&2; exit 1; }`,
            `[ -n "$pw" ] || { echo "physical backup: empty root password on stdin" >&2; exit 1; }`,
            `pw=\${pw//\\\\/\\\\\\\\}`,
            `pw=\${pw//\\"/\\\\\\"}`,
            `printf '[${OPTION_GROUP.percona}]\\nuser = "root"\\npassword = "%s"\\nhost = "127.0.0.1"\\nport = ${port}\\n' "$pw" > ${q(optionFile)}`,
            "unset pw",
        ],
        { datadir: DB_DATADIR, after: (copy) => [`tar -C ${q(copy)} -cf - .`] },
    );
}

/**
 * The local bash pipeline that takes a Percona replica's copy in an XtraBackup container and writes the prepared copy
 * as a tar stream to stdout: root's password from the replica container's own environment (`printenv`, so it is in
 * no argv) piped into `docker run --rm -i --user 0 --volumes-from <replica> --network container:<replica>
 * --entrypoint bash <image> -c <script>`.
 */
export function perconaSidecarBackupCommand(replica: string, image: string, workDir: string): string {
    const c = q(checkContainer(replica));
    return (
        `docker exec ${c} printenv MYSQL_ROOT_PASSWORD | ` +
        `docker run --rm -i --user 0 --volumes-from ${c} --network container:${checkContainer(replica)} ` +
        `--entrypoint bash ${q(checkImage(image))} -c ${q(perconaSidecarBackupScript(workDir))}`
    );
}

/**
 * The `docker run` that puts a prepared copy (tar stream on its stdin) into a stopped Percona server's data volume:
 * copyBackScript in a one-off XtraBackup container with the server's volumes and no network.
 */
export function perconaCopyBackCommand(server: string, image: string): string {
    return (
        `docker run --rm -i --network none --user 0 --volumes-from ${q(checkContainer(server))} ` +
        `--entrypoint bash ${q(checkImage(image))} -c ${q(copyBackScript("percona"))}`
    );
}
