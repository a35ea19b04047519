/**
 * Backups measured at scale on this machine (issue 22), the pure parts: the command line, the SQL that builds a
 * Bitrix-like database of a given size from MariaDB's sequence engine, the plan of the upload tree's files, the
 * PITR target second, the Markdown table and the linear extrapolation to a medium portal's database (seed 002: "a
 * medium portal with a ~28 GB database"). `backupScaleRun.ts` runs them against Debian's mariadbd, mariadb-dump,
 * mariadb-backup, mariadb-binlog and restic on loopback.
 */
import { sqlIdent } from "../../components/database/initSql";

/** The database size the figures are extrapolated to: seed 002's medium portal (~28 GB). */
export const MEDIUM_PORTAL_BYTES = 28 * 1024 ** 3;

export interface BackupScaleArgs {
    /** Target database size in GiB (data + indexes). */
    gb: number;
    /** Files in the upload tree. */
    files: number;
    /** Where the figures are written as JSON. */
    out: string;
    /** innodb_buffer_pool_size of every server the benchmark starts, in MiB. */
    bufferPoolMb: number;
}

/**
 * `--gb <n>` (default 2), `--files <n>` (default 5000), `--out <json>` (default benchmark/backup-scale.json),
 * `--buffer-pool-mb <n>` (default 512). Throws on an unknown flag or a value out of range.
 */
export function parseArgs(argv: string[]): BackupScaleArgs {
    const args: BackupScaleArgs = { gb: 2, files: 5000, out: "benchmark/backup-scale.json", bufferPoolMb: 512 };
    for (let i = 0; i < argv.length; i += 2) {
        const [flag, value] = [argv[i], argv[i + 1]];
        if (value === undefined) throw new Error(`backup-scale: ${flag} needs a value`);
        const num = Number(value);
        switch (flag) {
            case "--gb":
                if (!(num > 0 && num <= 100)) throw new Error(`backup-scale: --gb must be a number in (0, 100], got ${value}`);
                args.gb = num;
                break;
            case "--files":
                if (!Number.isInteger(num) || num < 0 || num > 1_000_000)
                    throw new Error(`backup-scale: --files must be a whole number 0..1000000, got ${value}`);
                args.files = num;
                break;
            case "--out":
                args.out = value;
                break;
            case "--buffer-pool-mb":
                if (!Number.isInteger(num) || num < 32 || num > 65536)
                    throw new Error(`backup-scale: --buffer-pool-mb must be a whole number 32..65536, got ${value}`);
                args.bufferPoolMb = num;
                break;
            default:
                throw new Error(`backup-scale: unknown argument ${flag} (--gb, --files, --out, --buffer-pool-mb)`);
        }
    }
    return args;
}

/** One table of the generated database: its DDL, its share of the size and the body of its INSERT … SELECT. */
export interface GeneratedTable {
    name: string;
    ddl: string;
    /** Fraction of the target size this table gets. */
    share: number;
    /** Estimated bytes per row on disk (data + indexes), to turn a size into a row count. */
    bytesPerRow: number;
    /** Column list and SELECT expressions over `seq` (the sequence engine's column). */
    columns: string[];
    values: string[];
}

/**
 * Three tables shaped like Bitrix's own (names, column types and secondary indexes after b_iblock_element,
 * b_file and b_user of the main/iblock modules' install SQL), filled with text from MD5/SHA2 of the row number.
 * The per-row byte estimates were measured on 10.11 at --gb 0.05; the run reports the real size anyway.
 */
