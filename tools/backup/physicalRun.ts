/**
 * The physical path of `npm run backup|restore -- --method physical` on a Docker stack, carried out with the Docker
 * CLI (the scripts and checks are physicalDocker.ts's):
 * backup  = mariadb-backup's copy on a read-only replica, prepared there, streamed into the stage's db/physical;
 *           its GTID position from the files the tool wrote beside it (backupGtid, which refuses errant GTIDs);
 * restore = the failover manager stopped, every database server stopped and its data directory replaced by the copy,
 *           the one that was writable started first and re-seeded as the master at the copy's position (reseedMasterSql),
 *           the others started (their copy of mysql.gtid_slave_pos holds the same position), the manager started
 *           again, which points them at the master by GTID; done when every replica's threads run.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { backupGtid, INFO_FILES, reseedMasterSql } from "./physical";
import { containerBackupScript, copyBackScript } from "./physicalDocker";
import type { Engine, StackFacts } from "./plan";
import { asDbRoot, hasContainer, q, sh } from "./shell";

/** The stage's directory for the copy. */
export const PHYSICAL_DIR = path.join("db", "physical");

/** Takes the copy on `facts.replica` into `<stage>/db/physical`; returns the GTID position it is consistent with. */
export function stagePhysicalCopy(facts: StackFacts, stage: string, log: (line: string) => void): string {
    const work = `/tmp/bitrix-cluster-physical-${randomBytes(6).toString("hex")}`;
    const dest = path.join(stage, PHYSICAL_DIR);
    fs.mkdirSync(dest, { mode: 0o700 });
    log(`backup: physical copy of ${facts.replica.name} (mariadb-backup --backup --slave-info, then --prepare, in its container)`);
    try {
        sh(`docker exec ${q(facts.replica.name)} bash -c ${q(containerBackupScript(facts.engine, work))}`);
        sh(`docker exec ${q(facts.replica.name)} tar -C ${q(`${work}/copy`)} -cf - . | tar -C ${q(dest)} -xf -`);
    } finally {
        try {
            sh(`docker exec ${q(facts.replica.name)} rm -rf ${q(work)}`);
        } catch {
            log(`backup: could not remove ${work} in ${facts.replica.name}`);
        }
    }
    const info: Record<string, string> = {};
    for (const name of [...INFO_FILES[facts.engine].binlog, ...INFO_FILES[facts.engine].slave]) {
        const file = path.join(dest, name);
        if (fs.existsSync(file)) info[name] = fs.readFileSync(file, "utf8");
    }
    return backupGtid(facts.engine, info);
}

export interface PhysicalRestoreInput {
    engine: Engine;
    /** The restored snapshot's db/physical directory (checksums verified). */
    copyDir: string;
    gtid: string;
    /** Every database server's container; `writable` among them becomes the master. */
    servers: string[];
    writable: string;
    /** The failover manager's container. */
    failover: string;
    log: (line: string) => void;
}

const waitForServer = (container: string) =>
    sh(
        `for _ in $(seq 1 240); do docker exec ${q(container)} mariadb-admin --connect-timeout=2 ping --silent >/dev/null 2>&1 && exit 0; ` +
            `docker inspect -f '{{.State.Running}}' ${q(container)} | grep -q true || { docker logs --tail 30 ${q(container)} >&2; exit 1; }; sleep 0.5; done; exit 1`,
    );

/** Replaces every server's data with the copy and brings replication back (see the file's comment). */
export function restorePhysicalCopy(input: PhysicalRestoreInput): void {
    const { servers, writable, failover, log } = input;
    if (!servers.includes(writable)) throw new Error(`restore: ${writable} is not one of the database servers ${servers.join(", ")}`);
    const ordered = [writable, ...servers.filter((s) => s !== writable)];
    const running = (c: string) => sh(`docker inspect -f '{{.State.Running}}' ${q(c)} 2>/dev/null || true`).trim() === "true";
    if (!hasContainer(failover))
        throw new Error(`restore: the failover manager's container ${failover} does not exist; nothing was stopped`);
    log(`restore: stopping ${failover} and the database servers ${ordered.join(", ")}`);
    // Where the time goes, logged at the end: stopping (InnoDB flushes), copy-back, starts, replication.
    const phases: string[] = [];
    let mark = Date.now();
    const phase = (name: string) => {
        phases.push(`${name} ${((Date.now() - mark) / 1000).toFixed(1)} s`);
        mark = Date.now();
    };
    sh(`docker stop -t 30 ${q(failover)} >/dev/null`);
    try {
        // One command: Docker stops them side by side.
        sh(`docker stop -t 120 ${ordered.map(q).join(" ")} >/dev/null`);
        phase("stop");
        for (const c of ordered) {
            const image = sh(`docker inspect -f '{{.Config.Image}}' ${q(c)}`).trim();
            log(`restore: copying the physical copy into ${c}'s data volume`);
            sh(
                `tar -C ${q(input.copyDir)} -cf - . | docker run --rm -i --network none --user 0 --volumes-from ${q(c)} --entrypoint bash ${q(image)} -c ${q(copyBackScript(input.engine))}`,
            );
        }
        phase("copy-back");
        sh(`docker start ${q(writable)} >/dev/null`);
        waitForServer(writable);
        log(`restore: ${writable} is the master at the copy's GTID position ${input.gtid}`);
        sh(`${asDbRoot(writable, ["mariadb", "-e", reseedMasterSql(input.engine, input.gtid)])}`);
        phase("master start");
        if (ordered.length > 1) sh(`docker start ${ordered.slice(1).map(q).join(" ")} >/dev/null`);
        for (const c of ordered.slice(1)) waitForServer(c);
        phase("replicas start");
    } finally {
        // Whatever happened, nothing stays stopped. A server whose copy-back failed has RESTORE_FAILED_MARKER in its
        // emptied data directory and refuses to start (the entrypoint), rather than coming up empty.
        for (const c of ordered) if (!running(c)) sh(`docker start ${q(c)} >/dev/null 2>&1 || true`);
        sh(`docker start ${q(failover)} >/dev/null`);
    }
    for (const c of ordered.slice(1)) {
        log(`restore: waiting for ${c} to replicate from ${writable}`);
        sh(
            `for _ in $(seq 1 120); do ${asDbRoot(c, ["mariadb", "-e", "SHOW SLAVE STATUS\\G"])} | grep -c -E 'Slave_(IO|SQL)_Running: Yes' | grep -qx 2 && exit 0; sleep 0.5; done; ` +
                `echo "restore: ${c} does not replicate after 60 s:" >&2; ${asDbRoot(c, ["mariadb", "-e", "SHOW SLAVE STATUS\\G"])} | grep -E 'Running|Error|Master_Host' >&2; exit 1`,
        );
    }
    phase("replication");
    log(`restore: database layer rebuilt: ${phases.join(", ")}`);
}
