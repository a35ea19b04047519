import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import {
    extrapolateSeconds,
    filePlan,
    fillSql,
    markdownTable,
    MEDIUM_PORTAL_BYTES,
    mib,
    modifySql,
    parseArgs,
    pitrTarget,
    prng,
    rateMBs,
    rowPlan,
    secs,
    TABLES,
    utcSecond,
} from "../../../tools/bench/backupScale";

const GiB = 1024 ** 3;

describe("backup-scale: arguments", () => {
    it("defaults to 2 GB, 5000 files, benchmark/backup-scale.json and a 512 MiB buffer pool", () => {
        assert.deepEqual(parseArgs([]), { gb: 2, files: 5000, out: "benchmark/backup-scale.json", bufferPoolMb: 512 });
    });

    it("reads every flag", () => {
        assert.deepEqual(parseArgs(["--gb", "0.05", "--files", "200", "--out", "/tmp/x.json", "--buffer-pool-mb", "64"]), {
            gb: 0.05,
            files: 200,
            out: "/tmp/x.json",
            bufferPoolMb: 64,
        });
    });

    it("refuses unknown flags, missing values and values out of range", () => {
        assert.throws(() => parseArgs(["--size", "2"]), /unknown argument --size/);
        assert.throws(() => parseArgs(["--gb"]), /--gb needs a value/);
        assert.throws(() => parseArgs(["--gb", "0"]), /--gb must be a number in \(0, 100\]/);
        assert.throws(() => parseArgs(["--gb", "two"]), /--gb must be/);
        assert.throws(() => parseArgs(["--files", "1.5"]), /--files must be a whole number/);
        assert.throws(() => parseArgs(["--buffer-pool-mb", "8"]), /--buffer-pool-mb must be a whole number 32\.\.65536/);
    });
});