export const TABLES: GeneratedTable[] = [
    {
        name: "b_iblock_element",
        share: 0.75,
        bytesPerRow: 1900,
        ddl:
            "CREATE TABLE b_iblock_element (ID INT NOT NULL AUTO_INCREMENT, TIMESTAMP_X DATETIME, MODIFIED_BY INT, DATE_CREATE DATETIME, " +
            "CREATED_BY INT, IBLOCK_ID INT NOT NULL, IBLOCK_SECTION_ID INT, ACTIVE CHAR(1) NOT NULL DEFAULT 'Y', SORT INT NOT NULL DEFAULT 500, " +
            "NAME VARCHAR(255) NOT NULL, PREVIEW_TEXT TEXT, DETAIL_TEXT LONGTEXT, XML_ID VARCHAR(255), CODE VARCHAR(255), TAGS VARCHAR(255), " +
            "PRIMARY KEY (ID), KEY ix_iblock_element_1 (IBLOCK_ID, IBLOCK_SECTION_ID), KEY ix_iblock_element_4 (IBLOCK_ID, XML_ID), " +
            "KEY ix_iblock_element_3 (IBLOCK_SECTION_ID)) ENGINE=InnoDB",
        columns: [
            "ID",
            "TIMESTAMP_X",
            "MODIFIED_BY",
            "DATE_CREATE",
            "CREATED_BY",
            "IBLOCK_ID",
            "IBLOCK_SECTION_ID",
            "ACTIVE",
            "SORT",
            "NAME",
            "PREVIEW_TEXT",
            "DETAIL_TEXT",
            "XML_ID",
            "CODE",
            "TAGS",
        ],
        values: [
            "seq",
            "'2024-01-01 00:00:00' + INTERVAL seq MINUTE",
            "1 + seq % 50",
            "'2024-01-01 00:00:00' + INTERVAL seq MINUTE",
            "1 + seq % 50",
            "1 + seq % 40",
            "1 + seq % 3000",
            "IF(seq % 10 = 0, 'N', 'Y')",
            "seq % 1000",
            "CONCAT('Element ', seq, ' ', LEFT(MD5(seq), 12))",
            "REPEAT(CONCAT(MD5(seq), ' '), 1 + seq % 8)",
            "REPEAT(CONCAT(SHA2(seq, 512), ' ', MD5(seq * 7), ' '), seq % 16)",
            "MD5(CONCAT('x', seq))",
            "CONCAT('element-', seq)",
            "IF(seq % 3 = 0, 'news, portal', NULL)",
        ],
    },
    {
        name: "b_file",
        share: 0.1,
        bytesPerRow: 540,
        ddl:
            "CREATE TABLE b_file (ID INT NOT NULL AUTO_INCREMENT, TIMESTAMP_X DATETIME, MODULE_ID VARCHAR(50), HEIGHT INT, WIDTH INT, " +
            "FILE_SIZE BIGINT, CONTENT_TYPE VARCHAR(255) DEFAULT 'IMAGE', SUBDIR VARCHAR(255), FILE_NAME VARCHAR(255) NOT NULL, " +
            "ORIGINAL_NAME VARCHAR(255), DESCRIPTION VARCHAR(255), HANDLER_ID VARCHAR(50), EXTERNAL_ID VARCHAR(50), " +
            "PRIMARY KEY (ID), KEY IX_B_FILE_EXTERNAL_ID (EXTERNAL_ID), KEY IX_B_FILE_SUBDIR (SUBDIR, FILE_NAME)) ENGINE=InnoDB",
        columns: [
            "ID",
            "TIMESTAMP_X",
            "MODULE_ID",
            "HEIGHT",
            "WIDTH",
            "FILE_SIZE",
            "CONTENT_TYPE",
            "SUBDIR",
            "FILE_NAME",
            "ORIGINAL_NAME",
            "DESCRIPTION",
            "EXTERNAL_ID",
        ],
        values: [
            "seq",
            "'2024-01-01 00:00:00' + INTERVAL seq MINUTE",
            "ELT(1 + seq % 3, 'iblock', 'main', 'disk')",
            "100 + seq % 900",
            "100 + seq % 1200",
            "1024 + seq % 204800",
            "'image/jpeg'",
            "CONCAT('iblock/', LEFT(MD5(seq), 3))",
            "CONCAT(MD5(seq), '.jpg')",
            "CONCAT('photo_', seq, '.jpg')",
            "IF(seq % 4 = 0, CONCAT('Photo ', seq), '')",
            "MD5(CONCAT('f', seq))",
        ],
    },
    {
        name: "b_user",
        share: 0.15,
        bytesPerRow: 700,
        ddl:
            "CREATE TABLE b_user (ID INT NOT NULL AUTO_INCREMENT, TIMESTAMP_X DATETIME, LOGIN VARCHAR(50) NOT NULL, PASSWORD VARCHAR(255) NOT NULL, " +
            "ACTIVE CHAR(1) NOT NULL DEFAULT 'Y', NAME VARCHAR(50), LAST_NAME VARCHAR(50), EMAIL VARCHAR(255), LAST_LOGIN DATETIME, " +
            "DATE_REGISTER DATETIME NOT NULL, PERSONAL_NOTES TEXT, WORK_PROFILE TEXT, XML_ID VARCHAR(255), " +
            "PRIMARY KEY (ID), UNIQUE KEY ix_login (LOGIN), KEY ix_b_user_email (EMAIL), KEY ix_b_user_xml_id (XML_ID)) ENGINE=InnoDB",
        columns: [
            "ID",
            "TIMESTAMP_X",
            "LOGIN",
            "PASSWORD",
            "ACTIVE",
            "NAME",
            "LAST_NAME",
            "EMAIL",
            "LAST_LOGIN",
            "DATE_REGISTER",
            "PERSONAL_NOTES",
            "WORK_PROFILE",
            "XML_ID",
        ],
        values: [
            "seq",
            "'2024-01-01 00:00:00' + INTERVAL seq MINUTE",
            "CONCAT('user', seq)",
            "CONCAT('$6$', LEFT(MD5(seq), 16), '$', SHA2(seq, 256))",
            "IF(seq % 20 = 0, 'N', 'Y')",
            "CONCAT('Name', seq % 997)",
            "CONCAT('Surname', seq % 1999)",
            "CONCAT('user', seq, '@example.com')",
            "'2025-01-01 00:00:00' + INTERVAL seq SECOND",
            "'2020-01-01 00:00:00' + INTERVAL seq MINUTE",
            "REPEAT(CONCAT(MD5(seq * 3), ' '), seq % 6)",
            "REPEAT(CONCAT(SHA2(seq * 5, 256), ' '), seq % 5)",
            "MD5(CONCAT('u', seq))",
        ],
    },
];

