/**
 * The physical path of `npm run backup|restore -- --method physical`, on either placement (the servers' handling is
 * dbServers.ts's, the scripts physicalDocker.ts's):
 * backup  = mariadb-backup's (MariaDB) or xtrabackup's (Percona) copy on a read-only replica, prepared there (Percona
 *           on Docker: in an XtraBackup container beside the replica, physicalDocker.ts), streamed into the stage's db/physical;
 *           its GTID position from the files the tool wrote beside it (backupGtid, which refuses errant GTIDs);
 * restore = the failover manager stopped, every database server stopped and its data directory replaced by the copy,
 *           the one that was writable started first and re-seeded as the master at the copy's position (reseedMasterSql),
 *           the others started (their copy of mysql.gtid_slave_pos holds the same position), the manager started
 *           again, which points them at the master by GTID; done when every replica's threads run.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { backupGtid, INFO_FILES, PHYSICAL_TOOL, reseedMasterSql } from "./physical";
import { containerBackupScript, perconaSidecarBackupCommand } from "./physicalDocker";
import { loadCommand, type Engine } from "./plan";
import type { StackAccess } from "./access";
import type { DbLayer, DbServer } from "./dbServers";
import { q, sh } from "./shell";

/** The stage's directory for the copy. */
export const PHYSICAL_DIR = path.join("db", "physical");

/** Takes the copy on the facts' replica into `<stage>/db/physical`; returns the GTID position it is consistent with. */
export function stagePhysicalCopy(access: StackAccess, stage: string, log: (line: string) => void): string {
    const { facts } = access;
    const replica = facts.replica;
    const work = `/tmp/bitrix-cluster-physical-${randomBytes(6).toString("hex")}`;
    const dest = path.join(stage, PHYSICAL_DIR);
    fs.mkdirSync(dest, { mode: 0o700 });
    const tool = PHYSICAL_TOOL[facts.engine];
    if (facts.engine === "percona" && replica.kind === "docker") {
        // The Percona image has no xtrabackup: an XtraBackup container on the replica's volumes and network copies,
        // prepares and streams the copy; its work directory goes with the container (--rm).
        if (!facts.xtrabackupImage) throw new Error("backup: no perconaXtrabackupImage for a Percona stack on Docker");
        log(`backup: physical copy of ${replica.name} (${tool} --backup --slave-info, then --prepare, in ${facts.xtrabackupImage})`);
        sh(`${perconaSidecarBackupCommand(replica.name, facts.xtrabackupImage, work)} | tar -C ${q(dest)} -xf -`);
        return gtidOf(facts.engine, dest);
    }
    log(`backup: physical copy of ${replica.name} (${tool} --backup --slave-info, then --prepare, beside the server)`);
    try {
        access.run(replica, `exec bash -c ${q(containerBackupScript(facts.engine, work))}`);
        sh(`${access.command(replica, `tar -C ${q(`${work}/copy`)} -cf - .`)} | tar -C ${q(dest)} -xf -`);
    } finally {
        try {
            access.run(replica, `rm -rf ${q(work)}`);
        } catch {
            log(`backup: could not remove ${work} on ${replica.name}`);
        }
    }
    return gtidOf(facts.engine, dest);
}

/** The GTID position of the copy in `dest`, from the files the tool wrote beside it. */
function gtidOf(engine: Engine, dest: string): string {
    const info: Record<string, string> = {};
    for (const name of [...INFO_FILES[engine].binlog, ...INFO_FILES[engine].slave]) {
        const file = path.join(dest, name);
        if (fs.existsSync(file)) info[name] = fs.readFileSync(file, "utf8");
    }
    return backupGtid(engine, info);
}

export interface PhysicalRestoreInput {
    engine: Engine;
    /** The restored snapshot's db/physical directory (checksums verified). */
    copyDir: string;
    gtid: string;
    /** The servers and failover manager (dbServers.ts). */
    layer: DbLayer;
    /** The server that was writable: it becomes the master. */
    writable: DbServer;
    log: (line: string) => void;
}

/** Replaces every server's data with the copy and brings replication back (see the file's comment). */
export function restorePhysicalCopy(input: PhysicalRestoreInput): void {
    const { layer, writable, log } = input;
    const label = (s: DbServer) => s.target.name + (s.target.kind === "ssh" ? ` (${s.service})` : "");
    if (!layer.servers.includes(writable))
        throw new Error(`restore: ${label(writable)} is not one of the database servers ${layer.servers.map(label).join(", ")}`);
    const ordered = [writable, ...layer.servers.filter((s) => s !== writable)];
    if (!layer.hasManager()) throw new Error(`restore: the failover manager ${layer.managerName} does not exist; nothing was stopped`);
    log(`restore: stopping ${layer.managerName} and the database servers ${ordered.map(label).join(", ")}`);
    // Where the time goes, logged at the end: stopping (InnoDB flushes), copy-back, starts, replication.
    const phases: string[] = [];
    let mark = Date.now();
    const phase = (name: string) => {
        phases.push(`${name} ${((Date.now() - mark) / 1000).toFixed(1)} s`);
        mark = Date.now();
    };
    layer.stopManager();
    try {
        layer.stop(ordered);
        phase("stop");
        for (const s of ordered) {
            log(`restore: copying the physical copy into ${label(s)}'s data directory`);
            layer.copyBack(s, input.copyDir);
        }
        phase("copy-back");
        layer.start([writable]);
        layer.waitUp(writable);
        log(`restore: ${label(writable)} is the master at the copy's GTID position ${input.gtid}`);
        layer.client(writable, [...loadCommand(input.engine), "-e", reseedMasterSql(input.engine, input.gtid)]);
        phase("master start");
        if (ordered.length > 1) layer.start(ordered.slice(1));
        for (const s of ordered.slice(1)) layer.waitUp(s);
        phase("replicas start");
    } finally {
        // Whatever happened, nothing stays stopped. A server whose copy-back failed has RESTORE_FAILED_MARKER in its
        // emptied data directory and refuses to start (the entrypoint), rather than coming up empty.
        for (const s of ordered)
            if (!layer.running(s))
                try {
                    layer.start([s]);
                } catch {
                    log(`restore: ${label(s)} did not start again`);
                }
        layer.startManager();
    }
    for (const s of ordered.slice(1)) {
        log(`restore: waiting for ${label(s)} to replicate from ${label(writable)}`);
        // MySQL 8.0 still answers SHOW SLAVE STATUS (deprecated in 8.0.22, with the old column names); Replica_ names are
        // accepted too.
        const threads = () => layer.client(s, [...loadCommand(input.engine), "-e", "SHOW SLAVE STATUS\\G"]);
        const running = (status: string) => (status.match(/(Slave|Replica)_(IO|SQL)_Running: Yes/g) ?? []).length === 2;
        let status = "";
        for (let i = 0; i < 120; i++) {
            status = threads();
            if (running(status)) break;
            sh("sleep 0.5");
        }
        if (!running(status))
            throw new Error(
                `restore: ${label(s)} does not replicate after 60 s:\n${status
                    .split("\n")
                    .filter((l) => /Running|Error|Master_Host/.test(l))
                    .join("\n")}`,
            );
    }
    phase("replication");
    log(`restore: database layer rebuilt: ${phases.join(", ")}`);
}
