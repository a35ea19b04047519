/**
 * The backup benchmark at scale (issue 22), run on this machine with Debian's mariadbd, mariadb-dump,
 * mariadb-backup, mariadb-binlog and restic on loopback (no Docker, no Pulumi stack): a Bitrix-like database of the
 * asked size and an upload tree, a logical and a physical backup into fresh local restic repositories and their
 * restores into fresh servers, point-in-time recovery from the streamed binlog onto the physical copy, the streamer's
 * lag under load and its RPO when the master is killed under load, and restic's growth after a day of edits. Every
 * command is the project's own (tools/backup/plan.ts, physical.ts, the binlog-stream service's supervisor of
 * components/database/binlogStreamScript.ts with its lag metrics, and the replay of pitrFollow*.ts that
 * `npm run restore -- --to` runs); what differs from the cluster is said where it happens.
 *
 * One server, the master, is the source of both backups: the project takes them on a replica (`--dump-slave=2`,
 * `--slave-info --safe-slave-backup`); here the dump runs with `--master-data=2` instead (as tests/daemons/pitr.test.ts
 * does), and mariadb-backup's replica flags find no replication and are ignored, so the copy's GTID comes from
 * xtrabackup_binlog_info. A replica would double the disk and CPU of a 2-core machine for the same timings.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    backupOptionFile,
    backupUserSql,
    copyBackCommand,
    parseBinlogInfo,
    physicalBackupCommand,
    prepareCommand,
} from "../backup/physical";
import { dumpCommand, gtidOfDump } from "../backup/plan";
import { parseTarget } from "../backup/pitr";
import { followSourceDirs, parseSourceIndex, sourceFiles, sourceIndexScript } from "../backup/pitrFollow";
import { followReplayPlan } from "../backup/pitrFollowReplay";
import { followStreamerScript, streamerOptionFile } from "../../components/database/binlogStreamScript";
import { masterInitSql } from "../../components/database/initSql";
import {
    BackupScaleArgs,
    extrapolateSeconds,
    filePlan,
    fillSql,
    markdownTable,
    MEDIUM_PORTAL_BYTES,
    mib,
    modifySql,
    pitrTarget,
    rateMBs,
    rowPlan,
    secs,
    TABLES,
} from "./backupScale";
import { LocalMariadb, sql, startLocalMariadb, stopLocalMariadb, writeFile } from "./localMariadb";

const DB = "bitrix";
const PORTS = { master: 32350, logical: 32351, physical: 32352 };
const REPL = { user: "replicator", password: randomBytes(12).toString("hex") };
const BACKUP = { user: "physbackup", password: randomBytes(12).toString("hex") };
const INIT =
    masterInitSql({
        engine: "mariadb",
        database: DB,
        appUser: "bitrix",
        appPassword: randomBytes(12).toString("hex"),
        replicationUser: REPL.user,
        replicationPassword: REPL.password,
    }) + backupUserSql("mariadb", BACKUP.user, BACKUP.password);

export interface Step {
    step: string;
    seconds?: number;
    bytes?: number;
    /** Bytes the rate is computed over (the database size for database steps); none: no rate. */
    rateBytes?: number;
    note: string;
}

export interface BackupScaleResult {
    args: BackupScaleArgs;
    machine: { cpus: number; memoryGiB: number; mariadbd: string; restic: string; started: string };
    dbBytes: number;
    fileBytes: number;
    steps: Step[];
    pitr: { target: string; presentExpected: number; presentRestored: number; afterTargetRestored: number; afterTargetOnMaster: number };
    /** The stream's own lag metrics, sampled every 250 ms during the PITR load. */
    streamLag: { samples: number; maxLagBytes: number; maxCaughtUpAgeSeconds: number };
    rpo: { acknowledged: number; streamed: number; missing: number; secondsLost: number };
    dedup: Array<{
        edits: "spread" | "clustered";
        logicalFirstMiB: number;
        logicalGrowthMiB: number;
        physicalFirstMiB: number;
        physicalGrowthMiB: number;
    }>;
    extrapolated: Array<{ chain: string; measuredSeconds: number; mibPerSecond: number; seconds28GB: number }>;
    table: string;
}

const log = (line: string) => process.stderr.write(`backup-scale ${new Date().toISOString().slice(11, 19)}: ${line}\n`);

