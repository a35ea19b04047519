/**
 * Point-in-time recovery across a failover and a RESET MASTER, against Debian's mariadbd and mariadb-binlog 10.11:
 * server 1 (master) and server 2 (its GTID replica, log_slave_updates as the cluster's config sets it), the generated
 * following streamer supervising mariadb-binlog; batch A on server 1, server 2 promoted as db-failover.py does,
 * batch B on it, then server 2 reseeded as a restore does (RESET MASTER, gtid_binlog_state) and batch C. The
 * generated replay then restores a fresh server from a base dump taken before A. The old single-master streamer runs
 * beside it as the negative control.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { masterInitSql, replicaInitSql } from "../../components/database/initSql";
import { reseedMasterSql } from "../../tools/backup/physical";
import { MARIADB_REPLAY_CLIENT, parseTarget, replayPlan, streamerOptionFile, streamerScript } from "../../tools/backup/pitr";
import { followStreamerScript } from "../../components/database/binlogStreamScript";
import { followSourceDirs, parseSourceIndex, SourceIndex, sourceFiles, sourceIndexScript } from "../../tools/backup/pitrFollow";
import { followReplayPlan } from "../../tools/backup/pitrFollowReplay";
import { dumpCommand, gtidOf } from "../../tools/backup/plan";
import { Daemons, requireBinary, run, tmpDir, waitFor, write } from "../helpers/daemons";
import { MariadbNode, mariadbSql, startMariadb } from "../helpers/stack";

// Below the kernel's ephemeral range, unused by the other daemon tests.
const PORTS = { s1: 32346, s2: 32347, restore: 32348 };
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

describe("pitr: a streamer that follows the writable server, replayed across failover and RESET MASTER (mariadbd 10.11)", () => {
    const daemons = new Daemons();
    const root = tmpDir("pitrfollow");
    const followDir = path.join(root, "follow");
    const singleDir = path.join(root, "single");
    const started = Date.now();
    let s1: MariadbNode;
    let s2: MariadbNode;
    let restore: MariadbNode;
    let dumpFile = "";
    let baseGtid = "";
    let lastB = "";
    let target = "";
    let streamerPid = 0;

    const sql = (node: MariadbNode, q: string) => mariadbSql(node, q);
    const insert = (node: MariadbNode, from: number, batch: number) => {
        let gtid = "";
        for (let id = from; id < from + 5; id++)
            gtid = sql(node, `INSERT INTO ${DB}.t (id, batch) VALUES (${id}, ${batch}); SELECT @@last_gtid`).split("\n").pop()!;
        return gtid;
    };
    const sources = () => followSourceDirs(fs.readdirSync(followDir));
    /** The newest subdirectory of a server holds every byte of its newest binlog. */
    const caughtUp = (node: MariadbNode, serverId: number) => {
        const logs = sql(node, "SHOW BINARY LOGS").split("\n");
        const [name, size] = logs[logs.length - 1].split("\t");
        const dir = sources()
            .filter((s) => s.startsWith(`${serverId}-`))
            .pop();
        const file = dir && path.join(followDir, dir, name);
        return !!file && fs.existsSync(file) && fs.statSync(file).size === Number(size);
    };
    const index = (): SourceIndex[] =>
        sources().map((name) => {
            const files = sourceFiles(fs.readdirSync(path.join(followDir, name)));
            return parseSourceIndex(name, files, run("bash", ["-c", sourceIndexScript(path.join(followDir, name), files)]));
        });
    const loadBase = () => {
        sql(restore, `DROP DATABASE IF EXISTS ${DB}`);
        run("mariadb", ["--socket", restore.socket], { input: fs.readFileSync(dumpFile, "utf8") });
    };
    /** Per batch: rows, distinct ids, lowest and highest id (a row applied twice shows as rows > distinct ids). */
    const batches = () =>
        sql(restore, `SELECT batch, COUNT(*), COUNT(DISTINCT id), MIN(id), MAX(id) FROM ${DB}.t GROUP BY batch ORDER BY batch`);
    const replay = (script: string) => {
        const t0 = Date.now();
        run("bash", ["-c", script]);
        return (Date.now() - t0) / 1000;
    };

    before(async () => {
        requireBinary("mariadbd");
        requireBinary("mariadb-binlog");
        requireBinary("mariadb-dump");
        [s1, restore] = await Promise.all([
            startMariadb(daemons, root, "s1", { role: "master", serverId: 1, port: PORTS.s1, initSql: init }),
            startMariadb(daemons, root, "restore", { role: "master", serverId: 3, port: PORTS.restore, initSql: init }),
        ]);
        s2 = await startMariadb(daemons, root, "s2", {
            role: "replica",
            serverId: 2,
            port: PORTS.s2,
            initSql: replicaInitSql({
                engine: "mariadb",
                masterHost: "127.0.0.1",
                masterPort: PORTS.s1,
                replicationUser: REPL.user,
                replicationPassword: REPL.password,
            }),
        });
        assert.equal(sql(s2, "SELECT @@log_slave_updates, @@read_only, @@server_id"), "1\t1\t2");

        const optionFile = write(path.join(root, "streamer.cnf"), streamerOptionFile(REPL.password), 0o600);
        const follow = write(
            path.join(root, "follow.sh"),
            followStreamerScript(
                {
                    servers: [
                        { host: "127.0.0.1", port: PORTS.s1 },
                        { host: "127.0.0.1", port: PORTS.s2 },
                    ],
                    user: REPL.user,
                    optionFile,
                    dir: followDir,
                    serverId: 9101,
                },
                1,
                1,
            ),
            0o700,
        );
        streamerPid = daemons.start("follow", "bash", [follow]).pid!;
        // The negative control: the single-master streamer of tools/backup/pitr.ts, pointed at server 1.
        const single = streamerScript("mariadb", {
            host: "127.0.0.1",
            port: PORTS.s1,
            user: REPL.user,
            optionFile,
            dir: singleDir,
            firstBinlog: sql(s1, "SHOW BINARY LOGS").split("\n")[0].split("\t")[0],
            serverId: 9102,
        });
        daemons.start("single", "bash", [write(path.join(root, "single.sh"), single, 0o700)]);

        // No primary key: a row applied twice would show as a second row, not as a duplicate-key error.
        sql(
            s1,
            `CREATE TABLE ${DB}.t (id INT NOT NULL, batch INT NOT NULL, at DATETIME(6) NOT NULL DEFAULT NOW(6), KEY (id)) ENGINE=InnoDB`,
        );
        sql(s1, `INSERT INTO ${DB}.t (id, batch) VALUES (1, 0), (2, 0), (3, 0)`);
        const argv = dumpCommand("mariadb", DB).map((a) => (a === "--dump-slave=2" ? "--master-data=2" : a));
        dumpFile = write(path.join(root, "base.sql"), run(argv[0], ["--socket", s1.socket, ...argv.slice(1)]), 0o600);
        baseGtid = gtidOf("mariadb", fs.readFileSync(dumpFile, "utf8")) ?? "";
        assert.equal(baseGtid, sql(s1, "SELECT @@gtid_binlog_pos"));

        // Batch A on server 1; the streamer loses its connection once and resumes in the same subdirectory.
        insert(s1, 101, 1); // 101..105
        // Server 2's binlog before here is purged, so its stream will not reach back to the base: the replay has to
        // take the start of batch A from server 1's stream and go on in server 2's.
        const half = sql(s1, "SELECT @@gtid_binlog_pos");
        await waitFor("server 2 applied half of batch A", () => sql(s2, "SELECT @@gtid_slave_pos") === half, 20000);
        sql(s2, "FLUSH BINARY LOGS");
        // PURGE leaves a file InnoDB has not checkpointed yet (a warning, not an error): ask until only the newest is left.
        await waitFor("server 2's older binlogs purged", () => {
            const logs = sql(s2, "SHOW BINARY LOGS").split("\n");
            sql(s2, `PURGE BINARY LOGS TO '${logs[logs.length - 1].split("\t")[0]}'`);
            return sql(s2, "SHOW BINARY LOGS").split("\n").length === 1;
        });
        await waitFor("the stream of server 1", () => caughtUp(s1, 1), 20000).catch((e) => {
            throw new Error(`${e}\n${daemons.log("follow")}`);
        });
        process.kill(Number(run("pgrep", ["-P", String(streamerPid), "-x", "mariadb-binlog"]).trim()), "SIGKILL");
        await waitFor(
            "the streamer resumed",
            () =>
                /exited with status 137[^\n]*\n[\s\S]*streaming [^\n]*\(server 1\) into 1-[^\n]* from binlog\.\d+\n/.test(
                    daemons.log("follow"),
                ),
            20000,
        );
        insert(s1, 106, 1);
        await waitFor("the resumed stream of server 1", () => caughtUp(s1, 1), 20000);
        const lastA = sql(s1, "SELECT @@gtid_binlog_pos");
        await waitFor("server 2 applied batch A", () => sql(s2, "SELECT @@gtid_slave_pos") === lastA, 20000);

        // Failover, as images/mariadb/db-failover.py promotes: the replica stops replicating and opens for writes,
        // the old master is made read-only.
        sql(s2, "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL rpl_semi_sync_master_enabled = ON; SET GLOBAL read_only = OFF");
        sql(s1, "SET GLOBAL read_only = ON");
        lastB = insert(s2, 201, 2);
        await waitFor("the stream of server 2", () => caughtUp(s2, 2), 20000).catch((e) => {
            throw new Error(`${e}\n${daemons.log("follow")}`);
        });
        // The target: the first whole second after batch B (binlog events carry whole seconds); batch C comes later.
        const targetS = Math.floor(Number(sql(s2, "SELECT UNIX_TIMESTAMP(NOW(6))"))) + 1;
        target = new Date(targetS * 1000).toISOString().slice(0, 19).replace("T", " ");
        await waitFor("a second past the target", () => Number(sql(s2, "SELECT UNIX_TIMESTAMP(NOW(6))")) >= targetS + 0.2, 5000);

        // Server 2 restored, as a restore leaves a master: RESET MASTER (binlog.000001 again), its position as binlog state.
        const before = sources();
        run("mariadb", ["--socket", s2.socket], { input: reseedMasterSql("mariadb", sql(s2, "SELECT @@gtid_binlog_pos")) });
        assert.equal(sql(s2, "SHOW BINARY LOGS").split("\n").length, 1);
        insert(s2, 301, 3);
        await waitFor("the stream of server 2's new binlog", () => sources().length > before.length && caughtUp(s2, 2), 20000).catch(
            (e) => {
                throw new Error(`${e}\n${daemons.log("follow")}`);
            },
        );
        console.log(`pitr-follow: streamed ${sources().join(" ")} in ${((Date.now() - started) / 1000).toFixed(1)} s; base ${baseGtid}`);
    });

    after(() => daemons.stopAll());

    it("kept one subdirectory per binlog sequence: resumed server 1's, then server 2's, then server 2's after RESET MASTER", () => {
        const log = daemons.log("follow");
        const dirs = sources();
        assert.equal(dirs.filter((d) => d.startsWith("1-")).length, 1, log);
        assert.ok(dirs.filter((d) => d.startsWith("2-")).length >= 2, log);
        const one = dirs.find((d) => d.startsWith("1-"))!;
        assert.match(log, new RegExp(`streaming 127\\.0\\.0\\.1:${PORTS.s1} \\(server 1\\) into ${one} from its oldest binlog\n`));
        // After the SIGKILL: the newest file checked against server 1's and resumed in place.
        assert.match(
            log,
            new RegExp(`exited with status 137[^\n]*\n[\\s\\S]*streaming [^\n]*\\(server 1\\) into ${one} from binlog\\.\\d+\n`),
        );
        assert.match(log, new RegExp(`127\\.0\\.0\\.1:${PORTS.s1} is read-only now`));
        assert.match(log, /\(server 2\) no longer has 2-\d{8}T\d{6}Z\/binlog\.\d+ as streamed: a new binlog sequence/);
        // The files streamed before the RESET MASTER are still there, with batch B.
        const idx = index();
        const b = idx.filter((s) => s.gtids.some((g) => g.gtid === lastB));
        assert.ok(b.length >= 1 && b.every((s) => s.name.startsWith("2-") && s.name !== dirs[dirs.length - 1]), JSON.stringify(b));
        console.log(
            `pitr-follow: sources ${idx.map((s) => `${s.name} [${s.start}] ${s.files.length} file(s) ${s.gtids[0]?.gtid ?? "-"}..${s.gtids[s.gtids.length - 1]?.gtid ?? "-"}`).join("; ")}`,
        );
    });

    it("replays A, B and C exactly once, across the three sources", () => {
        loadBase();
        assert.equal(batches(), "0\t3\t3\t1\t3");
        const plan = followReplayPlan({ startGtid: baseGtid, binlogDir: followDir, sources: index() });
        const seconds = replay(plan.script(["--socket", restore.socket]));
        assert.equal(batches(), "0\t3\t3\t1\t3\n1\t10\t10\t101\t110\n2\t5\t5\t201\t205\n3\t5\t5\t301\t305");
        assert.deepEqual(plan.dropped, []);
        // Server 1's stream from the base to its end (the start of A), server 2's first (the rest of A, B: it repeats
        // A since it logs what it replicates), server 2's second (C).
        const dirs = sources();
        assert.deepEqual(
            plan.segments.map((s) => [s.source, s.count]),
            [
                [dirs[0], 10],
                [dirs[1], 5],
                [dirs[dirs.length - 1], 5],
            ],
        );
        console.log(
            `pitr-follow: replay of ${plan.segments.map((s) => `${s.source} ${s.start}..${s.stop} (${s.count})`).join(", ")}: 20 rows in ${seconds.toFixed(2)} s`,
        );
    });

    it("to a GTID (the last of batch B) or to a time between B and C: C is left out", () => {
        for (const t of [parseTarget("mariadb", "--to-gtid", lastB), parseTarget("mariadb", "--to", target)]) {
            loadBase();
            const plan = followReplayPlan({ startGtid: baseGtid, target: t, binlogDir: followDir, sources: index() });
            assert.ok(plan.reached);
            assert.equal(plan.last, lastB);
            const seconds = replay(plan.script(["--socket", restore.socket]));
            assert.equal(batches(), "0\t3\t3\t1\t3\n1\t10\t10\t101\t110\n2\t5\t5\t201\t205", JSON.stringify(t));
            console.log(`pitr-follow: replay to ${JSON.stringify(t)}: 10 rows in ${seconds.toFixed(2)} s`);
        }
    });

    it("replays through a sandboxed client: a `\\!` line in the decoded SQL is refused, not run as the client's user", () => {
        const marker = path.join(root, "sandbox-escape");
        // What a statement the application wrote could put on a line of its own in the decoded binlog.
        const input = `SELECT 1;\n\\! touch ${marker}\nSELECT 2;\n`;
        // Control: the client as a plain `mariadb < file` runs the line. (--binary-mode alone already refuses it: in
        // batch mode it turns off every client command but \C and DELIMITER; --sandbox is the second guard.)
        run("mariadb", ["--socket", restore.socket], { input });
        assert.ok(fs.existsSync(marker), "the control ran the command");
        fs.rmSync(marker);
        assert.deepEqual(MARIADB_REPLAY_CLIENT, ["mariadb", "--binary-mode", "--sandbox"]);
        assert.throws(
            () => run(MARIADB_REPLAY_CLIENT[0], [...MARIADB_REPLAY_CLIENT.slice(1), "--socket", restore.socket], { input }),
            /Unknown command '\\!'|sandbox/i,
        );
        assert.ok(!fs.existsSync(marker), "the sandboxed client did not run it");
    });

    it("negative controls: the single-master streamer misses B and C; replaying every source whole applies part of A twice", () => {
        loadBase();
        replay(
            replayPlan("mariadb", { startGtid: baseGtid, binlogDir: singleDir, binlogFiles: fs.readdirSync(singleDir) }).script([
                "--socket",
                restore.socket,
            ]),
        );
        assert.equal(batches(), "0\t3\t3\t1\t3\n1\t10\t10\t101\t110");

        // Each source replayed whole, in order (from the base, or from its own start where it begins after it): the
        // transactions both servers logged are applied twice.
        loadBase();
        for (const s of index()) {
            const start = s.gtids.some((g) => g.gtid === baseGtid) ? baseGtid : s.start;
            const plan = replayPlan("mariadb", { startGtid: start, binlogDir: path.join(followDir, s.name), binlogFiles: s.files });
            replay(plan.script(["--socket", restore.socket]));
        }
        assert.equal(batches(), "0\t3\t3\t1\t3\n1\t15\t10\t101\t110\n2\t5\t5\t201\t205\n3\t5\t5\t301\t305");
    });
});