describe("backup-scale: the generated database", () => {
    it("has Bitrix's three table names, each with at least two secondary indexes and one value per column", () => {
        assert.deepEqual(
            TABLES.map((t) => t.name),
            ["b_iblock_element", "b_file", "b_user"],
        );
        for (const t of TABLES) {
            assert.match(t.ddl, new RegExp(`^CREATE TABLE ${t.name} \\(ID INT NOT NULL AUTO_INCREMENT, `));
            assert.ok((t.ddl.match(/ KEY \w+ \(/g) ?? []).length >= 2, `${t.name} has secondary indexes`);
            assert.match(t.ddl, /PRIMARY KEY \(ID\)/);
            assert.match(t.ddl, /ENGINE=InnoDB$/);
            assert.equal(t.columns.length, t.values.length, t.name);
            assert.equal(t.values[0], "seq");
            for (const type of ["VARCHAR", "INT", "DATETIME"]) assert.ok(t.ddl.includes(type), `${t.name} has ${type}`);
        }
        assert.match(TABLES[0].ddl, /DETAIL_TEXT LONGTEXT/);
        assert.equal(
            TABLES.reduce((s, t) => s + t.share, 0),
            1,
        );
    });

    it("turns a size into rows by each table's share and bytes per row", () => {
        assert.deepEqual(rowPlan(2 * GiB), {
            b_iblock_element: Math.round((2 * GiB * 0.75) / 1900),
            b_file: Math.round((2 * GiB * 0.1) / 540),
            b_user: Math.round((2 * GiB * 0.15) / 700),
        });
        assert.deepEqual(rowPlan(1), { b_iblock_element: 1, b_file: 1, b_user: 1 });
    });

    it("fills a table in chunks of INSERT … SELECT from the database's own sequence tables", () => {
        const t = TABLES[1];
        const stmts = fillSql("bitrix", t, 45000);
        assert.equal(stmts.length, 3);
        assert.deepEqual(
            stmts.map((s) => / FROM (\S+)$/.exec(s)![1]),
            ["`bitrix`.seq_1_to_20000", "`bitrix`.seq_20001_to_40000", "`bitrix`.seq_40001_to_45000"],
        );
        assert.equal(
            stmts[0],
            "INSERT INTO `bitrix`.`b_file` (ID, TIMESTAMP_X, MODULE_ID, HEIGHT, WIDTH, FILE_SIZE, CONTENT_TYPE, SUBDIR, FILE_NAME, " +
                "ORIGINAL_NAME, DESCRIPTION, EXTERNAL_ID) SELECT seq, '2024-01-01 00:00:00' + INTERVAL seq MINUTE, " +
                "ELT(1 + seq % 3, 'iblock', 'main', 'disk'), 100 + seq % 900, 100 + seq % 1200, 1024 + seq % 204800, 'image/jpeg', " +
                "CONCAT('iblock/', LEFT(MD5(seq), 3)), CONCAT(MD5(seq), '.jpg'), CONCAT('photo_', seq, '.jpg'), " +
                "IF(seq % 4 = 0, CONCAT('Photo ', seq), ''), MD5(CONCAT('f', seq)) FROM `bitrix`.seq_1_to_20000",
        );
        assert.deepEqual(
            fillSql("bitrix", t, 7, 5).map((s) => / FROM (\S+)$/.exec(s)![1]),
            ["`bitrix`.seq_1_to_5", "`bitrix`.seq_6_to_7"],
        );
        assert.match(fillSql("bitrix", TABLES[0], 1)[0], /REPEAT\(CONCAT\(SHA2\(seq, 512\), ' ', MD5\(seq \* 7\), ' '\), seq % 16\)/);
    });

    it("refuses a database name that is not a plain identifier, and empty or fractional counts", () => {
        assert.throws(() => fillSql("bit`rix", TABLES[0], 10), /unusable database name/);
        assert.throws(() => fillSql("bitrix", TABLES[0], 0), /rows must be a whole number/);
        assert.throws(() => fillSql("bitrix", TABLES[0], 10, 2.5), /chunk must be a whole number/);
        assert.throws(() => fillSql("bitrix", { ...TABLES[0], values: ["seq"] }, 10), /unmatched columns and values/);
        assert.throws(() => modifySql("a b"), /unusable database name/);
    });

    it("edits one row in a hundred of every table, spread over the table or the newest 1 %", () => {
        const stmts = modifySql("bitrix");
        assert.equal(stmts.length, 3);
        for (const [i, s] of stmts.entries()) {
            assert.ok(s.startsWith(`UPDATE \`bitrix\`.\`${TABLES[i].name}\` SET TIMESTAMP_X = '2026-12-01 00:00:00', `), s);
            assert.ok(s.endsWith(" WHERE ID % 100 = 7"), s);
        }
        assert.match(stmts[0], /DETAIL_TEXT = REPEAT\(CONCAT\(SHA2\(ID \+ 1000000, 512\), ' '\), 1 \+ ID % 12\)/);
        const clustered = modifySql("bitrix", "clustered", { b_iblock_element: 20000, b_file: 150, b_user: 1 });
        assert.deepEqual(
            clustered.map((s) => / WHERE (.*)$/.exec(s)![1]),
            ["ID > 19800", "ID > 148", "ID > 0"],
        );
        assert.throws(() => modifySql("bitrix", "clustered", { b_iblock_element: 10 }), /need the row count of b_file/);
    });
});

describe("backup-scale: the upload tree", () => {
    const plan = filePlan(5000);

    it("plans the asked number of files of 1–200 KiB in Bitrix's iblock/<3 hex>/<32 hex>.jpg layout, no path twice", () => {
        assert.equal(plan.length, 5000);
        for (const f of plan) {
            assert.match(f.path, /^iblock\/[0-9a-f]{3}\/[0-9a-f]{32}\.jpg$/);
            assert.ok(f.bytes >= 1024 && f.bytes <= 200 * 1024, `${f.bytes}`);
        }
        assert.equal(new Set(plan.map((f) => f.path)).size, 5000);
        const mean = plan.reduce((s, f) => s + f.bytes, 0) / plan.length;
        assert.ok(Math.abs(mean - 100.5 * 1024) < 5 * 1024, `mean ${mean}`);
    });

    it("repeats about 5 % of the files, always an earlier original of the same size", () => {
        const copies = plan.map((f, i) => ({ f, i })).filter(({ f }) => f.copyOf !== undefined);
        assert.ok(copies.length > 150 && copies.length < 350, `${copies.length} copies`);
        for (const { f, i } of copies) {
            assert.ok(f.copyOf! < i);
            assert.equal(plan[f.copyOf!].copyOf, undefined, "a copy names the original, not another copy");
            assert.equal(plan[f.copyOf!].bytes, f.bytes);
        }
        assert.equal(plan[0].copyOf, undefined);
        assert.equal(filePlan(100, 0).filter((f) => f.copyOf !== undefined).length, 0);
    });

    it("is the same plan for the same seed and another for another seed", () => {
        assert.deepEqual(filePlan(50), filePlan(50));
        assert.notDeepEqual(filePlan(50, 0.05, 1), filePlan(50, 0.05, 2));
        const r = prng(7);
        const xs = Array.from({ length: 1000 }, r);
        assert.ok(xs.every((x) => x >= 0 && x < 1));
        assert.deepEqual(xs.slice(0, 3), Array.from({ length: 3 }, prng(7)));
    });
});

describe("backup-scale: PITR target, rates, extrapolation and the table", () => {
    it("puts the target on the whole second nearest the middle of the load, in UTC", () => {
        const first = Date.UTC(2026, 11, 2, 23, 23, 4, 250);
        const last = Date.UTC(2026, 11, 2, 23, 23, 16, 900);
        assert.deepEqual(pitrTarget(first, last), { utc: "2026-12-02 23:23:11", epochSeconds: Date.UTC(2026, 11, 2, 23, 23, 11) / 1000 });
        assert.throws(() => pitrTarget(first, first + 2999), /lasted 2999 ms; PITR needs at least 3 s/);
        assert.equal(utcSecond(Date.UTC(2026, 0, 5, 1, 2, 3, 999)), "2026-01-05 01:02:03");
    });

    it("computes MiB/s, and 0 for an untimed step", () => {
        assert.equal(rateMBs(300 * 1024 * 1024, 6), 50);
        assert.equal(rateMBs(1, 0), 0);
        assert.equal(mib(1536 * 1024), "1.5");
        assert.equal(secs(59.94), "59.9");
        assert.equal(secs(150), "150.0 (2.5 min)");
    });

    it("scales the database part of each step linearly to 28 GiB and leaves the rest as measured", () => {
        assert.equal(MEDIUM_PORTAL_BYTES, 28 * GiB);
        // 10 s all database, 4 s half database (a restic run over dump + files of equal size), 5 s server start.
        const steps = [
            { seconds: 10, dbShare: 1 },
            { seconds: 4, dbShare: 0.5 },
            { seconds: 5, dbShare: 0 },
        ];
        assert.equal(extrapolateSeconds(steps, GiB, MEDIUM_PORTAL_BYTES), 10 * 28 + 2 * 28 + 2 + 5);
        assert.equal(extrapolateSeconds([{ seconds: 3, dbShare: 1 }], 2 * GiB, MEDIUM_PORTAL_BYTES), 42);
        assert.throws(() => extrapolateSeconds(steps, 0, MEDIUM_PORTAL_BYTES), /must be positive/);
    });

    it("formats a GitHub Markdown table, escaping | in cells", () => {
        assert.equal(
            markdownTable(
                ["Step", "Seconds"],
                [
                    ["dump", 1.5],
                    ["a | b", "–"],
                ],
            ),
            "| Step | Seconds |\n| --- | --- |\n| dump | 1.5 |\n| a \\| b | – |\n",
        );
        assert.throws(() => markdownTable(["a", "b"], [["only one"]]), /has 1 cells, not 2/);
    });
});