/** Runs a command to completion (stdin/stdout optionally files); throws with its stderr on failure. */
function run(argv: string[], o: { env?: NodeJS.ProcessEnv; stdinFile?: string; stdoutFile?: string; cwd?: string } = {}): string {
    const inFd = o.stdinFile ? fs.openSync(o.stdinFile, "r") : "ignore";
    const outFd = o.stdoutFile ? fs.openSync(o.stdoutFile, "w", 0o600) : "pipe";
    try {
        const r = spawnSync(argv[0], argv.slice(1), {
            env: { ...process.env, ...o.env },
            stdio: [inFd, outFd, "pipe"],
            encoding: "utf8",
            maxBuffer: 256 << 20,
            cwd: o.cwd,
        });
        if (r.error) throw r.error;
        if (r.status !== 0)
            throw new Error(`backup-scale: ${argv.join(" ").slice(0, 300)} failed (${r.status}):\n${(r.stderr ?? "").slice(-3000)}`);
        return `${r.stdout ?? ""}${r.stderr ?? ""}`;
    } finally {
        if (typeof inFd === "number") fs.closeSync(inFd);
        if (typeof outFd === "number") fs.closeSync(outFd);
    }
}

function timed<T>(fn: () => T): [T, number] {
    const t = performance.now();
    const v = fn();
    return [v, (performance.now() - t) / 1000];
}

async function timedAsync<T>(fn: () => Promise<T>): Promise<[T, number]> {
    const t = performance.now();
    const v = await fn();
    return [v, (performance.now() - t) / 1000];
}

/** Bytes of every regular file under `dir`. */
function dirBytes(dir: string): number {
    let sum = 0;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) sum += dirBytes(p);
        else if (e.isFile()) sum += fs.statSync(p).size;
    }
    return sum;
}

/** A restic repository of its own (password from RESTIC_PASSWORD, else a random one; never in argv). */
function restic(repo: string, password: string) {
    const env = { RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: password, RESTIC_CACHE_DIR: path.join(path.dirname(repo), "restic-cache") };
    return {
        init: () => run(["restic", "init"], { env }),
        version: () => Number(/"version":\s*(\d+)/.exec(run(["restic", "cat", "config"], { env }))?.[1]),
        /** restic backup; returns its JSON summary (data_added, total_bytes_processed …). */
        backup: (paths: string[]): Record<string, number> => {
            const out = run(["restic", "backup", "--json", ...paths], { env });
            const summary = out
                .split("\n")
                .filter((l) => l.includes('"message_type":"summary"'))
                .pop();
            if (!summary) throw new Error(`backup-scale: restic backup printed no summary:\n${out.slice(-2000)}`);
            return JSON.parse(summary) as Record<string, number>;
        },
        restore: (target: string) => run(["restic", "restore", "latest", "--target", target], { env }),
        bytes: () => dirBytes(repo),
    };
}

/** Where restic restored an absolute path (restic 0.14 re-creates the whole path under the target). */
function restored(target: string, original: string): string {
    const p = path.join(target, original);
    if (!fs.existsSync(p)) throw new Error(`backup-scale: restic restored nothing at ${p}`);
    return p;
}

/**
 * A writer with one long-lived client: each write is an autocommit INSERT followed by a SELECT of the row, whose
 * answer (read back through --unbuffered) is the acknowledgement that the commit returned.
 */
class Writer {
    private readonly proc: ChildProcess;
    private buf = "";
    private next = 0;
    private stopped = false;
    readonly acks: Array<{ id: number; at: number }> = [];
    done: Promise<void>;

    constructor(
        node: LocalMariadb,
        private readonly table: string,
        private readonly w: number,
        private readonly onAck: (a: { id: number; at: number }) => void = () => undefined,
    ) {
        this.proc = spawn("mariadb", ["--socket", node.socket, "-N", "-B", "--unbuffered"], { stdio: ["pipe", "pipe", "pipe"] });
        this.proc.stdin!.on("error", () => undefined);
        this.done = new Promise((resolve) => this.proc.once("exit", () => resolve()));
        this.proc.stdout!.on("data", (b: Buffer) => {
            this.buf += b.toString();
            let nl: number;
            while ((nl = this.buf.indexOf("\n")) >= 0) {
                const [id, at] = this.buf.slice(0, nl).split("\t").map(Number);
                this.buf = this.buf.slice(nl + 1);
                const ack = { id, at };
                this.acks.push(ack);
                this.onAck(ack);
                this.send();
            }
        });
        this.send();
    }

    private send(): void {
        if (this.stopped) {
            this.proc.stdin!.end();
            return;
        }
        const id = this.w * 10_000_000 + ++this.next;
        this.proc.stdin!.write(
            `INSERT INTO ${DB}.${this.table} (id, w) VALUES (${id}, ${this.w}); ` +
                `SELECT id, UNIX_TIMESTAMP(at) FROM ${DB}.${this.table} WHERE id = ${id};\n`,
        );
    }

