import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { KEYS } from "../../../components/config/keys";
import { createHash } from "node:crypto";
import {
    cloneSnapshot,
    checkFacts,
    checksums,
    dumpCommand,
    dumpEnds,
    forgetArgs,
    gtidOf,
    gtidOfDump,
    Manifest,
    sha256File,
    verify,
} from "../../../tools/backup/plan";

describe("backup plan", () => {
    it("dumps in one transaction on a replica, recording its GTID position, per engine", () => {
        assert.deepEqual(dumpCommand("mariadb", "bitrix").slice(0, 4), [
            "mariadb-dump",
            "--gtid",
            "--dump-slave=2",
            "--single-transaction",
        ]);
        const percona = dumpCommand("percona", "bitrix");
        assert.deepEqual(percona.slice(0, 4), ["mysqldump", "--source-data=2", "--set-gtid-purged=COMMENTED", "--single-transaction"]);
        assert.deepEqual(percona.slice(-2), ["--databases", "bitrix"]);
    });

    it("reads the GTID position from the dump's head", () => {
        assert.equal(
            gtidOf("mariadb", "-- CHANGE MASTER TO MASTER_USE_GTID=slave_pos;\n-- SET GLOBAL gtid_slave_pos='0-1-42';\n"),
            "0-1-42",
        );
        assert.equal(
            gtidOf("percona", "/* SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-57'; */"),
            "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-57",
        );
        assert.equal(gtidOf("mariadb", "-- no position here"), undefined);
    });

    it("finds the position at either end of a dump larger than what it reads", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
        // mariadb-dump 10.11 --dump-slave=2 --gtid, as seen on a 500 KB dump: CHANGE MASTER at the top, the GTID at
        // the end after the data.
        const rows = `INSERT INTO \`t_big\` VALUES ${Array.from({ length: 500 }, (_, i) => `(${i},'${"x".repeat(1000)}')`).join(",")};\n`;
        const mariadb = path.join(root, "mariadb.sql");
        fs.writeFileSync(
            mariadb,
            `-- CHANGE MASTER '' TO MASTER_USE_GTID=slave_pos;\n${rows}-- SET GLOBAL gtid_slave_pos='0-1-13';\n/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\n`,
        );
        assert.ok(fs.statSync(mariadb).size > 4 * 64 * 1024);
        assert.equal(gtidOfDump("mariadb", mariadb), "0-1-13");
        assert.equal(gtidOf("mariadb", fs.readFileSync(mariadb, "utf8").slice(0, 64 * 1024)), undefined, "the head alone misses it");
        const percona = path.join(root, "percona.sql");
        fs.writeFileSync(percona, `/* SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-57'; */\n${rows}`);
        assert.equal(gtidOfDump("percona", percona), "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-57");
        const small = path.join(root, "small.sql");
        fs.writeFileSync(small, "head\ntail\n");
        assert.equal(dumpEnds(small, 5), "head\ntail\n", "a file within twice the size is read whole");
        assert.equal(dumpEnds(small, 4), "head\nail\n", "else its first and last bytes, joined by a newline");
        assert.equal(dumpEnds(mariadb, 4), "-- C\n*/;\n", "a large one: its first and last bytes");
        fs.rmSync(root, { recursive: true, force: true });
    });

    it("hashes a file in pieces to the same digest as all at once", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
        const file = path.join(root, "big.bin");
        const content = Buffer.alloc(3 * (1 << 20) + 17, 7);
        fs.writeFileSync(file, content);
        assert.equal(sha256File(file), createHash("sha256").update(content).digest("hex"));
        fs.rmSync(root, { recursive: true, force: true });
    });

    it("checksums every file and finds the ones that changed or went missing", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
        fs.mkdirSync(path.join(root, "shared", "upload"), { recursive: true });
        fs.writeFileSync(path.join(root, "db.sql"), "CREATE TABLE t (id INT);\n");
        fs.writeFileSync(path.join(root, "shared", "upload", "a.txt"), "a");
        const files = checksums(root);
        assert.deepEqual(
            files.map((f) => [f.path, f.bytes]),
            [
                ["db.sql", 25],
                ["shared/upload/a.txt", 1],
            ],
        );
        assert.equal(files[1].sha256, "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb");
        const manifest = { files } as Manifest;
        assert.deepEqual(verify(root, manifest), []);
        fs.writeFileSync(path.join(root, "shared", "upload", "a.txt"), "b");
        fs.rmSync(path.join(root, "db.sql"));
        assert.deepEqual(verify(root, manifest), ["db.sql", "shared/upload/a.txt"]);
        fs.rmSync(root, { recursive: true, force: true });
    });

    it("keeps at least 48 hours of backups per stack", () => {
        // Grouped by host and tags, not paths: every backup is staged in a new temp dir, so no two share a path.
        assert.deepEqual(forgetArgs("prod", "7d"), [
            "forget",
            "--tag",
            "stack=prod",
            "--group-by",
            "host,tags",
            "--keep-within",
            "7d",
            "--prune",
        ]);
        assert.equal(KEYS.backupKeepWithin.allowed("48h"), undefined);
        assert.equal(KEYS.backupKeepWithin.allowed("1m"), undefined);
        assert.match(KEYS.backupKeepWithin.allowed("24h") ?? "", /at least 48 hours/);
        assert.match(KEYS.backupKeepWithin.allowed("soon") ?? "", /restic duration/);
    });

    it("refuses a stack without shared trees or with an unknown placement, before anything runs", () => {
        const facts = {
            stack: "h",
            placement: "hosts",
            prefix: "bx-h",
            engine: "mariadb" as const,
            database: "bitrix",
            replica: { kind: "docker" as const, name: "r" },
            master: { kind: "docker" as const, name: "m" },
            files: { kind: "docker" as const, name: "n" },
            sharedDirs: { upload: "/srv/nfs/upload" },
        };
        assert.doesNotThrow(() => checkFacts(facts));
        assert.doesNotThrow(() => checkFacts({ ...facts, placement: "docker" }));
        assert.throws(() => checkFacts({ ...facts, placement: "kubernetes" }), /unknown placement "kubernetes"/);
        assert.throws(() => checkFacts({ ...facts, sharedDirs: {} }), /no shared trees to read/);
        assert.throws(() => checkFacts({ ...facts, files: undefined }), /no shared trees to read/);
    });

    it("clones from the source's newest snapshot that is not a physical copy", () => {
        const snap = (id: string, time: string, tags: string[]) => ({ short_id: id, time, tags: ["bitrix-cluster", ...tags] });
        const list = [
            snap("old", "2026-12-01T02:30:00Z", ["stack=prod"]),
            snap("log", "2026-12-02T02:30:00Z", ["stack=prod", "method=logical"]),
            snap("phy", "2026-12-03T02:30:00Z", ["stack=prod", "method=physical"]),
            snap("other", "2026-12-03T03:00:00Z", ["stack=stg", "method=logical"]),
        ];
        assert.equal(cloneSnapshot(list, "prod"), "log");
        assert.equal(cloneSnapshot(list.slice(0, 1), "prod"), "old", "one from before the method tag counts as logical");
        assert.throws(() => cloneSnapshot(list.slice(2, 3), "prod"), /stack prod has no logical backup .* --method logical/);
    });
});
