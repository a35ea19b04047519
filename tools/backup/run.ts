/**
 * Backup and restore of a live stack, carried out with restic and, through access.ts, the Docker CLI (placement
 * docker) or ssh with the stack's own keys (placement hosts):
 * backup  = dump on a replica (GTID recorded) + the shared trees (NFS exports, or external storage on a web host) + the stack's config and state
 *           (secrets stay encrypted) + a manifest with sizes and SHA-256s → one restic snapshot tagged stack=<name>,
 *           then restic's retention for that stack;
 * restore = the snapshot back to a temp dir, every checksum verified, the database dropped and loaded on the master
 *           (its binlog carries it to the replicas), each shared tree emptied and refilled as www-data; it returns
 *           once every balancer has every web node back in rotation (their database checks failed meanwhile).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { hasContainer, q, sh } from "./shell";
import { checkFacts, checksums, dumpCommand, forgetArgs, gtidOfDump, loadCommand, Manifest, SnapshotListing, verify } from "./plan";
import type { PitrTarget } from "./pitr";
import { pitrBaseSnapshot, planReplay, runReplay } from "./pitrRun";
import { openStack, StackAccess } from "./access";
import { dbRootScript, readTreeScript, refillTreeScript, Target } from "./remote";
import { checkMethod, BackupMethod, physicalUnsupported } from "./physicalDocker";
import { DbLayer, dockerDbLayer, hostsDbLayer } from "./dbServers";
import { PHYSICAL_DIR, restorePhysicalCopy, stagePhysicalCopy } from "./physicalRun";
import { RunRecord, runMetricFiles, TEXTFILE_DIR } from "./metrics";
import { waitForRotation } from "../balancerStatus";

export interface Tools {
    /** Runs pulumi with the given arguments for the stack (its config file added to `config`); returns stdout. */
    pulumi(args: string[]): string;
    /** restic's repository and password come from the environment (RESTIC_REPOSITORY, RESTIC_PASSWORD[_FILE]). */
    env: NodeJS.ProcessEnv;
    log(line: string): void;
    /** The stack's config file. @default "Pulumi.<stack>.yaml" */
    configFile?: string;
}

export { asDbRoot, q, redactSecrets, sh } from "./shell";

/**
 * Where a snapshot's files are staged: a new directory of this process's own (mkdtemp: mode 0700, a name nobody can
 * claim first), so the dump and the stack export are readable by this user only. restic still deduplicates the
 * content across snapshots; retention groups them by host and tags (forgetArgs), since no two share a path.
 */
export function makeStage(): string {
    const stage = fs.mkdtempSync(path.join(os.tmpdir(), "bitrix-cluster-backup-"));
    fs.chmodSync(stage, 0o700);
    for (const d of ["db", "shared", "config"]) fs.mkdirSync(path.join(stage, d), { mode: 0o700 });
    return stage;
}

/** A file of the stage: created 0600 whatever the umask. */
const writePrivate = (file: string, content: string) => fs.writeFileSync(file, content, { mode: 0o600, flag: "wx" });

/** The staged tree in a restored snapshot: the directory with its manifest (any stage path, old fixed ones too). */
export function findSnapshotRoot(target: string, depth = 8): string {
    if (fs.existsSync(path.join(target, "manifest.json"))) return target;
    if (depth > 0) {
        for (const e of fs.readdirSync(target, { withFileTypes: true })) {
            if (!e.isDirectory()) continue;
            try {
                return findSnapshotRoot(path.join(target, e.name), depth - 1);
            } catch {
                /* not in this branch */
            }
        }
    }
    throw new Error(`restore: the snapshot has no manifest.json under ${target}`);
}

/** The database layer as a physical restore handles it: containers, or units on the machines (dbServers.ts). */
function dbLayer(access: StackAccess): DbLayer {
    const { facts, parts } = access;
    const servers = parts.servers.map((target, i) => ({ target, service: parts.services[i] }));
    if (facts.placement === "hosts") {
        // No manager on the stack: hasManager() is false and the restore refuses before anything is stopped.
        const manager = parts.manager ?? { target: parts.servers[0], service: "db-failover" };
        return hostsDbLayer(facts.engine, access, servers, manager);
    }
    return dockerDbLayer(facts.engine, servers, parts.manager?.target.name ?? `${facts.prefix}-db-failover`, facts.xtrabackupImage);
}