/** Rows per table for a target size: the table's share of the bytes over its estimated bytes per row (at least 1). */
export function rowPlan(targetBytes: number, tables: GeneratedTable[] = TABLES): Record<string, number> {
    return Object.fromEntries(tables.map((t) => [t.name, Math.max(1, Math.round((targetBytes * t.share) / t.bytesPerRow))]));
}

/**
 * The statements that fill one table with `rows` rows, `chunk` rows per INSERT … SELECT (one transaction each).
 * The sequence engine's tables live in every database and must be named with it (`bitrix.seq_1_to_N`).
 * @param chunk Rows per statement. @default 20000
 */
export function fillSql(database: string, table: GeneratedTable, rows: number, chunk = 20000): string[] {
    if (!/^[A-Za-z0-9_]{1,64}$/.test(database)) throw new Error(`backup-scale: unusable database name ${JSON.stringify(database)}`);
    if (!Number.isInteger(rows) || rows < 1) throw new Error(`backup-scale: rows must be a whole number ≥ 1, got ${rows}`);
    if (!Number.isInteger(chunk) || chunk < 1) throw new Error(`backup-scale: chunk must be a whole number ≥ 1, got ${chunk}`);
    if (table.columns.length !== table.values.length) throw new Error(`backup-scale: ${table.name} has unmatched columns and values`);
    const out: string[] = [];
    for (let from = 1; from <= rows; from += chunk) {
        const to = Math.min(rows, from + chunk - 1);
        out.push(
            `INSERT INTO ${sqlIdent(database)}.${sqlIdent(table.name)} (${table.columns.join(", ")}) ` +
                `SELECT ${table.values.join(", ")} FROM ${sqlIdent(database)}.seq_${from}_to_${to}`,
        );
    }
    return out;
}

/**
 * Changes one row in a hundred of every generated table: the "day of edits" between two backups that the dedup
 * figure measures. `spread`: ID % 100 = 7, one row in every hundred, so nearly every 16 KiB page and every restic
 * chunk of the dump holds an edited row (the worst case for deduplication); `clustered`: the newest 1 % of each table
 * (ID above 99 % of its `rows`), as when the recent content is what gets edited.
 * @param rows Rows per table (from {@link rowPlan}); needed for `clustered`.
 */
export function modifySql(
    database: string,
    mode: "spread" | "clustered" = "spread",
    rows: Record<string, number> = {},
    tables: GeneratedTable[] = TABLES,
): string[] {
    if (!/^[A-Za-z0-9_]{1,64}$/.test(database)) throw new Error(`backup-scale: unusable database name ${JSON.stringify(database)}`);
    const changes: Record<string, string> = {
        b_iblock_element: "NAME = CONCAT(NAME, ' (edited)'), DETAIL_TEXT = REPEAT(CONCAT(SHA2(ID + 1000000, 512), ' '), 1 + ID % 12)",
        b_file: "DESCRIPTION = CONCAT('Edited ', ID), FILE_SIZE = FILE_SIZE + 1",
        b_user: "LAST_LOGIN = '2026-12-01 00:00:00', PERSONAL_NOTES = CONCAT('edited ', MD5(ID))",
    };
    return tables.map((t) => {
        let where = "ID % 100 = 7";
        if (mode === "clustered") {
            const n = rows[t.name];
            if (!Number.isInteger(n) || n < 1) throw new Error(`backup-scale: clustered edits need the row count of ${t.name}`);
            where = `ID > ${n - Math.ceil(n / 100)}`;
        }
        return (
            `UPDATE ${sqlIdent(database)}.${sqlIdent(t.name)} SET TIMESTAMP_X = '2026-12-01 00:00:00'` +
            `${changes[t.name] ? `, ${changes[t.name]}` : ""} WHERE ${where}`
        );
    });
}

