/**
 * What a backup and a restore run, as data (pure, unit-tested): the database dump taken on a replica with its GTID
 * position, the shared trees read from the NFS server's export directories, the manifest with sizes and checksums,
 * and restic's retention. `run.ts` carries it out against a live stack.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { Target } from "./remote";

export type Engine = "percona" | "mariadb";

/** What a backup needs to know of a stack (from its outputs). */
export interface StackFacts {
    stack: string;
    placement: string;
    prefix: string;
    engine: Engine;
    database: string;
    /** Where the dump is taken: a read-only replica's container or machine, never the master. */
    replica: Target;
    /** The writable server's container or machine, where a restore loads. */
    master: Target;
    /** Where the shared trees are: the NFS server, or (hosts with sharedStorage external) the first web host's mounts. */
    files?: Target;
    /** The shared trees' directories on `files`, by slug ("upload" → "/srv/nfs/upload"). */
    sharedDirs: Record<string, string>;
    /** The ssh config that reaches the machines of a hosts stack (remote.ts); absent on Docker. */
    sshConfig?: string;
    /** Percona on Docker: the XtraBackup image of physical copies (the stack's perconaXtrabackupImage). */
    xtrabackupImage?: string;
}

/**
 * The dump command, run on a replica. One transaction gives a consistent snapshot without locking; the replica's
 * GTID position is written into the dump as a comment (MariaDB `--dump-slave=2 --gtid`, which pauses only the
 * replica's SQL thread; Percona `--source-data=2 --set-gtid-purged=COMMENTED`).
 */
export function dumpCommand(engine: Engine, database: string): string[] {
    const common = ["--single-transaction", "--routines", "--events", "--triggers", "--hex-blob", "--databases", database];
    return engine === "mariadb"
        ? ["mariadb-dump", "--gtid", "--dump-slave=2", ...common]
        : ["mysqldump", "--source-data=2", "--set-gtid-purged=COMMENTED", ...common];
}

/** The GTID position recorded in a dump's head ("0-1-42" for MariaDB, "uuid:1-42" sets for Percona). */
export function gtidOf(engine: Engine, dumpHead: string): string | undefined {
    const re = engine === "mariadb" ? /gtid_slave_pos\s*=\s*'([^']*)'/ : /GTID_PURGED\s*=\s*(?:\/\*!80000 '\+'\*\/\s*)?'([^']*)'/;
    return re.exec(dumpHead)?.[1];
}

/** Client that loads a dump on the master (its binlog carries it to the replicas). */
export function loadCommand(engine: Engine): string[] {
    return engine === "mariadb" ? ["mariadb"] : ["mysql"];
}

export interface ManifestFile {
    path: string;
    bytes: number;
    sha256: string;
}
export interface Manifest {
    format: 1;
    stack: string;
    time: string;
    engine: Engine;
    database: string;
    /** The replica's GTID position the dump (or the physical copy) is consistent with. */
    gtid: string;
    /** How the database was saved: db/<database>.sql (logical; also when absent, as in older snapshots) or db/physical. */
    method?: "logical" | "physical";
    takenFrom: string;
    files: ManifestFile[];
    totalBytes: number;
}

/** A file's SHA-256, read in 1 MiB pieces (a dump can be far larger than a Node buffer may hold). */
export function sha256File(file: string): string {
    const hash = createHash("sha256");
    const buf = Buffer.alloc(1 << 20);
    const fd = fs.openSync(file, "r");
    try {
        for (let n = fs.readSync(fd, buf, 0, buf.length, null); n > 0; n = fs.readSync(fd, buf, 0, buf.length, null))
            hash.update(buf.subarray(0, n));
    } finally {
        fs.closeSync(fd);
    }
    return hash.digest("hex");
}

/** Every regular file under `root`, relative, with size and SHA-256, sorted by path. */
export function checksums(root: string, skip: string[] = []): ManifestFile[] {
    const out: ManifestFile[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, entry.name);
            const rel = path.relative(root, full);
            if (skip.includes(rel)) continue;
            if (entry.isDirectory()) walk(full);
            else if (entry.isFile()) out.push({ path: rel, bytes: fs.statSync(full).size, sha256: sha256File(full) });
        }
    };
    walk(root);
    return out.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * The first and last `bytes` of a dump, where the tools write its position: mysqldump's commented `GTID_PURGED`
 * is near the top, but mariadb-dump 10.11 writes `-- SET GLOBAL gtid_slave_pos` after the last table's data
 * (seen on a 500 KB dump taken with --dump-slave=2 --gtid: its line 575 of 586), so the head alone misses it.
 */
export function dumpEnds(file: string, bytes = 64 * 1024): string {
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, "r");
    try {
        const read = (at: number, n: number) => {
            const buf = Buffer.alloc(n);
            return buf.subarray(0, fs.readSync(fd, buf, 0, n, at)).toString("utf8");
        };
        if (size <= 2 * bytes) return read(0, size);
        return `${read(0, bytes)}\n${read(size - bytes, bytes)}`;
    } finally {
        fs.closeSync(fd);
    }
}

/** The GTID position a dump file records, read from its two ends (never the whole file into memory). */
export const gtidOfDump = (engine: Engine, file: string) => gtidOf(engine, dumpEnds(file));

/** Files whose size or checksum differ from the manifest's, or that are missing. */
export function verify(root: string, manifest: Manifest): string[] {
    const now = new Map(checksums(root, ["manifest.json"]).map((f) => [f.path, f]));
    return manifest.files.filter((f) => now.get(f.path)?.sha256 !== f.sha256 || now.get(f.path)?.bytes !== f.bytes).map((f) => f.path);
}

/** A snapshot as `restic snapshots --json` lists it (the fields read here). */
export interface SnapshotListing {
    short_id: string;
    time: string;
    tags?: string[];
}

/**
 * The snapshot a staging clone restores: the source's newest one that is not a physical copy (a physical copy carries
 * the source's users and passwords and is refused in another stack). Snapshots from before the `method=` tag (all
 * logical then but for a few physical ones of 2026-12-03) count as logical; a physical one among them is still
 * refused by the restore, with the reason.
 */
export function cloneSnapshot(list: SnapshotListing[], from: string): string {
    const logical = list
        .filter((s) => s.tags?.includes(`stack=${from}`) && !s.tags.includes("method=physical"))
        .sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
    if (!logical.length)
        throw new Error(
            `clone: stack ${from} has no logical backup to copy from (a physical copy holds its users and passwords); take one with npm run backup -- --stack ${from} --method logical`,
        );
    return logical[0].short_id;
}

/** restic's retention for one stack's snapshots. */
export function forgetArgs(stack: string, keepWithin: string): string[] {
    // By host and tags: each backup is staged in a new private dir, so grouping by path would keep every snapshot.
    return ["forget", "--tag", `stack=${stack}`, "--group-by", "host,tags", "--keep-within", keepWithin, "--prune"];
}

/** Refuses what the backup cannot do, before anything runs. */
export function checkFacts(f: StackFacts): void {
    if (f.placement !== "docker" && f.placement !== "hosts")
        throw new Error(`backup: stack ${f.stack} has unknown placement "${f.placement}"`);
    if (!f.files || Object.keys(f.sharedDirs).length === 0)
        throw new Error(
            `backup: stack ${f.stack} has no shared trees to read (an NFS server's exports, or on hosts the external storage's paths)`,
        );
}
