/**
 * A physical copy with Debian's mariadb-backup 10.11, end to end: a master and a replica of Debian's mariadbd from
 * the generated config, a Bitrix-like table written on the master (also while the copy runs), the copy taken ON THE
 * REPLICA with the generated command and a login from a 0600 option file, prepared, copied back into a fresh data
 * directory, and a third server started on it and re-seeded as a replica of the master from the GTID position read
 * from the files the tool wrote. It must follow the master (both threads running, by GTID), end with the master's
 * exact table checksums and carry no GTID of its own. Wrong positions are shown to be caught by the same checks; the
 * same copy is also re-seeded as a new master with a replica of its own, and a copy of a replica with a transaction
 * of its own is refused.
 */
import { strict as assert } from "node:assert";
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { masterInitSql, replicaInitSql } from "../../components/database/initSql";
import {
    backupGtid,
    backupOptionFile,
    backupUserSql,
    copyBackCommand,
    physicalBackupCommand,
    prepareCommand,
    reseedMasterSql,
    reseedReplicaSql,
} from "../../tools/backup/physical";
import { Daemons, requireBinary, run, tmpDir, waitFor, write } from "../helpers/daemons";
import { MariadbNode, mariadbSlaveStatus, mariadbSql, startMariadb } from "../helpers/stack";

// Below the kernel's ephemeral range and used by no other daemon test.
const PORTS = { master: 32336, replica: 32337, restored: 32338, ahead: 32339, behind: 32340, promoted: 32341, rejoined: 32342 };
const APP = { user: "bitrix", password: "app pw", database: "bitrix" };
const REPL = { user: "replicator", password: "repl pw" };
// Characters an option file must carry through its quoting: quotes, a comment sign, a backslash, spaces.
const BACKUP = { user: "physbackup", password: `b"k p#w'd\\x ` };
const TABLE = "b_iblock_element_copy";
const execFileAsync = promisify(execFile);

/** A command's exit status with both outputs (mariadb-backup reports on stderr). */
function runTool(argv: string[]): { status: number | null; out: string } {
    const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", maxBuffer: 64 << 20 });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function timed<T>(what: string, fn: () => T): T {
    const t = Date.now();
    const v = fn();
    console.log(`physical backup: ${what} took ${((Date.now() - t) / 1000).toFixed(2)} s`);
    return v;
}

