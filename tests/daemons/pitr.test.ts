/**
 * Point-in-time recovery against Debian's mariadbd and mariadb-binlog 10.11: the generated streamer (under its
 * generated supervisor) copies a master's binlog into a directory, a logical base backup records its GTID, rows go in
 * in three batches, the database is dropped, and the generated replay restores a fresh server up to a time or to a
 * GTID. Last, the master is killed with SIGKILL right after a commit and the stream is checked for that row (RPO).
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { masterInitSql } from "../../components/database/initSql";
import {
    binlogStreamCommand,
    parseTarget,
    replayPlan,
    streamerOptionFile,
    streamerScript,
    TARGET_NOT_REACHED,
} from "../../tools/backup/pitr";
import { dumpCommand, gtidOf } from "../../tools/backup/plan";
import { Daemons, requireBinary, run, tmpDir, waitFor, write } from "../helpers/daemons";
import { MariadbNode, mariadbSql, startMariadb } from "../helpers/stack";

// Below the kernel's ephemeral range, unused by the other daemon tests.
const PORTS = { master: 32326, restore: 32327 };
const DB = "bitrix";
const REPL = { user: "replicator", password: 'repl "pa\\ss" #1' };
const init = masterInitSql({
    engine: "mariadb",
    database: DB,
    appUser: "bitrix",
    appPassword: "app pw",
    replicationUser: REPL.user,
    replicationPassword: REPL.password,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("pitr: streamed binlogs replayed onto a restored base backup (mariadbd 10.11)", () => {
    const daemons = new Daemons();
    const root = tmpDir("pitr");
    const binlogDir = path.join(root, "binlogs");
    let master: MariadbNode;
    let restore: MariadbNode;
    let dumpFile = "";
    let baseGtid = "";
    let target = "";
    let gtidOfRow8 = "";
    let lastBatch3Gtid = "";
    let streamerPid = 0;

    const sql = (node: MariadbNode, q: string) => mariadbSql(node, q);
    const streamedFiles = () => fs.readdirSync(binlogDir);
    /** The streamed copy has every byte of the master's newest binlog. */
    const caughtUp = () => {
        const logs = sql(master, "SHOW BINARY LOGS")
            .split("\n")
            .map((l) => l.split("\t"));
        const [name, size] = logs[logs.length - 1];
        const file = path.join(binlogDir, name);
        return fs.existsSync(file) && fs.statSync(file).size === Number(size);
    };
    /** Per streamed file that is not byte-identical to the master's: the master's extra bytes and the differing offsets. */
    const compareWithMaster = () => {
        const out: Record<string, { extra: number; bytes: number[] }> = {};
        for (const f of streamedFiles()) {
            const [copy, orig] = [path.join(binlogDir, f), path.join(master.dir, "data", f)].map((p) => fs.readFileSync(p));
            const bytes = [...copy.keys()].filter((k) => orig[k] !== copy[k]);
            if (bytes.length || orig.length !== copy.length) out[f] = { extra: orig.length - copy.length, bytes };
        }
        return out;
    };
    const insert = (id: number, batch: number) =>
        sql(master, `INSERT INTO ${DB}.t (id, batch) VALUES (${id}, ${batch}); SELECT @@last_gtid`).split("\n").pop()!;
    /** Drops the database on the restore server and loads the base dump into it. */
    const loadBase = () => {
        sql(restore, `DROP DATABASE IF EXISTS ${DB}`);
        run("mariadb", ["--socket", restore.socket], { input: fs.readFileSync(dumpFile, "utf8") });
    };
    const batches = () => sql(restore, `SELECT batch, COUNT(*), MIN(id), MAX(id) FROM ${DB}.t GROUP BY batch ORDER BY batch`);
    const replay = (plan: ReturnType<typeof replayPlan>) => {
        const started = Date.now();
        run("bash", ["-c", plan.script(["--socket", restore.socket])]);
        return (Date.now() - started) / 1000;
    };

    before(async () => {
        requireBinary("mariadbd");
        requireBinary("mariadb-binlog");
        requireBinary("mariadb-dump");
        [master, restore] = await Promise.all([
            startMariadb(daemons, root, "master", { role: "master", serverId: 1, port: PORTS.master, initSql: init }),
            startMariadb(daemons, root, "restore", { role: "master", serverId: 3, port: PORTS.restore, initSql: init }),
        ]);

        // The streamer: the replication user's password in a 0600 option file, the generated supervisor script.
        const optionFile = write(path.join(root, "streamer.cnf"), streamerOptionFile(REPL.password), 0o600);
        const first = sql(master, "SHOW BINARY LOGS").split("\n")[0].split("\t")[0];
        const opts = {
            host: "127.0.0.1",
            port: PORTS.master,
            user: REPL.user,
            optionFile,
            dir: binlogDir,
            firstBinlog: first,
            serverId: 9001,
        };
        assert.ok(!binlogStreamCommand("mariadb", opts).join(" ").includes("pa\\ss"));
        const script = write(path.join(root, "streamer.sh"), streamerScript("mariadb", opts, 1), 0o700);
        streamerPid = daemons.start("streamer", "bash", [script]).pid!;

        sql(master, `CREATE TABLE ${DB}.t (id INT PRIMARY KEY, batch INT NOT NULL, at DATETIME(6) NOT NULL DEFAULT NOW(6)) ENGINE=InnoDB`);
        for (let id = 1; id <= 3; id++) insert(id, 0);

        // The base backup: the existing dump, on the master itself (--master-data=2 instead of the replica's
        // --dump-slave=2: same --gtid position, commented out, written by mariadb-dump 10.11 at the END of the dump).
        const argv = dumpCommand("mariadb", DB).map((a) => (a === "--dump-slave=2" ? "--master-data=2" : a));
        dumpFile = write(path.join(root, "base.sql"), run(argv[0], ["--socket", master.socket, ...argv.slice(1)]), 0o600);
        baseGtid = gtidOf("mariadb", fs.readFileSync(dumpFile, "utf8")) ?? "";
        assert.match(baseGtid, /^0-1-\d+$/);
        assert.equal(baseGtid, sql(master, "SELECT @@gtid_binlog_pos"));

        for (let id = 101; id <= 105; id++) insert(id, 1);
        // The streamer loses its connection mid-stream: the supervisor restarts it from the start of its newest file.
        const child = Number(run("pgrep", ["-P", String(streamerPid)]).trim());
        process.kill(child, "SIGKILL");
        sql(master, "FLUSH BINARY LOGS");
        await sleep(1600);
        for (let id = 201; id <= 205; id++) {
            const gtid = insert(id, 2);
            if (id === 203) gtidOfRow8 = gtid;
        }
        // The target: the first whole second after batch 2 (binlog events carry whole seconds); batch 3 starts later.
        const afterBatch2 = Number(sql(master, "SELECT UNIX_TIMESTAMP(NOW(6))"));
        const targetS = Math.floor(afterBatch2) + 1;
        target = new Date(targetS * 1000).toISOString().slice(0, 19).replace("T", " ");
        await waitFor("a second past the target", () => Number(sql(master, "SELECT UNIX_TIMESTAMP(NOW(6))")) >= targetS + 0.5, 5000);
        await sleep(1000);
        for (let id = 301; id <= 305; id++) lastBatch3Gtid = insert(id, 3);
        // The accident.
        sql(master, `DROP DATABASE ${DB}`);
        await waitFor("the stream caught up with the master", caughtUp, 20000).catch((e) => {
            throw new Error(`${e}\n${daemons.log("streamer")}`);
        });
        // Restarted from the start of its newest file, which it fetched again: every streamed file is the master's, byte for byte.
        assert.match(
            daemons.log("streamer"),
            /from binlog\.000001\n[\s\S]*exited with status 137; restarting in 1 s\n[\s\S]*from binlog\.000002\n/,
        );
        // Restarted from the start of its newest file, which it fetched again: every streamed file is the master's, byte
        // for byte, but for the in-use flag of the master's open binlog (LOG_EVENT_BINLOG_IN_USE_F, bit 0 of the format
        // description's flags at byte 21), which the copy has clear.
        const diffs = compareWithMaster();
        const newest = streamedFiles().sort().pop()!;
        assert.deepEqual(diffs, { [newest]: { extra: 0, bytes: [21] } });
        console.log(
            `pitr: base ${baseGtid}, target "${target}" UTC, row 203 = ${gtidOfRow8}, streamed ${streamedFiles().sort().join(" ")}`,
        );
    });

    after(() => daemons.stopAll());

    it("restores to a time: batches 1 and 2 are back, batch 3 and the drop are not", () => {
        loadBase();
        assert.equal(batches(), "0\t3\t1\t3");
        const plan = replayPlan("mariadb", {
            startGtid: baseGtid,
            target: parseTarget("mariadb", "--to", target),
            binlogDir,
            binlogFiles: streamedFiles(),
        });
        const seconds = replay(plan);
        assert.equal(batches(), "0\t3\t1\t3\n1\t5\t101\t105\n2\t5\t201\t205");
        console.log(`pitr: replay to "${target}" UTC over ${plan.reader.length - 3} file(s) took ${seconds.toFixed(2)} s`);
    });

    it("restores to a GTID, inclusive: every row up to row 203 and none after", () => {
        loadBase();
        const plan = replayPlan("mariadb", {
            startGtid: baseGtid,
            target: parseTarget("mariadb", "--to-gtid", gtidOfRow8),
            binlogDir,
            binlogFiles: streamedFiles(),
        });
        const seconds = replay(plan);
        assert.equal(batches(), "0\t3\t1\t3\n1\t5\t101\t105\n2\t3\t201\t203");
        console.log(`pitr: replay to GTID ${gtidOfRow8} took ${seconds.toFixed(2)} s`);
    });

    it("the stop target is what keeps batch 3 out: past it batch 3 is replayed, and with no target the drop is too", () => {
        loadBase();
        replay(
            replayPlan("mariadb", {
                startGtid: baseGtid,
                target: { kind: "gtid", gtid: lastBatch3Gtid },
                binlogDir,
                binlogFiles: streamedFiles(),
            }),
        );
        assert.throws(() => assert.equal(batches(), "0\t3\t1\t3\n1\t5\t101\t105\n2\t5\t201\t205"));
        assert.match(batches(), /\n3\t5\t301\t305$/);
        loadBase();
        replay(replayPlan("mariadb", { startGtid: baseGtid, binlogDir, binlogFiles: streamedFiles() }));
        assert.equal(sql(restore, `SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '${DB}'`), "0");
    });

    it("reads --stop-datetime in the reader's time zone: the plan's TZ=UTC is what makes the target UTC", () => {
        const plan = replayPlan("mariadb", {
            startGtid: baseGtid,
            target: parseTarget("mariadb", "--to", target),
            binlogDir,
            binlogFiles: streamedFiles(),
        });
        const gtids = (tz: string) =>
            (run(plan.reader[0], plan.reader.slice(1), { env: { TZ: tz } }).match(/^#\d{6} .*\tGTID 0-1-\d+/gm) ?? []).length;
        // 5 + 5 rows after the base (the FLUSH writes no GTID). Five hours west the same wall time is later: batch 3 and the
        // drop come along; nine hours east it is before the base, which the reader refuses.
        assert.equal(gtids("UTC"), 10);
        assert.equal(gtids("America/New_York"), 16);
        assert.throws(() => gtids("Asia/Tokyo"), /never reached expected GTID state/);
    });

    it("needs the filter: the restored server refuses the original sequence numbers (gtid_strict_mode)", () => {
        loadBase();
        const plan = replayPlan("mariadb", {
            startGtid: baseGtid,
            target: parseTarget("mariadb", "--to", target),
            binlogDir,
            binlogFiles: streamedFiles(),
        });
        assert.throws(
            () =>
                run("bash", [
                    "-c",
                    `set -o pipefail; ${plan.reader.map((a) => `'${a}'`).join(" ")} | mariadb --binary-mode --socket '${restore.socket}'`,
                ]),
            /ERROR 1950 .*out-of-order sequence number/,
        );
    });

    it("fails rather than replaying a hole when the files do not reach back to the base, and warns past their end", () => {
        const files = streamedFiles().sort();
        const gap = replayPlan("mariadb", { startGtid: baseGtid, binlogDir, binlogFiles: files.slice(-1) });
        assert.throws(() => run(gap.reader[0], gap.reader.slice(1)), /missing data for domain 0/);
        const late = replayPlan("mariadb", {
            startGtid: baseGtid,
            target: parseTarget("mariadb", "--to-gtid", "0-1-999999"),
            binlogDir,
            binlogFiles: files,
        });
        const out = run("bash", ["-c", `${late.reader.map((a) => `'${a}'`).join(" ")} 2>&1 >/dev/null`]);
        assert.match(out, TARGET_NOT_REACHED);
    });

    it("resumes after the master restarts: the streamer reconnects and the new binlog arrives", async () => {
        const before = streamedFiles().sort();
        await daemons.stop("master");
        await sleep(1500);
        master = await startMariadb(daemons, root, "master", { role: "master", serverId: 1, port: PORTS.master, initSql: init });
        sql(
            master,
            "CREATE DATABASE after_restart; CREATE TABLE after_restart.t (id INT PRIMARY KEY); INSERT INTO after_restart.t VALUES (1)",
        );
        await waitFor("the stream caught up with the restarted master", caughtUp, 20000);
        const after = streamedFiles().sort();
        const newest = after[after.length - 1];
        // The master opened a new binlog at its start; the streamer retried while it was down, then fetched the file that
        // was open at the shutdown again from its start and followed on into the new one.
        assert.deepEqual(after, [...before, newest]);
        assert.match(daemons.log("streamer"), /Lost connection[\s\S]*restarting in 1 s\n[\s\S]*from binlog\.000003\n/);
        assert.deepEqual(compareWithMaster(), { [newest]: { extra: 0, bytes: [21] } });
        assert.equal(sql(master, "SELECT COUNT(*) FROM after_restart.t"), "1");
        console.log(`pitr: after a master restart the stream holds ${after.join(" ")}, identical to the master's`);
    });

    it("RPO: after SIGKILL of the master right after a commit, the stream holds that commit", async () => {
        sql(master, "CREATE DATABASE rpo; CREATE TABLE rpo.t (id INT PRIMARY KEY, at DATETIME(6) NOT NULL DEFAULT NOW(6)) ENGINE=InnoDB");
        const from = sql(master, "SELECT @@gtid_binlog_pos");
        let last = 0;
        let lastAt = "";
        for (let id = 1; id <= 200; id++) {
            lastAt = sql(master, `INSERT INTO rpo.t (id) VALUES (${id}); SELECT at FROM rpo.t WHERE id = ${id}`);
            last = id;
        }
        const killedAt = Date.now();
        await daemons.stop("master", "SIGKILL");
        await sleep(1500);
        await daemons.stop("streamer");
        const files = streamedFiles().sort();
        const decoded = run("mariadb-binlog", ["-v", `--start-position=${from}`, ...files.map((f) => path.join(binlogDir, f))]);
        const rows = [...decoded.matchAll(/### INSERT INTO `rpo`\.`t`\n### SET\n###\s+@1=(\d+)\n###\s+@2='([^']*)'/g)].map((m) => ({
            id: Number(m[1]),
            at: m[2],
        }));
        const streamed = rows[rows.length - 1] ?? { id: 0, at: lastAt };
        const lostS = (Date.parse(`${lastAt.replace(" ", "T")}Z`) - Date.parse(`${streamed.at.replace(" ", "T")}Z`)) / 1000;
        console.log(
            `pitr: RPO: last committed row ${last} at ${lastAt}, streamed up to row ${streamed.id} at ${streamed.at}: ` +
                `${last - streamed.id} row(s), ${lostS.toFixed(3)} s of commits lost (checked ${Date.now() - killedAt} ms after SIGKILL)`,
        );
        const ids = rows.map((r) => r.id);
        assert.equal(ids.length, 200);
        assert.equal(streamed.id, last);
    });
});