/** Whether the physical method can run on this stack; undefined when it can. */
function physicalProblem(access: StackAccess): string | undefined {
    return physicalUnsupported(access.parts.servers.length - 1, dbLayer(access).hasManager());
}

/** The binlog streamer of a stack a point-in-time restore replays from; refuses a stack without one. */
function streamOf(access: StackAccess, stack: string, fromStack: string): Target {
    if (fromStack !== stack)
        throw new Error("restore: a point-in-time restore replays the stack's own binlogs; a clone takes a backup as it is");
    const stream = access.parts.stream;
    const exists = stream && (stream.kind === "ssh" || hasContainer(stream.name));
    if (!stream || !exists)
        throw new Error(
            `restore: stack ${stack} runs no binlog streamer to replay from (set dbBinlogStream: true and pulumi up); nothing was restored`,
        );
    return stream;
}

/** The client as root on a database server, for `access.run`. */
const dbRoot = (t: Target, argv: string[]) => dbRootScript(t, argv);

export function backup(
    stack: string,
    keepWithin: string,
    tools: Tools,
    method: BackupMethod = "logical",
): { snapshot: string; seconds: number; manifest: Manifest } {
    const started = Date.now();
    const access = openStack(stack, tools);
    try {
        checkFacts(access.facts);
        if (checkMethod(method) === "physical") {
            // Whether it could be restored is checked now, not when it is needed.
            const why = physicalProblem(access);
            if (why) throw new Error(`backup: stack ${stack}: ${why}`);
        }
        const stage = makeStage();
        try {
            return { ...stageBackup(stack, keepWithin, tools, access, stage, method), seconds: (Date.now() - started) / 1000 };
        } finally {
            fs.rmSync(stage, { recursive: true, force: true });
        }
    } finally {
        access.close();
    }
}

