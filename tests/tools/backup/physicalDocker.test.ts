import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import {
    checkMethod,
    containerBackupScript,
    copyBackScript,
    DB_DATADIR,
    INITIALIZED_MARKER,
    physicalUnsupported,
    RESTORE_FAILED_MARKER,
} from "../../../tools/backup/physicalDocker";

/** Runs a script with `bin` first on PATH (stand-ins for the backup tool), as bash would in the container. */
function runWith(script: string, bin: Record<string, string>, input: string | Buffer = ""): { code: number | null; stderr: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bx-physdocker-"));
    for (const [name, body] of Object.entries(bin)) fs.writeFileSync(path.join(dir, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
    const r = spawnSync("bash", ["-c", script], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, input, encoding: "utf8" });
    fs.rmSync(dir, { recursive: true, force: true });
    return { code: r.status, stderr: r.stderr };
}

describe("physical backup on Docker: scripts and checks", () => {
    it("takes --method logical (the default) or physical, and refuses anything else", () => {
        assert.equal(checkMethod(undefined), "logical");
        assert.equal(checkMethod("physical"), "physical");
        assert.throws(() => checkMethod("xtrabackup"), /--method must be "logical" or "physical", got "xtrabackup"/);
    });

    it("refuses, before anything runs, a stack the physical path cannot handle: percona, no replica, no failover manager", () => {
        assert.equal(physicalUnsupported("mariadb", 2, true), undefined);
        assert.match(physicalUnsupported("percona", 2, true)!, /no xtrabackup.*--method logical/);
        assert.match(physicalUnsupported("mariadb", 0, true)!, /taken on a replica.*dbReplicas 0/);
        assert.match(physicalUnsupported("mariadb", 1, false)!, /dbFailover is off/);
    });

    it("copies on the replica with --slave-info and --safe-slave-backup, prepares, and logs in over the socket without a password", () => {
        const s = containerBackupScript("mariadb", "/tmp/bitrix-cluster-physical-ab12");
        const lines = s.split("\n");
        const backup = lines.findIndex((l) =>
            l.startsWith("'mariadb-backup' '--defaults-extra-file=/tmp/bitrix-cluster-physical-ab12/login.cnf' '--backup'"),
        );
        const prepare = lines.findIndex((l) =>
            l.startsWith("'mariadb-backup' '--prepare' '--target-dir=/tmp/bitrix-cluster-physical-ab12/copy'"),
        );
        assert.ok(backup > 0 && prepare > backup, s);
        assert.match(lines[backup], /'--target-dir=\/tmp\/bitrix-cluster-physical-ab12\/copy' '--slave-info' '--safe-slave-backup'/);
        assert.match(s, /^umask 077$/m);
        assert.match(s, /user = "root"\npassword = ""\nsocket = "\/run\/mysqld\/mysqld.sock"/);
    });

    it("never works in the data directory or at /", () => {
        assert.throws(() => containerBackupScript("mariadb", `${DB_DATADIR}/copy`), /must not be in the data directory/);
        assert.throws(() => containerBackupScript("mariadb", DB_DATADIR), /must not be in the data directory/);
        assert.throws(() => containerBackupScript("mariadb", "/"), /root directory/);
        assert.throws(() => containerBackupScript("mariadb", "relative"), /absolute path/);
    });

    it("fails with the tool's own last lines when the copy fails, and never reaches the prepare", () => {
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "bx-physwork-"));
        const calls = path.join(work, "..", `${path.basename(work)}.calls`);
        const r = runWith(containerBackupScript("mariadb", work), {
            "mariadb-backup": `echo "$@" >> ${calls}; case "$*" in *--backup*) echo "[ERROR] InnoDB: Unsupported redo log format"; exit 1;; esac`,
        });
        assert.equal(r.code, 1);
        assert.match(r.stderr, /Unsupported redo log format/);
        assert.equal(fs.readFileSync(calls, "utf8").trim().split("\n").length, 1, "prepare did not run");
        assert.equal(fs.statSync(path.join(work, "login.cnf")).mode & 0o077, 0, "the option file is the owner's only");
        fs.rmSync(work, { recursive: true, force: true });
        fs.rmSync(calls, { force: true });
    });

    it("puts the copy back into an emptied data directory, owned by mysql, marked initialised, in that order", () => {
        const s = copyBackScript("mariadb");
        const at = (re: RegExp) => s.split("\n").findIndex((l) => re.test(l));
        const order = [
            at(/^tar -C '\/var\/tmp\/bitrix-cluster-copy' -xf -$/),
            at(/^find '\/var\/lib\/mysql' -mindepth 1 -delete$/),
            at(/^'mariadb-backup' '--copy-back' '--target-dir=\/var\/tmp\/bitrix-cluster-copy' '--datadir=\/var\/lib\/mysql'/),
            at(new RegExp(`^touch '/var/lib/mysql/${INITIALIZED_MARKER.replace(".", "\\.")}'$`)),
            at(/^chown -R mysql:mysql '\/var\/lib\/mysql'$/),
        ];
        assert.ok(
            order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1])),
            `${JSON.stringify(order)}\n${s}`,
        );
    });

    it("leaves the restore-failed marker in the emptied data directory when the copy-back fails", () => {
        const copy = fs.mkdtempSync(path.join(os.tmpdir(), "bx-copy-"));
        const data = fs.mkdtempSync(path.join(os.tmpdir(), "bx-data-"));
        fs.writeFileSync(path.join(data, "ibdata1"), "the old data");
        const script = copyBackScript("mariadb")
            .split("'/var/tmp/bitrix-cluster-copy'")
            .join(`'${copy}'`)
            .split("/var/lib/mysql")
            .join(data);
        const stream = spawnSync("tar", ["-C", copy, "-cf", "-", "."]).stdout;
        const r = runWith(script, { "mariadb-backup": 'echo "[00] Original data directory is not empty!"; exit 1' }, stream);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /Original data directory/);
        assert.deepEqual(fs.readdirSync(data), [RESTORE_FAILED_MARKER]);
        fs.rmSync(copy, { recursive: true, force: true });
        fs.rmSync(data, { recursive: true, force: true });
    });

    it("on a machine: unpacks into a new directory of its own, refuses one already there, and removes it after", () => {
        const base = fs.mkdtempSync(path.join(os.tmpdir(), "bx-excl-"));
        const data = fs.mkdtempSync(path.join(os.tmpdir(), "bx-data-"));
        const copy = path.join(base, "copy-1234");
        // Every mention of the data directory (the find, the tool's --datadir, the marker, chown) points at the test's.
        const script = (c: string) => copyBackScript("mariadb", c, { exclusive: true }).split("/var/lib/mysql").join(data);
        assert.ok(!script(copy).includes("/var/lib/mysql"));
        assert.match(script(copy), new RegExp(`^mkdir -m 0700 '${copy}'$`, "m"));
        assert.ok(!script(copy).includes("/tmp/copy-back.log"), "its log is in its own directory, not at a fixed path");
        const src = fs.mkdtempSync(path.join(os.tmpdir(), "bx-src-"));
        fs.writeFileSync(path.join(src, "ibdata1"), "copied");
        const stream = spawnSync("tar", ["-C", src, "-cf", "-", "."]).stdout;
        // The stand-in copy-back records what it was given, then copies like the tool does.
        const r = runWith(
            script(copy),
            { "mariadb-backup": `echo "$@" > ${base}/args; cp "\${2#--target-dir=}/ibdata1" "\${3#--datadir=}/"` },
            stream,
        );
        assert.equal(r.code, 0, r.stderr);
        assert.equal(fs.readFileSync(path.join(data, "ibdata1"), "utf8"), "copied");
        assert.ok(!fs.existsSync(copy), "the unpacked copy is removed when the script ends");
        // A name someone prepared (here a link to elsewhere) is refused before anything is written or emptied.
        fs.symlinkSync(src, copy);
        const refused = runWith(script(copy), {}, stream);
        assert.notEqual(refused.code, 0);
        assert.match(refused.stderr, /File exists/);
        assert.ok(fs.existsSync(path.join(data, "ibdata1")), "the data directory was not emptied");
        fs.unlinkSync(copy);
        for (const d of [base, data, src]) fs.rmSync(d, { recursive: true, force: true });
    });

    it("stops before touching the data directory when the copy does not arrive whole", () => {
        // A stream that is not a tar archive: tar fails, so the data directory is never emptied.
        const copy = fs.mkdtempSync(path.join(os.tmpdir(), "bx-copy-"));
        const data = fs.mkdtempSync(path.join(os.tmpdir(), "bx-data-"));
        fs.writeFileSync(path.join(data, "ibdata1"), "the live data");
        const script = copyBackScript("mariadb")
            .split("'/var/tmp/bitrix-cluster-copy'")
            .join(`'${copy}'`)
            .split("/var/lib/mysql")
            .join(data);
        const r = runWith(script, {}, "not a tar stream");
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /tar/);
        assert.equal(fs.readFileSync(path.join(data, "ibdata1"), "utf8"), "the live data");
        fs.rmSync(copy, { recursive: true, force: true });
        fs.rmSync(data, { recursive: true, force: true });
    });
});