    stop(): Promise<void> {
        this.stopped = true;
        return this.done;
    }
}

/** Rows of `table` in mariadb-binlog -v output of the given files, from a GTID position on: id and UNIX time. */
function streamedRows(files: string[], from: string, table: string): Array<{ id: number; at: number }> {
    const decoded = execFileSync("mariadb-binlog", ["-v", `--start-position=${from}`, ...files], {
        encoding: "utf8",
        maxBuffer: 1 << 30,
        env: { ...process.env, TZ: "UTC" },
    });
    const re = new RegExp(
        `### INSERT INTO \`${DB}\`\\.\`${table}\`\\n### SET\\n###\\s+@1=(\\d+)\\n###\\s+@2=\\d+\\n###\\s+@3='([^']*)'`,
        "g",
    );
    return [...decoded.matchAll(re)].map((m) => ({ id: Number(m[1]), at: Date.parse(`${m[2].replace(" ", "T")}Z`) / 1000 }));
}

/** The benchmark; returns the figures and the Markdown table (also printed by the CLI). */
export async function runBackupScale(args: BackupScaleArgs): Promise<BackupScaleResult> {
    if (process.getuid?.() !== 0)
        throw new Error("backup-scale: run as root (mariadbd is started as the mysql user by the image's entrypoint)");
    const started = new Date().toISOString();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "backupscale-"));
    fs.chmodSync(root, 0o755);
    const password = process.env.RESTIC_PASSWORD || randomBytes(24).toString("hex");
    const steps: Step[] = [];
    const servers: LocalMariadb[] = [];
    let streamer: ChildProcess | undefined;
    const add = (s: Step) => {
        steps.push(s);
        log(
            `${s.step}: ${s.seconds !== undefined ? `${s.seconds.toFixed(1)} s` : ""} ${s.bytes !== undefined ? `${mib(s.bytes)} MiB` : ""} ${s.note}`,
        );
    };
    const start = async (name: string, port: number, serverId: number) => {
        const node = await startLocalMariadb(root, name, { serverId, port, bufferPoolMb: args.bufferPoolMb, initSql: INIT });
        servers.push(node);
        return node;
    };
    const stop = async (node: LocalMariadb, signal: NodeJS.Signals = "SIGTERM") => {
        await stopLocalMariadb(node, signal);
        servers.splice(servers.indexOf(node), 1);
    };
    const counts = (node: LocalMariadb) => TABLES.map((t) => sql(node, `SELECT COUNT(*) FROM ${DB}.${t.name}`)).join("/");
    try {
        log(`root ${root}; --gb ${args.gb} --files ${args.files} --buffer-pool-mb ${args.bufferPoolMb}`);
        const master = await start("master", PORTS.master, 1);

        // 1. The database and the upload tree.
        const plan = rowPlan(args.gb * 1024 ** 3);
        for (const t of TABLES) sql(master, `CREATE TABLE ${DB}.${t.name} ${t.ddl.replace(/^CREATE TABLE \w+ /, "")}`);
        const [, genS] = await timedAsync(() =>
            Promise.all(
                TABLES.map(
                    (t) =>
                        new Promise<void>((resolve, reject) => {
                            // Not binlogged: the generation is the portal's past, not a load the streamer must carry.
                            const input = ["SET SESSION sql_log_bin = 0;", ...fillSql(DB, t, plan[t.name]).map((s) => `${s};`), ""].join(
                                "\n",
                            );
                            const p = spawn("mariadb", ["--socket", master.socket], { stdio: ["pipe", "ignore", "pipe"] });
                            let err = "";
                            p.stderr.on("data", (b: Buffer) => (err += b.toString()));
                            p.once("exit", (code) =>
                                code === 0 ? resolve() : reject(new Error(`backup-scale: filling ${t.name} failed: ${err}`)),
                            );
                            p.stdin.end(input);
                        }),
                ),
            ),
        );
        sql(master, `ANALYZE TABLE ${TABLES.map((t) => `${DB}.${t.name}`).join(", ")}`);
        const sizeRows = sql(
            master,
            `SELECT TABLE_NAME, TABLE_ROWS, DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${DB}' ORDER BY TABLE_NAME`,
        )
            .split("\n")
            .map((l) => l.split("\t"));
        const dbBytes = sizeRows.reduce((s, r) => s + Number(r[2]), 0);
        const masterCounts = counts(master);
        add({
            step: "Generate database (3 Bitrix-like tables, INSERT … SELECT from seq, 3 clients)",
            seconds: genS,
            bytes: dbBytes,
            rateBytes: dbBytes,
            note: `rows ${TABLES.map((t) => `${t.name} ${plan[t.name]}`).join(", ")}; information_schema data+index ${sizeRows.map((r) => `${r[0]} ${mib(Number(r[2]))}`).join(", ")} MiB`,
        });

        const upload = path.join(root, "upload");
        const files = filePlan(args.files);
        const [, filesS] = timed(() => {
            files.forEach((f, i) => {
                const p = path.join(upload, f.path);
                fs.mkdirSync(path.dirname(p), { recursive: true });
                if (f.copyOf !== undefined) fs.copyFileSync(path.join(upload, files[f.copyOf].path), p);
                else fs.writeFileSync(p, randomBytes(f.bytes));
                if (i % 1000 === 999) execFileSync("sync");
            });
            execFileSync("sync");
        });
        const fileBytes = files.reduce((s, f) => s + f.bytes, 0);
        add({
            step: "Generate upload tree (random bytes, 1–200 KiB)",
            seconds: filesS,
            bytes: fileBytes,
            note: `${files.length} files, ${files.filter((f) => f.copyOf !== undefined).length} of them copies of another`,
        });

        // 2. Logical backup: the project's dump, on the master.
        const logicalDir = path.join(root, "dump");
        fs.mkdirSync(logicalDir, { mode: 0o700 });
        const dumpFile = path.join(logicalDir, "dump.sql");
        const dumpArgv = dumpCommand("mariadb", DB).map((a) => (a === "--dump-slave=2" ? "--master-data=2" : a));
        const takeDump = () =>
            timed(() => run([dumpArgv[0], "--socket", master.socket, ...dumpArgv.slice(1)], { stdoutFile: dumpFile }))[1];
        const dumpS = takeDump();
        const dumpBytes = fs.statSync(dumpFile).size;
        const dumpGtid = gtidOfDump("mariadb", dumpFile);
        add({
            step: "Logical backup: mariadb-dump (dumpCommand) on the master",
            seconds: dumpS,
            bytes: dumpBytes,
            rateBytes: dbBytes,
            note: `--master-data=2 in place of --dump-slave=2 (no replica here); GTID ${dumpGtid}`,
        });
        const repoL = restic(path.join(root, "repo-logical"), password);
        repoL.init();
        const [sumL1, resticL1S] = timed(() => repoL.backup([logicalDir, upload]));
        const repoL1 = repoL.bytes();
        add({
            step: "Logical backup: restic backup of dump + upload tree (fresh local repo)",
            seconds: resticL1S,
            bytes: repoL1,
            rateBytes: dumpBytes + fileBytes,
            note: `repository format v${repoL.version()}; ${mib(sumL1.total_bytes_processed)} MiB read, ${mib(sumL1.data_added)} MiB added; size = repository on disk`,
        });

        // Logical restore: restic restore, a fresh server, the dump loaded.
        const restoreL = path.join(root, "restore-logical");
        const [, rrL] = timed(() => repoL.restore(restoreL));
        add({ step: "Logical restore: restic restore (dump + upload tree)", seconds: rrL, rateBytes: dumpBytes + fileBytes, note: "" });
        const [logical, startL] = await timedAsync(() => start("restored-logical", PORTS.logical, 11));
        add({ step: "Logical restore: start a fresh mariadbd (first start, init SQL)", seconds: startL, note: "" });
        const [, loadS] = timed(() => run(["mariadb", "--socket", logical.socket], { stdinFile: restored(restoreL, dumpFile) }));
        const logicalCounts = counts(logical);
        add({
            step: "Logical restore: load the dump (mariadb client, binlog on as on a master)",
            seconds: loadS,
            rateBytes: dbBytes,
            note: `rows ${logicalCounts} (master ${masterCounts})${logicalCounts === masterCounts ? "" : " MISMATCH"}`,
        });
        await stop(logical);
        fs.rmSync(logical.dir, { recursive: true, force: true });
        fs.rmSync(restoreL, { recursive: true, force: true });

        // 3. Physical backup with the project's command, on the master.
        const copyDir = path.join(root, "copy");
        const optionFile = writeFile(
            path.join(root, "backup.cnf"),
            backupOptionFile("mariadb", { ...BACKUP, socket: master.socket }),
            0o600,
        );
        const physArgv = physicalBackupCommand("mariadb", copyDir, { optionFile });
        const [, physS] = timed(() => run(physArgv));
        const copyBytes = dirBytes(copyDir);
        const binlogInfo = parseBinlogInfo("mariadb", fs.readFileSync(path.join(copyDir, "xtrabackup_binlog_info"), "utf8"));
        add({
            step: "Physical backup: mariadb-backup --backup (physicalBackupCommand) on the master",
            seconds: physS,
            bytes: copyBytes,
            rateBytes: dbBytes,
            note: `--slave-info/--safe-slave-backup find no replication; GTID ${binlogInfo.gtid} from xtrabackup_binlog_info (${binlogInfo.file})`,
        });

        // 4. PITR: the binlog-stream service's supervisor (from the server's oldest binlog, into a `<server_id>-<time>`
        // subdirectory, its lag in a textfile), a write load, a target second inside it.
        const binlogDir = path.join(root, "binlogs");
        const streamerCnf = writeFile(path.join(root, "streamer.cnf"), streamerOptionFile(REPL.password), 0o600);
        fs.mkdirSync(path.join(root, "textfile"));
        const metricsFile = path.join(root, "textfile", "bitrix-binlog-stream.prom");
        const script = writeFile(
            path.join(root, "streamer.sh"),
            followStreamerScript(
                {
                    servers: [{ host: "127.0.0.1", port: PORTS.master }],
                    user: REPL.user,
                    optionFile: streamerCnf,
                    dir: binlogDir,
                    serverId: 9001,
                    metricsFile,
                },
                1,
                1,
            ),
            0o700,
        );
        streamer = spawn("bash", [script], { stdio: "ignore", detached: true });
        /** The stream's subdirectory (one: this master is never reset). */
        const streamDir = () => {
            const dirs = fs.existsSync(binlogDir) ? followSourceDirs(fs.readdirSync(binlogDir)) : [];
            return dirs.length ? path.join(binlogDir, dirs[dirs.length - 1]) : undefined;
        };
        const lagSample = () => {
            const text = fs.existsSync(metricsFile) ? fs.readFileSync(metricsFile, "utf8") : "";
            const value = (m: string) => Number(new RegExp(`^${m} (\\d+)$`, "m").exec(text)?.[1] ?? NaN);
            return { lag: value("bitrix_binlog_stream_lag_bytes"), caught: value("bitrix_binlog_stream_last_caught_up_timestamp_seconds") };
        };
        const loadTable = (t: string) =>
            sql(
                master,
                `CREATE TABLE ${DB}.${t} (id BIGINT PRIMARY KEY, w INT NOT NULL, at DATETIME(6) NOT NULL DEFAULT NOW(6)) ENGINE=InnoDB`,
            );
        loadTable("b_bench_pitr");
        const pitrWriters = [1, 2].map((w) => new Writer(master, "b_bench_pitr", w));
        const streamLag = { samples: 0, maxLagBytes: 0, maxCaughtUpAgeSeconds: 0 };
        for (const end = Date.now() + 12_000; Date.now() < end;) {
            await new Promise((r) => setTimeout(r, 250));
            const { lag, caught } = lagSample();
            if (Number.isNaN(lag) || Number.isNaN(caught)) continue;
            streamLag.samples++;
            streamLag.maxLagBytes = Math.max(streamLag.maxLagBytes, lag);
            streamLag.maxCaughtUpAgeSeconds = Math.max(streamLag.maxCaughtUpAgeSeconds, Date.now() / 1000 - caught);
        }
        await Promise.all(pitrWriters.map((w) => w.stop()));
        const acks = pitrWriters.flatMap((w) => w.acks);
        const ats = acks.map((a) => a.at);
        const target = pitrTarget(Math.min(...ats) * 1000, Math.max(...ats) * 1000);
        const before = Number(sql(master, `SELECT COUNT(*) FROM ${DB}.b_bench_pitr WHERE UNIX_TIMESTAMP(at) < ${target.epochSeconds}`));
        const fromOn = Number(sql(master, `SELECT COUNT(*) FROM ${DB}.b_bench_pitr WHERE UNIX_TIMESTAMP(at) >= ${target.epochSeconds}`));
        log(
            `PITR load: ${acks.length} rows acknowledged by 2 writers over 12 s; target ${target.utc} UTC: ${before} before, ${fromOn} from it on`,
        );
        const caughtUp = () => {
            const logs = sql(master, "SHOW BINARY LOGS")
                .split("\n")
                .map((l) => l.split("\t"));
            const [name, size] = logs[logs.length - 1];
            const dir = streamDir();
            const file = dir && path.join(dir, name);
            return !!file && fs.existsSync(file) && fs.statSync(file).size === Number(size);
        };
        for (let i = 0; !caughtUp(); i++) {
            if (i > 600) throw new Error("backup-scale: the streamer did not catch up with the master in 60 s");
            await new Promise((r) => setTimeout(r, 100));
        }
        add({
            step: "Binlog stream lag under the PITR load (2 writers), from its own metrics file (check every 1 s)",
            note:
                `${streamLag.samples} samples: lag at most ${streamLag.maxLagBytes} bytes, caught-up time at most ` +
                `${streamLag.maxCaughtUpAgeSeconds.toFixed(1)} s old (the alert line is 30 s)`,
        });

        const [, prepS] = timed(() => run(prepareCommand("mariadb", copyDir)));
        add({ step: "Physical backup: mariadb-backup --prepare", seconds: prepS, rateBytes: dbBytes, note: "" });
        const repoP = restic(path.join(root, "repo-physical"), password);
        repoP.init();
        const [sumP1, resticP1S] = timed(() => repoP.backup([copyDir]));
        const repoP1 = repoP.bytes();
        add({
            step: "Physical backup: restic backup of the prepared copy (fresh local repo)",
            seconds: resticP1S,
            bytes: repoP1,
            rateBytes: dirBytes(copyDir),
            note: `${mib(sumP1.total_bytes_processed)} MiB read, ${mib(sumP1.data_added)} MiB added`,
        });

        // Physical restore: restic restore, copy-back, start.
        const restoreP = path.join(root, "restore-physical");
        const [, rrP] = timed(() => repoP.restore(restoreP));
        add({ step: "Physical restore: restic restore of the copy", seconds: rrP, rateBytes: dbBytes, note: "" });
        const physNode = path.join(root, "restored-physical");
        fs.mkdirSync(physNode, { mode: 0o755 });
        const [, cbS] = timed(() => {
            run(copyBackCommand("mariadb", restored(restoreP, copyDir), path.join(physNode, "data")));
            run(["chown", "-R", "mysql:mysql", path.join(physNode, "data")]);
            writeFile(path.join(physNode, "data", ".bitrix-cluster-initialized"), "");
        });
        add({ step: "Physical restore: mariadb-backup --copy-back + chown", seconds: cbS, rateBytes: dbBytes, note: "" });
        const [phys, startP] = await timedAsync(() => start("restored-physical", PORTS.physical, 12));
        const physCounts = counts(phys);
        add({
            step: "Physical restore: start mariadbd on the copy",
            seconds: startP,
            note: `rows ${physCounts} (master ${masterCounts})${physCounts === masterCounts ? "" : " MISMATCH"}`,
        });
        fs.rmSync(restoreP, { recursive: true, force: true });

        // What `npm run restore -- --to` does: index every source subdirectory, plan (each GTID once, in order), replay.
        const [replay, planS] = timed(() =>
            followReplayPlan({
                startGtid: binlogInfo.gtid,
                target: parseTarget("mariadb", "--to", target.utc),
                binlogDir,
                sources: followSourceDirs(fs.readdirSync(binlogDir)).map((name) => {
                    const files = sourceFiles(fs.readdirSync(path.join(binlogDir, name)));
                    return parseSourceIndex(name, files, run(["bash", "-c", sourceIndexScript(path.join(binlogDir, name), files)]));
                }),
            }),
        );
        if (!replay.reached) throw new Error(`backup-scale: the streamed binlogs do not reach ${target.utc}`);
        const [, replayS] = timed(() => run(["bash", "-c", replay.script(["--socket", phys.socket])]));
        const presentRestored = Number(sql(phys, `SELECT COUNT(*) FROM ${DB}.b_bench_pitr`));
        const afterTargetRestored = Number(
            sql(phys, `SELECT COUNT(*) FROM ${DB}.b_bench_pitr WHERE UNIX_TIMESTAMP(at) >= ${target.epochSeconds}`),
        );
        const pitr = { target: target.utc, presentExpected: before, presentRestored, afterTargetRestored, afterTargetOnMaster: fromOn };
        add({
            step: `PITR: replay of the streamed binlog onto the physical copy to ${target.utc} UTC`,
            seconds: replayS,
            note:
                `planned in ${planS.toFixed(1)} s (${replay.segments.map((g) => `${g.count} transactions of ${g.source}`).join(", ")}); ` +
                `rows before the target: ${presentRestored} restored of ${before} on the master; ` +
                `from the target on: ${afterTargetRestored} restored of ${fromOn} (expected 0)` +
                (presentRestored === before && afterTargetRestored === 0 ? "" : " MISMATCH"),
        });
        await stop(phys);
        fs.rmSync(physNode, { recursive: true, force: true });

        // 6. Dedup: a day of edits (1 % of the rows), then the same two backups again; spread edits first, then clustered.
        const dedup: BackupScaleResult["dedup"] = [];
        for (const mode of ["spread", "clustered"] as const) {
            const [, modS] = timed(() => modifySql(DB, mode, plan).forEach((q) => sql(master, q)));
            log(`modified 1 % of the rows (${mode}) in ${modS.toFixed(1)} s`);
            const what = mode === "spread" ? "1 % of the rows, one in every hundred" : "the newest 1 % of the rows";
            const beforeL = repoL.bytes();
            const dumpNS = takeDump();
            const [sumL, resticLS] = timed(() => repoL.backup([logicalDir, upload]));
            const growthL = repoL.bytes() - beforeL;
            add({
                step: `Dedup, logical: another restic backup after editing ${what} (a new dump)`,
                seconds: resticLS,
                bytes: growthL,
                note: `repository grew ${mib(growthL)} MiB (${((100 * growthL) / repoL1).toFixed(1)} % of the first backup's ${mib(repoL1)} MiB); dump took ${dumpNS.toFixed(1)} s; restic's data_added ${mib(sumL.data_added)} MiB (before compression)`,
            });
            const beforeP = repoP.bytes();
            fs.rmSync(copyDir, { recursive: true, force: true });
            const [, physNS] = timed(() => run(physArgv));
            const [, prepNS] = timed(() => run(prepareCommand("mariadb", copyDir)));
            const [sumP, resticPS] = timed(() => repoP.backup([copyDir]));
            const growthP = repoP.bytes() - beforeP;
            add({
                step: `Dedup, physical: another restic backup after editing ${what} (a new copy, prepared)`,
                seconds: resticPS,
                bytes: growthP,
                note: `repository grew ${mib(growthP)} MiB (${((100 * growthP) / repoP1).toFixed(1)} % of the first backup's ${mib(repoP1)} MiB); copy ${physNS.toFixed(1)} s, prepare ${prepNS.toFixed(1)} s; restic's data_added ${mib(sumP.data_added)} MiB (before compression)`,
            });
            dedup.push({
                edits: mode,
                logicalFirstMiB: repoL1 / 2 ** 20,
                logicalGrowthMiB: growthL / 2 ** 20,
                physicalFirstMiB: repoP1 / 2 ** 20,
                physicalGrowthMiB: growthP / 2 ** 20,
            });
        }
        fs.rmSync(copyDir, { recursive: true, force: true });

        // 5. RPO: 4 writers, the master killed (SIGKILL) right after a write is acknowledged.
        loadTable("b_bench_rpo");
        // A binlog of its own for the RPO load, so only it is decoded (the earlier ones hold the edits' row images).
        sql(master, "FLUSH BINARY LOGS");
        const rpoFirstFile = sql(master, "SHOW MASTER STATUS").split("\t")[0];
        const rpoFrom = sql(master, "SELECT @@gtid_binlog_pos");
        let killAt = 0;
        const armAfter = Date.now() + 5000;
        const onAck = () => {
            if (!killAt && Date.now() >= armAfter) {
                killAt = Date.now();
                process.kill(-master.proc.pid!, "SIGKILL");
            }
        };
        const rpoWriters = [1, 2, 3, 4].map((w) => new Writer(master, "b_bench_rpo", w, onAck));
        await Promise.all(rpoWriters.map((w) => w.done));
        await stop(master, "SIGKILL");
        await new Promise((r) => setTimeout(r, 1500));
        process.kill(-streamer.pid!, "SIGTERM");
        streamer = undefined;
        const acked = rpoWriters.flatMap((w) => w.acks);
        const rpoDir = streamDir()!;
        const streamedFiles = fs
            .readdirSync(rpoDir)
            .filter((f) => /^binlog\.\d+$/.test(f) && f >= rpoFirstFile)
            .sort()
            .map((f) => path.join(rpoDir, f));
        const streamed = streamedRows(streamedFiles, rpoFrom, "b_bench_rpo");
        const streamedIds = new Set(streamed.map((r) => r.id));
        const missing = acked.filter((a) => !streamedIds.has(a.id));
        const lastAcked = Math.max(...acked.map((a) => a.at));
        const lastStreamed = streamed.length ? Math.max(...streamed.map((r) => r.at)) : 0;
        const rpo = {
            acknowledged: acked.length,
            streamed: streamed.length,
            missing: missing.length,
            secondsLost: missing.length ? lastAcked - lastStreamed : 0,
        };
        add({
            step: "RPO: SIGKILL of the master right after an acknowledged write (4 writers)",
            note: `${acked.length} writes acknowledged, ${streamed.length} rows in the streamed binlog, ${missing.length} acknowledged rows missing (expected 0), ${rpo.secondsLost.toFixed(3)} s of commits lost`,
        });

        // 7. Rates and the extrapolation to a medium portal.
        const find = (prefix: string) => steps.find((s) => s.step.startsWith(prefix))!;
        const dbShareOf = (s: Step, total: number) => ({ seconds: s.seconds!, dbShare: total > 0 ? dumpBytes / total : 1 });
        const chains = [
            {
                chain: "Logical backup: dump + restic backup",
                steps: [
                    { seconds: find("Logical backup: mariadb-dump").seconds!, dbShare: 1 },
                    dbShareOf(find("Logical backup: restic"), dumpBytes + fileBytes),
                ],
            },
            {
                chain: "Logical restore: restic restore + load (server start not scaled)",
                steps: [
                    dbShareOf(find("Logical restore: restic restore"), dumpBytes + fileBytes),
                    { seconds: find("Logical restore: start").seconds!, dbShare: 0 },
                    { seconds: find("Logical restore: load").seconds!, dbShare: 1 },
                ],
            },
            {
                chain: "Physical backup: mariadb-backup + prepare + restic backup",
                steps: [
                    "Physical backup: mariadb-backup --backup",
                    "Physical backup: mariadb-backup --prepare",
                    "Physical backup: restic",
                ].map((p) => ({
                    seconds: find(p).seconds!,
                    dbShare: 1,
                })),
            },
            {
                chain: "Physical restore: restic restore + copy-back + start",
                steps: ["Physical restore: restic restore", "Physical restore: mariadb-backup --copy-back", "Physical restore: start"].map(
                    (p) => ({
                        seconds: find(p).seconds!,
                        dbShare: p.endsWith("start") ? 0 : 1,
                    }),
                ),
            },
        ];
        const extrapolated = chains.map((c) => {
            const measured = c.steps.reduce((s, x) => s + x.seconds, 0);
            return {
                chain: c.chain,
                measuredSeconds: measured,
                mibPerSecond: rateMBs(dbBytes, measured),
                seconds28GB: extrapolateSeconds(c.steps, dbBytes, MEDIUM_PORTAL_BYTES),
            };
        });

        const table =
            `Backups at scale on this machine (${os.cpus().length} cores, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB RAM), ` +
            `database ${mib(dbBytes)} MiB (information_schema data+index), upload tree ${files.length} files / ${mib(fileBytes)} MiB, ` +
            `innodb_buffer_pool_size ${args.bufferPoolMb} MiB; Debian's mariadbd 10.11 and restic on loopback, all on one disk.\n\n` +
            markdownTable(
                ["Step", "Seconds", "MiB", "MiB/s", "Notes"],
                steps.map((s) => [
                    s.step,
                    s.seconds !== undefined ? secs(s.seconds) : "–",
                    s.bytes !== undefined ? mib(s.bytes) : "–",
                    s.rateBytes !== undefined && s.seconds ? rateMBs(s.rateBytes, s.seconds).toFixed(1) : "–",
                    s.note,
                ]),
            ) +
            "\nMiB: what the step produced (the database, the tree, the dump, the copy, the repository on disk; for dedup the repository's growth). " +
            "MiB/s: database steps over the database size; restic steps over what they read (dump + tree, or the copy). " +
            "Dedup rows time that restic backup only.\n\n" +
            `EXTRAPOLATED (not measured) to seed 002's medium portal, a ~28 GB database (${(MEDIUM_PORTAL_BYTES / 1024 ** 3).toFixed(0)} GiB): ` +
            "each database-proportional step scaled linearly from this run; the upload tree and server starts are not scaled. " +
            "A 28 GB database would not fit this run's buffer pool or page cache the same way, so treat these as lower bounds.\n\n" +
            markdownTable(
                ["Chain", "Measured s", "Database MiB/s", "Extrapolated to 28 GB (s)"],
                extrapolated.map((e) => [e.chain, secs(e.measuredSeconds), e.mibPerSecond.toFixed(1), `~${secs(e.seconds28GB)}`]),
            );
        const result: BackupScaleResult = {
            args,
            machine: {
                cpus: os.cpus().length,
                memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
                mariadbd: execFileSync("mariadbd", ["--version"], { encoding: "utf8" }).trim(),
                restic: execFileSync("restic", ["version"], { encoding: "utf8" }).trim(),
                started,
            },
            dbBytes,
            fileBytes,
            steps,
            pitr,
            streamLag,
            rpo,
            dedup,
            extrapolated,
            table,
        };
        return result;
    } finally {
        if (streamer?.pid) {
            try {
                process.kill(-streamer.pid, "SIGTERM");
            } catch {
                /* gone */
            }
        }
        for (const s of [...servers]) await stopLocalMariadb(s, "SIGKILL");
        // Gigabytes of data directories, copies and repositories: never left behind.
        fs.rmSync(root, { recursive: true, force: true });
        log(`removed ${root}`);
    }
}