/** A small seeded generator (mulberry32), so the same arguments plan the same files. */
export function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

export interface PlannedFile {
    /** Relative path in the upload tree, like Bitrix's `iblock/3fa/<32 hex>.jpg`. */
    path: string;
    bytes: number;
    /** Index of the earlier file whose content this one repeats (the same picture uploaded twice). */
    copyOf?: number;
}

/**
 * The upload tree: `count` files of 1–200 KiB (uniform), about `duplicateShare` of them copies of an earlier file,
 * in Bitrix's two-level layout (`iblock/<3 hex>/<32 hex>.jpg`).
 * @param duplicateShare @default 0.05
 * @param seed @default 22
 */
export function filePlan(count: number, duplicateShare = 0.05, seed = 22): PlannedFile[] {
    const rand = prng(seed);
    const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join("");
    const out: PlannedFile[] = [];
    for (let i = 0; i < count; i++) {
        const dup = i > 0 && rand() < duplicateShare;
        const dir = hex(3);
        const name = hex(32);
        if (dup) {
            const of = Math.floor(rand() * i);
            out.push({ path: `iblock/${dir}/${name}.jpg`, bytes: out[of].bytes, copyOf: out[of].copyOf ?? of });
        } else {
            out.push({ path: `iblock/${dir}/${name}.jpg`, bytes: 1024 + Math.floor(rand() * (200 * 1024 - 1024 + 1)) });
        }
    }
    return out;
}

/** A moment as the `--to` of PITR takes it: `YYYY-MM-DD HH:MM:SS` in UTC (whole seconds, cut down). */
export function utcSecond(epochMs: number): string {
    return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().slice(0, 19).replace("T", " ");
}

/**
 * The PITR target for a write load that ran from `firstMs` to `lastMs`: the whole second nearest the middle, so rows
 * were written both before it and from it on. Throws when the load lasted under 3 s (no whole second surely inside).
 */
export function pitrTarget(firstMs: number, lastMs: number): { utc: string; epochSeconds: number } {
    if (lastMs - firstMs < 3000) throw new Error(`backup-scale: the write load lasted ${lastMs - firstMs} ms; PITR needs at least 3 s`);
    const s = Math.round((firstMs + lastMs) / 2000);
    return { utc: utcSecond(s * 1000), epochSeconds: s };
}

const MB = 1024 * 1024;

/** MiB/s of `bytes` in `seconds` (0 when nothing was timed). */
export function rateMBs(bytes: number, seconds: number): number {
    return seconds > 0 ? bytes / MB / seconds : 0;
}

/**
 * Seconds a chain of steps would take for a database of `targetBytes`, assuming each step's time grows linearly with
 * the database: a step's seconds × `dbShare` (the part of its input that is the database: a restic run over the dump
 * and the upload tree has dumpBytes / (dumpBytes + fileBytes)) × targetBytes / dbBytes, plus the rest unscaled.
 * Linear: nothing here models a buffer pool smaller than the data or a disk cache that no longer holds it.
 */
export function extrapolateSeconds(steps: Array<{ seconds: number; dbShare: number }>, dbBytes: number, targetBytes: number): number {
    if (!(dbBytes > 0)) throw new Error("backup-scale: the measured database size must be positive");
    const factor = targetBytes / dbBytes;
    return steps.reduce((sum, s) => {
        const share = Math.min(1, Math.max(0, s.dbShare));
        return sum + s.seconds * share * factor + s.seconds * (1 - share);
    }, 0);
}

/** A Markdown table (GitHub style): `|`-separated cells, header rule, `|` in a cell escaped. */
export function markdownTable(header: string[], rows: Array<Array<string | number>>): string {
    const cell = (v: string | number) => String(v).replace(/\|/g, "\\|").replace(/\n/g, " ");
    for (const r of rows)
        if (r.length !== header.length)
            throw new Error(`backup-scale: row ${JSON.stringify(r)} has ${r.length} cells, not ${header.length}`);
    return [header, header.map(() => "---"), ...rows].map((r) => `| ${r.map(cell).join(" | ")} |`).join("\n") + "\n";
}

/** Bytes as MiB with one decimal. */
export const mib = (bytes: number) => (bytes / MB).toFixed(1);
/** Seconds with one decimal, and minutes beside them from 2 minutes on. */
export function secs(s: number): string {
    return s >= 120 ? `${s.toFixed(1)} (${(s / 60).toFixed(1)} min)` : s.toFixed(1);
}
