/**
 * The binlog stream's lag metrics (followStreamerScript's `metricsFile`) against Debian's mariadbd and mariadb-binlog
 * 10.11: one master with the cluster's first-start SQL (its replication user has BINLOG MONITOR), the generated
 * streamer writing node-exporter's textfile format. The streamer's mariadb-binlog is frozen (SIGSTOP) while rows are
 * written: the lag must grow and the caught-up time stop; a second streamer whose login lacks BINLOG MONITOR is the
 * control that the grant is what the measurement needs.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { masterInitSql } from "../../components/database/initSql";
import { followStreamerScript, streamerOptionFile } from "../../components/database/binlogStreamScript";
import { Daemons, requireBinary, run, tmpDir, waitFor, write } from "../helpers/daemons";
import { MariadbNode, mariadbSql, startMariadb } from "../helpers/stack";

// Below the kernel's ephemeral range, unused by the other daemon tests.
const PORT = 32349;
const REPL = { user: "replicator", password: "repl pw 'x'" };
const PLAIN = { user: "plainrepl", password: "plain pw" };

/** The samples of a textfile: metric name → value. */
function samples(file: string): Record<string, number> {
    if (!fs.existsSync(file)) return {};
    return Object.fromEntries(
        fs
            .readFileSync(file, "utf8")
            .split("\n")
            .filter((l) => l && !l.startsWith("#"))
            .map((l) => {
                const [name, value] = l.split(" ");
                return [name, Number(value)];
            }),
    );
}