describe("physical backup: mariadb-backup on a replica, restored as a new replica", () => {
    const daemons = new Daemons();
    const root = tmpDir("physical");
    const nodes: Record<string, MariadbNode> = {};
    const sql = (node: string, query: string) => mariadbSql(nodes[node], query);
    const status = (node: string) => mariadbSlaveStatus(nodes[node]);
    const checksum = (node: string) => sql(node, `CHECKSUM TABLE ${APP.database}.${TABLE}`).split("\t")[1];
    const count = (node: string) => Number(sql(node, `SELECT COUNT(*) FROM ${APP.database}.${TABLE}`));
    /** n more rows on the master, in transactions of 500 (several GTIDs). */
    const writeRows = (n: number, tag: string) => {
        for (let done = 0; done < n; done += 500) {
            sql(
                "master",
                `INSERT INTO ${APP.database}.${TABLE} (IBLOCK_ID, NAME, XML_ID, ACTIVE, SORT, DATE_CREATE, DETAIL_TEXT) ` +
                    `SELECT seq % 17, CONCAT('${tag} ', seq), MD5(CONCAT('${tag}', seq)), IF(seq % 5 = 0, 'N', 'Y'), seq % 1000, ` +
                    `NOW() - INTERVAL seq MINUTE, REPEAT(CHAR(65 + seq % 26), seq % 700) FROM ${APP.database}.seq_1_to_${Math.min(500, n - done)}`,
            );
        }
    };
    const caughtUp = (node: string) =>
        waitFor(
            `${node} caught up with the master`,
            () => sql("master", "SELECT @@gtid_binlog_pos") === sql(node, "SELECT @@gtid_slave_pos"),
            60000,
        );

    const backupDir = path.join(root, "copy");
    let gtid = "";
    let rowsInCopy = 0;
    /** The master's last sequence number before the single-row writes that run during the copy. */
    let seqBefore = 0;

    /** Runs the re-seed SQL on a restored node: a replica of the server on `masterPort` from `position`. */
    const reseedAsReplica = (node: string, position: string, masterPort: number) =>
        sql(
            node,
            reseedReplicaSql({
                engine: "mariadb",
                gtid: position,
                masterHost: "127.0.0.1",
                masterPort,
                replicationUser: REPL.user,
                replicationPassword: REPL.password,
            }),
        );

    /** The prepared copy into a fresh data directory, and a server on it (not attached to anything yet). */
    async function restoreInto(node: string, port: number, serverId: number): Promise<MariadbNode> {
        const datadir = path.join(root, node, "data");
        // The server drops to the mysql user: the directories above its data directory must let it through.
        fs.mkdirSync(path.join(root, node), { mode: 0o755 });
        const out = timed(`copy-back into ${node}`, () => runTool(copyBackCommand("mariadb", backupDir, datadir)));
        assert.equal(out.status, 0, out.out);
        run("chown", ["-R", "mysql:mysql", datadir]);
        // The image's entrypoint refuses a data directory without its first-start mark (a copy never carries it).
        assert.equal(fs.existsSync(path.join(datadir, ".bitrix-cluster-initialized")), false);
        write(path.join(datadir, ".bitrix-cluster-initialized"), "");
        nodes[node] = await startMariadb(daemons, root, node, { role: "replica", serverId, port, initSql: "-- restored from a copy\n" });
        return nodes[node];
    }

    before(async () => {
        requireBinary("mariadbd");
        requireBinary("mariadb-backup");
        nodes.master = await startMariadb(daemons, root, "master", {
            role: "master",
            serverId: 1,
            port: PORTS.master,
            initSql:
                masterInitSql({
                    engine: "mariadb",
                    database: APP.database,
                    appUser: APP.user,
                    appPassword: APP.password,
                    replicationUser: REPL.user,
                    replicationPassword: REPL.password,
                }) + backupUserSql("mariadb", BACKUP.user, BACKUP.password),
        });
        nodes.replica = await startMariadb(daemons, root, "replica", {
            role: "replica",
            serverId: 2,
            port: PORTS.replica,
            initSql: replicaInitSql({
                engine: "mariadb",
                masterHost: "127.0.0.1",
                masterPort: PORTS.master,
                replicationUser: REPL.user,
                replicationPassword: REPL.password,
            }),
        });
        // A table shaped like Bitrix's b_iblock_element: auto-increment key, secondary indexes, long text.
        sql(
            "master",
            `CREATE TABLE ${APP.database}.${TABLE} (ID INT NOT NULL AUTO_INCREMENT, IBLOCK_ID INT NOT NULL, NAME VARCHAR(255) NOT NULL, ` +
                "XML_ID VARCHAR(255), ACTIVE CHAR(1) NOT NULL DEFAULT 'Y', SORT INT NOT NULL DEFAULT 500, DATE_CREATE DATETIME, " +
                "DETAIL_TEXT LONGTEXT, PRIMARY KEY (ID), KEY ix_iblock_element_1 (IBLOCK_ID, ACTIVE, SORT), KEY ix_iblock_element_xml (XML_ID)) " +
                "ENGINE=InnoDB",
        );
        writeRows(5000, "before");
        await caughtUp("replica");
        seqBefore = Number(sql("master", "SELECT @@gtid_binlog_pos").split("-")[2]);
    });

    after(async () => {
        await daemons.stopAll();
        // Six data directories and two copies (~0.7 GB, mostly redo logs): not left in /tmp after every run.
        fs.rmSync(root, { recursive: true, force: true });
    });

    it("takes the copy on the replica while the master keeps writing, with the backup login's grants only", async () => {
        const st = status("replica");
        assert.equal(st.Slave_SQL_Running, "Yes");
        const optionFile = write(
            path.join(root, "backup.cnf"),
            backupOptionFile("mariadb", { ...BACKUP, socket: nodes.replica.socket }),
            0o600,
        );
        assert.equal(fs.statSync(optionFile).mode & 0o777, 0o600);
        const argv = physicalBackupCommand("mariadb", backupDir, { optionFile });
        assert.ok(!argv.join(" ").includes("k p#w"), "the password is not in argv");

        // Writes on the master during the copy: the replica receives them and applies them once its SQL thread is back.
        let writing = true;
        let written = 0;
        const writer = (async () => {
            while (writing) {
                await execFileAsync("mariadb", [
                    "--socket",
                    nodes.master.socket,
                    "-e",
                    `INSERT INTO ${APP.database}.${TABLE} (IBLOCK_ID, NAME) VALUES (99, 'during copy ${written}')`,
                ]);
                written++;
            }
        })();
        let result: { status: number | null; out: string };
        try {
            await new Promise((r) => setTimeout(r, 300));
            result = timed("backup on the replica", () => runTool(argv));
        } finally {
            writing = false;
            await writer;
        }
        // Two more single-row transactions: whatever the copy's position, the next two GTIDs are single rows.
        for (const k of [1, 2]) sql("master", `INSERT INTO ${APP.database}.${TABLE} (IBLOCK_ID, NAME) VALUES (98, 'after copy ${k}')`);
        assert.equal(result.status, 0, result.out);
        assert.doesNotMatch(result.out, /missing required privilege/i, "the generated grant covers what mariadb-backup checks");
        assert.match(result.out, /completed OK!/);
        // --safe-slave-backup paused the replica's SQL thread for the locked phase and started it again.
        assert.match(result.out, /Slave is safe to backup/);
        assert.match(result.out, /Starting slave SQL thread/);
        for (const line of result.out.split("\n").filter((l) => /Slave is safe|slave SQL thread|slave_info|binlog position/.test(l)))
            console.log(`physical backup: tool: ${line.replace(/^\[\d+\] [\d-]+ [\d:]+ /, "").trim()}`);
        console.log(`physical backup: ${written} rows written on the master during the copy`);
        assert.ok(written > 0, "the master wrote during the copy");

        const files = fs.readdirSync(backupDir);
        console.log(
            `physical backup: mariadb-backup 10.11 wrote ${files.filter((f) => !fs.statSync(path.join(backupDir, f)).isDirectory()).join(", ")}`,
        );
        const info: Record<string, string> = {};
        for (const f of files.filter((f) => /_info$/.test(f) && f !== "xtrabackup_info")) {
            info[f] = fs.readFileSync(path.join(backupDir, f), "utf8");
            console.log(`physical backup: ${f} = ${JSON.stringify(info[f])}`);
        }
        gtid = backupGtid("mariadb", info);
        assert.match(gtid, /^0-1-\d+$/);
        assert.ok(!fs.readFileSync(path.join(backupDir, "xtrabackup_info"), "utf8").includes("k p#w"), "the password is not in the copy");

        // --safe-slave-backup gave the replica its SQL thread back.
        const after = await waitFor(
            "the replica's SQL thread back",
            () => (status("replica").Slave_SQL_Running === "Yes" ? true : undefined),
            30000,
        );
        assert.ok(after);
        await caughtUp("replica");
    });

    it("prepares the copy", () => {
        const out = timed("prepare", () => runTool(prepareCommand("mariadb", backupDir)));
        assert.equal(out.status, 0, out.out);
        assert.match(out.out, /completed OK!/);
    });

    it("starts a server on the copy, re-seeds it as a replica and it follows the master with identical data", async () => {
        const started = Date.now();
        await restoreInto("restored", PORTS.restored, 3);
        rowsInCopy = count("restored");
        // The copy holds exactly the transactions up to its position: each write during the copy was one row in one
        // transaction, so the rows beyond the first 5000 are the GTIDs between seqBefore and the copy's position.
        assert.equal(rowsInCopy, 5000 + Number(gtid.split("-")[2]) - seqBefore);
        timed("re-seed as replica", () => reseedAsReplica("restored", gtid, PORTS.master));
        console.log(
            `physical backup: restore (copy-back, start, re-seed) took ${((Date.now() - started) / 1000).toFixed(2)} s; ${rowsInCopy} rows in the copy`,
        );
        writeRows(2000, "after");
        await caughtUp("restored");
        const st = status("restored");
        assert.equal(st.Slave_IO_Running, "Yes");
        assert.equal(st.Slave_SQL_Running, "Yes");
        assert.equal(st.Using_Gtid, "Slave_Pos");
        assert.equal(st.Master_Port, String(PORTS.master));
        assert.equal(st.Last_SQL_Errno, "0");
        assert.equal(checksum("restored"), checksum("master"));
        assert.equal(count("restored"), count("master"));
        assert.ok(count("restored") > rowsInCopy, "rows written after the copy arrived");
        assert.equal(sql("restored", "SELECT @@read_only"), "1");
    });

    it("carries no GTID of its own (no errant transactions)", () => {
        const pos = sql("restored", "SELECT @@gtid_binlog_pos");
        assert.ok(pos !== "", "log_slave_updates wrote the master's transactions");
        for (const g of pos.split(",")) assert.match(g.trim(), /^0-1-\d+$/, `restored GTID ${g} not from the master`);
        assert.equal(sql("restored", "SELECT @@gtid_current_pos"), sql("master", "SELECT @@gtid_binlog_pos"));
    });

    it("detects a position past the copy's: transactions skipped, the checksums differ", async () => {
        const [d, s, n] = gtid.split("-");
        await restoreInto("ahead", PORTS.ahead, 4);
        reseedAsReplica("ahead", `${d}-${s}-${Number(n) + 2}`, PORTS.master);
        writeRows(10, "ahead");
        await caughtUp("ahead");
        // Replication itself looks healthy; only the data comparison finds the two skipped transactions.
        assert.equal(status("ahead").Slave_SQL_Running, "Yes");
        assert.notEqual(checksum("ahead"), checksum("master"));
        assert.equal(count("ahead"), count("master") - 2, "the two single-row writes after the copy's position are missing");
    });

    it("detects a position before the copy's: transactions applied twice stop replication", async () => {
        const [d, s, n] = gtid.split("-");
        await restoreInto("behind", PORTS.behind, 5);
        reseedAsReplica("behind", `${d}-${s}-${Number(n) - 2}`, PORTS.master);
        const st = await waitFor(
            "a replication error",
            () => {
                const x = status("behind");
                return x.Slave_SQL_Running === "No" && x.Last_SQL_Errno !== "0" ? x : undefined;
            },
            30000,
        );
        console.log(`physical backup: re-seeded 2 transactions behind: ${st.Last_SQL_Errno} ${st.Last_SQL_Error.slice(0, 160)}`);
        assert.equal(st.Last_SQL_Errno, "1062", "duplicate key: the copy already holds those rows");
    });

    it("re-seeds a copy as the new master: writable, continuing the copy's GTID sequence", async () => {
        const [, , n] = gtid.split("-");
        await restoreInto("promoted", PORTS.promoted, 6);
        sql("promoted", reseedMasterSql("mariadb", gtid));
        assert.equal(sql("promoted", "SELECT @@read_only"), "0");
        assert.equal(status("promoted").Slave_IO_Running, undefined, "no replication configured");
        sql("promoted", `INSERT INTO ${APP.database}.${TABLE} (IBLOCK_ID, NAME) VALUES (707, 'on the new master')`);
        assert.equal(sql("promoted", "SELECT @@gtid_binlog_pos"), `0-6-${Number(n) + 1}`);
        assert.equal(sql("promoted", "SELECT @@gtid_binlog_state"), `0-1-${n},0-6-${Number(n) + 1}`);
    });

    it("rebuilds a replica of that new master from the same copy", async () => {
        await restoreInto("rejoined", PORTS.rejoined, 7);
        reseedAsReplica("rejoined", gtid, PORTS.promoted);
        sql("promoted", `INSERT INTO ${APP.database}.${TABLE} (IBLOCK_ID, NAME) VALUES (707, 'second on the new master')`);
        await waitFor(
            "rejoined caught up with the new master",
            () => sql("promoted", "SELECT @@gtid_binlog_pos") === sql("rejoined", "SELECT @@gtid_slave_pos"),
            30000,
        );
        const st = status("rejoined");
        assert.equal(st.Slave_IO_Running, "Yes");
        assert.equal(st.Slave_SQL_Running, "Yes");
        assert.equal(st.Using_Gtid, "Slave_Pos");
        assert.equal(checksum("rejoined"), checksum("promoted"));
        assert.equal(sql("rejoined", `SELECT COUNT(*) FROM ${APP.database}.${TABLE} WHERE IBLOCK_ID = 707`), "2");
    });

    it("refuses a copy of a replica that has transactions of its own (errant GTIDs)", () => {
        // root passes read_only (READ_ONLY ADMIN): a write on the replica gets the replica's own server id.
        sql("replica", `INSERT INTO ${APP.database}.${TABLE} (IBLOCK_ID, NAME) VALUES (66, 'written on the replica')`);
        const dir = path.join(root, "copy-errant");
        const optionFile = path.join(root, "backup.cnf");
        const out = runTool(physicalBackupCommand("mariadb", dir, { optionFile }));
        assert.equal(out.status, 0, out.out);
        const info = Object.fromEntries(
            ["xtrabackup_binlog_info", "xtrabackup_slave_info"].map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]),
        );
        console.log(`physical backup: errant copy: ${JSON.stringify(info)}`);
        assert.match(info.xtrabackup_binlog_info, /\t0-2-\d+\n$/);
        assert.throws(() => backupGtid("mariadb", info), /it has transactions of its own \(errant GTIDs\)/);
    });
});