function stageBackup(
    stack: string,
    keepWithin: string,
    tools: Tools,
    access: StackAccess,
    stage: string,
    method: BackupMethod,
): { snapshot: string; manifest: Manifest } {
    const { facts } = access;
    let gtid: string | undefined;
    if (method === "physical") gtid = stagePhysicalCopy(access, stage, (l) => tools.log(l));
    else {
        const dumpFile = path.join(stage, "db", `${facts.database}.sql`);
        tools.log(`backup: dumping ${facts.database} on ${facts.replica.name}`);
        sh(
            `umask 077; ${access.command(facts.replica, dbRoot(facts.replica, dumpCommand(facts.engine, facts.database)))} > ${q(dumpFile)}`,
        );
        gtid = gtidOfDump(facts.engine, dumpFile);
        if (gtid === undefined) throw new Error(`backup: the dump from ${facts.replica.name} records no GTID position; is it a replica?`);
    }

    for (const [slug, dir] of Object.entries(facts.sharedDirs)) {
        tools.log(`backup: shared tree ${dir} from ${facts.files!.name}`);
        fs.mkdirSync(path.join(stage, "shared", slug), { mode: 0o700 });
        // The files keep their modes (a restore puts them back as they were); the 0700 stage keeps others out.
        sh(`${access.command(facts.files!, readTreeScript(dir))} | tar -C ${q(path.join(stage, "shared", slug))} -xf -`);
    }
    // The stack's config file (secrets encrypted) and its state (secrets encrypted with the stack's passphrase).
    const configFile = tools.configFile ?? `Pulumi.${stack}.yaml`;
    if (fs.existsSync(configFile)) writePrivate(path.join(stage, "config", `Pulumi.${stack}.yaml`), fs.readFileSync(configFile, "utf8"));
    if (fs.existsSync("Pulumi.yaml")) writePrivate(path.join(stage, "config", "Pulumi.yaml"), fs.readFileSync("Pulumi.yaml", "utf8"));
    writePrivate(path.join(stage, "config", "stack-state.json"), tools.pulumi(["stack", "export"]));

    const files = checksums(stage);
    const manifest: Manifest = {
        format: 1,
        stack,
        time: new Date().toISOString(),
        engine: facts.engine,
        database: facts.database,
        gtid,
        method,
        takenFrom: facts.replica.name,
        files,
        totalBytes: files.reduce((n, f) => n + f.bytes, 0),
    };
    writePrivate(path.join(stage, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    // restic 0.14 (Debian 12) exits 1 for both "no repository" and "wrong password": tell them apart by its message,
    // or a wrong password would end in "create repository … failed: config file already exists".
    const opened = sh("restic cat config >/dev/null 2>&1 && echo ok || restic cat config 2>&1 >/dev/null || true", tools.env);
    if (/wrong password or no key found/.test(opened))
        throw new Error(
            "backup: restic cannot open the repository with this password (RESTIC_PASSWORD or RESTIC_PASSWORD_FILE); nothing was saved",
        );
    if (opened.trim() !== "ok") {
        // Not the location itself: it can carry a login (sftp:user:password@..., s3 keys in a URL).
        tools.log("backup: initialising the restic repository (backupRepository, else RESTIC_REPOSITORY)");
        sh("restic init >/dev/null", tools.env);
    }
    const out = sh(
        `cd ${q(stage)} && restic backup --json --tag bitrix-cluster --tag ${q(`stack=${stack}`)} --tag ${q(`method=${method}`)} --host bitrix-cluster ${q(stage)}`,
        tools.env,
    );
    const summary = out
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { message_type?: string; snapshot_id?: string })
        .find((m) => m.message_type === "summary");
    sh(`restic ${forgetArgs(stack, keepWithin).map(q).join(" ")} >/dev/null`, tools.env);
    return { snapshot: summary?.snapshot_id ?? "", manifest };
}

/** What a restore did: its time, the snapshot's manifest, and with `to` the binlog replay on top of it. */
export interface RestoreResult {
    seconds: number;
    manifest: Manifest;
    /** Transactions replayed from the binlog streamer, and the last GTID applied. */
    replayed?: { transactions: number; last: string };
}

/**
 * Restores a snapshot of `fromStack` (the stack itself by default; its source, for a staging clone) into `stack`.
 * With `to`, a point-in-time restore: the newest snapshot before the target (unless one is named), then the streamed
 * binlogs replayed up to it (pitrRun.ts); the shared trees come back as they were at that snapshot.
 */
export function restore(stack: string, snapshot: string, tools: Tools, fromStack = stack, to?: PitrTarget): RestoreResult {
    const started = Date.now();
    const access = openStack(stack, tools);
    const { facts, outputs } = access;
    let target: string | undefined;
    try {
        checkFacts(facts);
        const stream = to ? streamOf(access, stack, fromStack) : undefined;
        target = fs.mkdtempSync(path.join(os.tmpdir(), "bitrix-cluster-restore-"));
        let which = snapshot === "latest" ? `latest --tag ${q(`stack=${fromStack}`)}` : q(snapshot);
        if (to && snapshot === "latest") {
            const list = JSON.parse(sh(`restic snapshots --json --tag ${q(`stack=${stack}`)}`, tools.env)) as SnapshotListing[];
            which = q(pitrBaseSnapshot(list, stack, to));
        }
        sh(`restic restore ${which} --target ${q(target)} >/dev/null`, tools.env);
        // The snapshot's tree sits at its own stage path (another stack's, when restoring a copy into a clone).
        const root = findSnapshotRoot(target);
        const manifest = JSON.parse(fs.readFileSync(path.join(root, "manifest.json"), "utf8")) as Manifest;
        if (manifest.stack !== stack) tools.log(`restore: the snapshot is of stack ${manifest.stack}; restoring it into ${stack}`);
        const bad = verify(root, manifest);
        if (bad.length)
            throw new Error(`restore: ${bad.length} file(s) differ from the manifest, nothing restored: ${bad.slice(0, 5).join(", ")}`);
        // Planned before anything changes: a stream that does not reach the target refuses the whole restore.
        const plan = to && stream ? planReplay(access, stream, manifest.gtid, to) : undefined;
        if (plan)
            tools.log(
                `restore: replaying ${plan.segments.reduce((n, s) => n + s.count, 0)} transaction(s) from ${manifest.gtid} to ${plan.last} on top of the backup of ${manifest.time}`,
            );

        if (manifest.method === "physical") {
            if (manifest.stack !== stack)
                throw new Error(
                    `restore: the snapshot holds a physical copy of stack ${manifest.stack}, with that stack's database users and passwords; a copy into ${stack} needs a logical snapshot (npm run backup -- --method logical)`,
                );
            const why = physicalProblem(access);
            if (why) throw new Error(`restore: the snapshot holds a physical copy, and stack ${stack} cannot take it: ${why}`);
            if (manifest.engine !== facts.engine)
                throw new Error(`restore: the snapshot's physical copy is of ${manifest.engine}, and stack ${stack} runs ${facts.engine}`);
            const layer = dbLayer(access);
            restorePhysicalCopy({
                engine: facts.engine,
                copyDir: path.join(root, PHYSICAL_DIR),
                gtid: manifest.gtid,
                layer,
                writable: layer.servers.find((s) => s.target === facts.master)!,
                log: (l) => tools.log(l),
            });
        } else {
            tools.log(`restore: loading ${manifest.database} (GTID ${manifest.gtid} of the source) on ${facts.master.name}`);
            access.run(
                facts.master,
                dbRoot(facts.master, [...loadCommand(facts.engine), "-e", `DROP DATABASE IF EXISTS \`${facts.database}\``]),
            );
            const fd = fs.openSync(path.join(root, "db", `${manifest.database}.sql`), "r");
            try {
                access.run(facts.master, dbRoot(facts.master, loadCommand(facts.engine)), fd);
            } finally {
                fs.closeSync(fd);
            }
        }
        let replayed: RestoreResult["replayed"];
        if (plan && stream) {
            // A dump restored the application's database only: only its changes are replayed on top.
            const only = manifest.method === "physical" ? undefined : manifest.database;
            replayed = { transactions: runReplay(access, stream, facts.master, plan, only), last: plan.last };
            tools.log(`restore: ${replayed.transactions} transaction(s) replayed on ${facts.master.name}, up to ${plan.last}`);
        }
        for (const [slug, dir] of Object.entries(facts.sharedDirs)) {
            const from = path.join(root, "shared", slug);
            if (!fs.existsSync(from)) continue;
            tools.log(`restore: shared tree ${dir} on ${facts.files!.name}`);
            sh(`${readTreeScript(from)} | ${access.command(facts.files!, refillTreeScript(dir))}`);
        }
        // While the database was reloaded every node's health check failed: done when the portal serves again.
        const rotationS = waitForRotation({
            statusUrls: outputs.statusUrls ?? [],
            fetchCsv: (url) => sh(`curl -fsS -m 2 ${q(`${url.replace(/\/$/, "")}/;csv`)}`),
        });
        tools.log(`restore: every web node back in rotation on every balancer after ${rotationS.toFixed(1)} s`);
        return { seconds: (Date.now() - started) / 1000, manifest, ...(replayed ? { replayed } : {}) };
    } finally {
        if (target) fs.rmSync(target, { recursive: true, force: true });
        access.close();
    }
}

/**
 * Leaves a run's figures for the stack's monitoring service (metrics.ts), in the textfile directory of the
 * node-exporter that monitoring scrapes (Debian's default, in the monitoring container or on the monitoring host):
 * each file written beside its final name and renamed over it, mode 0644 for node-exporter's user. A stack without
 * monitoring, or a failure to write, is reported in the log and does not fail the backup or restore.
 */
export function publishRunMetrics(stack: string, tools: Pick<Tools, "pulumi">, record: RunRecord, log: (line: string) => void): void {
    let access: StackAccess | undefined;
    try {
        access = openStack(stack, tools, { liveRoles: false });
        const target = access.parts.monitoring;
        if (!target || (target.kind === "docker" && !hasContainer(target.name))) {
            log(`${record.kind}: stack ${stack} has no monitoring service; the run's figures are not published`);
            return;
        }
        for (const [name, content] of Object.entries(runMetricFiles(record))) {
            const tmp = `${TEXTFILE_DIR}/.${name}.tmp`;
            const script = `mkdir -p ${q(TEXTFILE_DIR)} && cat > ${q(tmp)} && chmod 0644 ${q(tmp)} && mv ${q(tmp)} ${q(`${TEXTFILE_DIR}/${name}`)}`;
            execFileSync("bash", ["-c", access.command(target, script)], { input: content, stdio: ["pipe", "ignore", "pipe"] });
        }
    } catch (e) {
        log(`${record.kind}: could not publish the run's figures for monitoring: ${(e as Error).message.split("\n")[0]}`);
    } finally {
        access?.close();
    }
}