describe("binlog stream: lag metrics for node-exporter's textfile collector (mariadbd 10.11)", () => {
    const daemons = new Daemons();
    const root = tmpDir("binlogmetrics");
    let db: MariadbNode;
    const files = { main: path.join(root, "textfile", "bitrix-binlog-stream.prom"), plain: path.join(root, "textfile", "plain.prom") };
    const script = (name: string, user: string, password: string, serverId: number, metricsFile: string) =>
        write(
            path.join(root, `${name}.sh`),
            followStreamerScript(
                {
                    servers: [{ host: "127.0.0.1", port: PORT }],
                    user,
                    optionFile: write(path.join(root, `${name}.cnf`), streamerOptionFile(password), 0o600),
                    dir: path.join(root, name),
                    serverId,
                    metricsFile,
                },
                1,
                1,
            ),
            0o700,
        );
    const sql = (q: string) => mariadbSql(db, q);
    const now = () => Math.floor(Date.now() / 1000);
    let mainPid = 0;

    before(async () => {
        requireBinary("mariadbd");
        requireBinary("mariadb-binlog");
        fs.mkdirSync(path.join(root, "textfile"));
        db = await startMariadb(daemons, root, "db", {
            role: "master",
            serverId: 1,
            port: PORT,
            initSql: masterInitSql({
                engine: "mariadb",
                database: "bitrix",
                appUser: "bitrix",
                appPassword: "app pw",
                replicationUser: REPL.user,
                replicationPassword: REPL.password,
            }),
        });
        // The control's login: replication only, as the grant was before the lag metric.
        sql(`CREATE USER '${PLAIN.user}'@'%' IDENTIFIED BY '${PLAIN.password}'; GRANT REPLICATION SLAVE ON *.* TO '${PLAIN.user}'@'%'`);
        sql("CREATE TABLE bitrix.t (id INT PRIMARY KEY, body LONGTEXT) ENGINE=InnoDB");
        mainPid = daemons.start("main", "bash", [script("main", REPL.user, REPL.password, 9201, files.main)]).pid!;
        daemons.start("plain", "bash", [script("plain", PLAIN.user, PLAIN.password, 9202, files.plain)]);
    });

    after(() => daemons.stopAll());

    it("reports lag 0 and a caught-up time that advances, in a file promtool accepts", async () => {
        const t0 = now();
        sql("INSERT INTO bitrix.t VALUES (1, REPEAT('a', 1000))");
        const m = await waitFor(
            "a caught-up time after the insert",
            () => {
                const s = samples(files.main);
                return s.bitrix_binlog_stream_last_caught_up_timestamp_seconds >= t0 && s;
            },
            20000,
        ).catch((e) => {
            throw new Error(`${e}\n${daemons.log("main")}`);
        });
        assert.equal(m.bitrix_binlog_stream_up, 1);
        assert.equal(m.bitrix_binlog_stream_lag_bytes, 0);
        const check = spawnSync(requireBinary("promtool"), ["check", "metrics"], { input: fs.readFileSync(files.main), encoding: "utf8" });
        assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
        // Written by rename: no temporary file is left beside it for the collector to read.
        assert.deepEqual(
            fs.readdirSync(path.dirname(files.main)).filter((f) => f.endsWith(".tmp")),
            [],
        );
    });

    it("shows the lag in bytes and keeps the caught-up time while mariadb-binlog is frozen, and catches up after", async () => {
        const child = Number(run("pgrep", ["-P", String(mainPid), "-x", "mariadb-binlog"]).trim());
        process.kill(child, "SIGSTOP");
        try {
            // The stream may still get the rows in its socket buffer: what it has written to its file is what counts.
            await new Promise((r) => setTimeout(r, 1500));
            const frozenAt = now();
            sql(`INSERT INTO bitrix.t VALUES (2, REPEAT('b', 200000))`);
            const behind = await waitFor(
                "a lag of the 200 kB row",
                () => {
                    const s = samples(files.main);
                    return s.bitrix_binlog_stream_lag_bytes >= 200000 && s;
                },
                20000,
            ).catch((e) => {
                throw new Error(`${e}\n${daemons.log("main")}\n${fs.readFileSync(files.main, "utf8")}`);
            });
            await new Promise((r) => setTimeout(r, 3000));
            const later = samples(files.main);
            assert.ok(later.bitrix_binlog_stream_lag_bytes >= 200000, JSON.stringify(later));
            assert.ok(later.bitrix_binlog_stream_last_caught_up_timestamp_seconds <= frozenAt, JSON.stringify({ frozenAt, later }));
            assert.equal(later.bitrix_binlog_stream_up, 1);
            console.log(
                `binlog-stream metrics: frozen: lag ${behind.bitrix_binlog_stream_lag_bytes} bytes, caught up ${now() - later.bitrix_binlog_stream_last_caught_up_timestamp_seconds} s ago`,
            );
        } finally {
            process.kill(child, "SIGCONT");
        }
        const t1 = now();
        const back = await waitFor("caught up again", () => {
            const s = samples(files.main);
            return s.bitrix_binlog_stream_lag_bytes === 0 && s.bitrix_binlog_stream_last_caught_up_timestamp_seconds >= t1 && s;
        });
        assert.equal(back.bitrix_binlog_stream_up, 1);
    });

    it("keeps the last caught-up time over a restart with no writable server (up 0), read back from its file", async () => {
        sql("SET GLOBAL read_only = ON");
        try {
            const stopped = await waitFor("up 0 once the server is read-only", () => {
                const s = samples(files.main);
                return s.bitrix_binlog_stream_up === 0 && s;
            });
            const caught = stopped.bitrix_binlog_stream_last_caught_up_timestamp_seconds;
            assert.ok(caught > 0);
            await daemons.stop("main");
            daemons.start("main-again", "bash", [path.join(root, "main.sh")]);
            await waitFor("the restarted streamer finds no writable server", () =>
                /no writable server answers/.test(daemons.log("main-again")),
            );
            // Its first write happened before that log line's retry: the value is the one it read back.
            await new Promise((r) => setTimeout(r, 1500));
            const s = samples(files.main);
            assert.equal(s.bitrix_binlog_stream_up, 0);
            assert.equal(s.bitrix_binlog_stream_last_caught_up_timestamp_seconds, caught);
            assert.equal(s.bitrix_binlog_stream_lag_bytes, undefined);
        } finally {
            sql("SET GLOBAL read_only = OFF");
        }
    });

    it("control: a login without BINLOG MONITOR streams, but cannot measure, and says why", async () => {
        await waitFor("the control's refusal", () => /SHOW BINARY LOGS fails on 127\.0\.0\.1:\d+/.test(daemons.log("plain")), 20000);
        assert.match(daemons.log("plain"), /the user plainrepl needs BINLOG MONITOR/);
        // Said once, not at every check.
        assert.equal(daemons.log("plain").match(/SHOW BINARY LOGS fails/g)!.length, 1);
        // Streaming again since the server was made writable again (the test before).
        const s = await waitFor("the control up", () => {
            const m = samples(files.plain);
            return m.bitrix_binlog_stream_up === 1 && m;
        });
        assert.equal(s.bitrix_binlog_stream_lag_bytes, undefined);
        assert.equal(s.bitrix_binlog_stream_last_caught_up_timestamp_seconds, undefined);
        // It does stream: its copy of the newest binlog has the rows.
        assert.ok(fs.readdirSync(path.join(root, "plain")).length >= 1);
    });
});
