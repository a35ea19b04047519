import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { DB_PORT as SERVER_PORT } from "../../../components/database/database";
import { shellQuote } from "../../../components/shared/shell";
import {
    checkContainer,
    checkImage,
    checkMethod,
    containerBackupScript,
    copyBackScript,
    DB_DATADIR,
    DB_PORT,
    INITIALIZED_MARKER,
    perconaCopyBackCommand,
    perconaSidecarBackupCommand,
    perconaSidecarBackupScript,
    physicalUnsupported,
    RESTORE_FAILED_MARKER,
} from "../../../tools/backup/physicalDocker";

/** Runs a script with `bin` first on PATH (stand-ins for the backup tool), as bash would in the container. */
function runWith(
    script: string,
    bin: Record<string, string>,
    input: string | Buffer = "",
): { code: number | null; stderr: string; stdout: Buffer } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bx-physdocker-"));
    for (const [name, body] of Object.entries(bin)) fs.writeFileSync(path.join(dir, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
    const r = spawnSync("bash", ["-c", script], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, input });
    fs.rmSync(dir, { recursive: true, force: true });
    return { code: r.status, stderr: r.stderr.toString(), stdout: r.stdout };
}

describe("physical backup on Docker: scripts and checks", () => {
    it("takes --method logical (the default) or physical, and refuses anything else", () => {
        assert.equal(checkMethod(undefined), "logical");
        assert.equal(checkMethod("physical"), "physical");
        assert.throws(() => checkMethod("xtrabackup"), /--method must be "logical" or "physical", got "xtrabackup"/);
    });

    it("refuses, before anything runs, a stack the physical path cannot handle: no replica, no failover manager", () => {
        assert.equal(physicalUnsupported(2, true), undefined);
        assert.match(physicalUnsupported(0, true)!, /taken on a replica.*dbReplicas 0/);
        assert.match(physicalUnsupported(1, false)!, /dbFailover is off/);
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

describe("physical backup of Percona on Docker: the XtraBackup container beside the server", () => {
    const IMAGE = "percona/percona-xtrabackup:8.0.35-33";
    // A password with everything the option file must escape, and a % that printf must not read.
    const PASSWORD = 'pa"ss\\wo%srd';

    it("runs the copy in an XtraBackup container on the replica's volumes and network, the password piped from its environment", () => {
        const c = perconaSidecarBackupCommand("prod-db-replica-1", IMAGE, "/tmp/bitrix-cluster-physical-ab12");
        assert.equal(
            c,
            "docker exec 'prod-db-replica-1' printenv MYSQL_ROOT_PASSWORD | docker run --rm -i --user 0 " +
                "--volumes-from 'prod-db-replica-1' --network container:prod-db-replica-1 --entrypoint bash " +
                `'percona/percona-xtrabackup:8.0.35-33' -c ${shellQuote(perconaSidecarBackupScript("/tmp/bitrix-cluster-physical-ab12"))}`,
        );
        assert.ok(!/password=|-p[^a-z]|MYSQL_PWD/.test(c.split(" -c ")[0]), "no password or password flag in any argv");
        execFileSync("bash", ["-n"], { input: c });
        const cb = perconaCopyBackCommand("prod-db-master", IMAGE);
        assert.equal(
            cb,
            "docker run --rm -i --network none --user 0 --volumes-from 'prod-db-master' --entrypoint bash " +
                `'percona/percona-xtrabackup:8.0.35-33' -c ${shellQuote(copyBackScript("percona"))}`,
        );
        execFileSync("bash", ["-n"], { input: cb });
    });

    it("refuses an image without a tag, shell characters, or a bad container name, before any command is made", () => {
        assert.equal(checkImage(IMAGE), IMAGE);
        for (const bad of ["percona/percona-xtrabackup", "percona/percona-xtrabackup:8.0.35-33;id", "$(id):1", "percona/pxb:8.0 x", ""])
            assert.throws(
                () => perconaSidecarBackupCommand("prod-db-replica-1", bad, "/tmp/w"),
                /XtraBackup image must be an image reference with a tag/,
            );
        assert.throws(() => perconaCopyBackCommand("prod-db-master", "percona/percona-xtrabackup"), /with a tag/);
        for (const bad of ["-v", "a b", "x;id", "", "$(id)"]) {
            assert.throws(() => checkContainer(bad), /is not a container name/);
            assert.throws(() => perconaSidecarBackupCommand(bad, IMAGE, "/tmp/w"), /is not a container name/);
            assert.throws(() => perconaCopyBackCommand(bad, IMAGE), /is not a container name/);
        }
        assert.throws(() => perconaSidecarBackupScript(`${DB_DATADIR}/copy`), /must not be in the data directory/);
        assert.throws(() => perconaSidecarBackupScript("relative"), /absolute path/);
        assert.equal(DB_PORT, SERVER_PORT, "the servers' port the XtraBackup container logs in to");
    });

    it("logs in with a 0600 option file from stdin, copies with the documented flags, prepares, and streams the prepared copy", () => {
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "bx-pxbwork-"));
        const calls = `${work}.calls`;
        const script = perconaSidecarBackupScript(work);
        execFileSync("bash", ["-n"], { input: script });
        // The stand-in records its argv, keeps a copy of the option file it was given, and writes what XtraBackup 8.0
        // writes beside a copy (xtrabackup_binlog_info, create-gtid-replica.html).
        const r = runWith(
            script,
            {
                xtrabackup: [
                    `printf '%s\\n' "$*" >> ${calls}`,
                    `case "$*" in *--backup*) f="\${1#--defaults-extra-file=}"; cp "$f" ${work}.cnf; stat -c %a "$f" > ${work}.mode;`,
                    `  t="$(printf '%s\\n' "$@" | sed -n 's/^--target-dir=//p')"; printf 'binlog.000002\\t1232\\tc777888a-b6df-11e2-a604-080027635ef5:1-4\\n' > "$t/xtrabackup_binlog_info"; echo ibdata > "$t/ibdata1";; esac`,
                ].join("\n"),
            },
            `${PASSWORD}\n`,
        );
        assert.equal(r.code, 0, r.stderr);
        const argv = fs.readFileSync(calls, "utf8").trim().split("\n");
        assert.deepEqual(argv, [
            `--defaults-extra-file=${work}/login.cnf --backup --datadir=/var/lib/mysql --target-dir=${work}/copy --slave-info --safe-slave-backup`,
            `--prepare --target-dir=${work}/copy`,
        ]);
        assert.ok(!argv.join(" ").includes("wo%srd"), "the password is in no argv");
        assert.equal(fs.readFileSync(`${work}.mode`, "utf8").trim(), "600");
        // The option file as MySQL-family clients read it (Debian's my_print_defaults undoes the same escapes).
        const cnf = fs.readFileSync(`${work}.cnf`, "utf8");
        assert.equal(cnf, `[xtrabackup]\nuser = "root"\npassword = "pa\\"ss\\\\wo%srd"\nhost = "127.0.0.1"\nport = 3306\n`);
        const parsed = execFileSync("my_print_defaults", [`--defaults-file=${work}.cnf`, "xtrabackup"], { encoding: "utf8" });
        assert.equal(parsed, `--user=root\n--password=${PASSWORD}\n--host=127.0.0.1\n--port=3306\n`);
        // stdout is the prepared copy as a tar stream, nothing else.
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "bx-pxbout-"));
        execFileSync("tar", ["-C", out, "-xf", "-"], { input: r.stdout });
        assert.deepEqual(fs.readdirSync(out).sort(), ["ibdata1", "xtrabackup_binlog_info"]);
        for (const f of [calls, `${work}.cnf`, `${work}.mode`]) fs.rmSync(f, { force: true });
        for (const d of [work, out]) fs.rmSync(d, { recursive: true, force: true });
    });

    it("stops before XtraBackup runs when no password arrives, and fails with the tool's last lines", () => {
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "bx-pxbwork-"));
        const calls = `${work}.calls`;
        const none = runWith(perconaSidecarBackupScript(work), { xtrabackup: `echo "$@" >> ${calls}` }, "");
        assert.equal(none.code, 1);
        assert.match(none.stderr, /no root password on stdin/);
        assert.ok(!fs.existsSync(calls), "xtrabackup never ran");
        const failed = runWith(
            perconaSidecarBackupScript(work),
            { xtrabackup: `echo "$@" >> ${calls}; echo "Failed to connect to MySQL server: Access denied"; exit 1` },
            "secret",
        );
        assert.equal(failed.code, 1);
        assert.match(failed.stderr, /Access denied/);
        assert.equal(failed.stdout.length, 0, "no tar stream after a failed copy");
        assert.equal(fs.readFileSync(calls, "utf8").trim().split("\n").length, 1, "prepare did not run");
        fs.rmSync(calls, { force: true });
        fs.rmSync(work, { recursive: true, force: true });
    });

    it("puts a copy back with xtrabackup --copy-back, owned by whoever owned the data directory's mysql/ before", () => {
        const s = copyBackScript("percona");
        const at = (re: RegExp) => s.split("\n").findIndex((l) => re.test(l));
        const order = [
            at(/^tar -C '\/var\/tmp\/bitrix-cluster-copy' -xf -$/),
            at(/^owner=\$\(stat -c '%u:%g' '\/var\/lib\/mysql\/mysql' 2>\/dev\/null \|\| stat -c '%u:%g' '\/var\/lib\/mysql'\)$/),
            at(/^find '\/var\/lib\/mysql' -mindepth 1 -delete$/),
            at(/^'xtrabackup' '--copy-back' '--target-dir=\/var\/tmp\/bitrix-cluster-copy' '--datadir=\/var\/lib\/mysql'/),
            at(/^rm -f '\/var\/lib\/mysql\/auto\.cnf'$/),
            at(new RegExp(`^touch '/var/lib/mysql/${INITIALIZED_MARKER.replace(".", "\\.")}'$`)),
            at(/^chown -R "\$owner" '\/var\/lib\/mysql'$/),
        ];
        assert.ok(
            order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1])),
            `${JSON.stringify(order)}\n${s}`,
        );
        assert.ok(!s.includes("mysql:mysql"), "no user name: the XtraBackup container's names need not be the server image's");

        // Run it: the old data directory's mysql/ belongs to 1001:1001 (the Percona images' mysql), the copy to root.
        const copy = fs.mkdtempSync(path.join(os.tmpdir(), "bx-copy-"));
        const data = fs.mkdtempSync(path.join(os.tmpdir(), "bx-data-"));
        fs.mkdirSync(path.join(data, "mysql"));
        fs.chownSync(path.join(data, "mysql"), 1001, 1001);
        const src = fs.mkdtempSync(path.join(os.tmpdir(), "bx-src-"));
        fs.mkdirSync(path.join(src, "mysql"));
        fs.writeFileSync(path.join(src, "ibdata1"), "copied");
        fs.writeFileSync(path.join(src, "auto.cnf"), "[auto]\nserver-uuid=c777888a-b6df-11e2-a604-080027635ef5\n");
        const script = s.split("/var/tmp/bitrix-cluster-copy").join(copy).split("/var/lib/mysql").join(data);
        const stream = spawnSync("tar", ["-C", src, "-cf", "-", "."]).stdout;
        const r = runWith(script, { xtrabackup: `cp -a "\${2#--target-dir=}/." "\${3#--datadir=}/"` }, stream);
        assert.equal(r.code, 0, r.stderr);
        for (const f of ["ibdata1", "mysql", INITIALIZED_MARKER]) {
            const st = fs.statSync(path.join(data, f));
            assert.deepEqual([st.uid, st.gid], [1001, 1001], f);
        }
        assert.ok(!fs.existsSync(path.join(data, "auto.cnf")), "each server makes its own server_uuid");
        for (const d of [copy, data, src]) fs.rmSync(d, { recursive: true, force: true });
    });

    it("leaves the restore-failed marker (and no mysql/, so the Percona entrypoint's --initialize refuses it) when the copy-back fails", () => {
        const copy = fs.mkdtempSync(path.join(os.tmpdir(), "bx-copy-"));
        const data = fs.mkdtempSync(path.join(os.tmpdir(), "bx-data-"));
        fs.mkdirSync(path.join(data, "mysql"));
        const script = copyBackScript("percona")
            .split("'/var/tmp/bitrix-cluster-copy'")
            .join(`'${copy}'`)
            .split("/var/lib/mysql")
            .join(data);
        const stream = spawnSync("tar", ["-C", copy, "-cf", "-", "."]).stdout;
        const r = runWith(script, { xtrabackup: 'echo "Original data directory is not empty!"; exit 1' }, stream);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /Original data directory/);
        assert.deepEqual(fs.readdirSync(data), [RESTORE_FAILED_MARKER]);
        fs.rmSync(copy, { recursive: true, force: true });
        fs.rmSync(data, { recursive: true, force: true });
    });

    it("keeps MariaDB's scripts as they were: mariadb-backup, chown to mysql:mysql, no XtraBackup container", () => {
        const s = copyBackScript("mariadb");
        assert.match(s, /^chown -R mysql:mysql '\/var\/lib\/mysql'$/m);
        assert.ok(!s.includes("xtrabackup") && !s.includes("owner=") && !s.includes("auto.cnf"));
        assert.ok(!containerBackupScript("mariadb", "/tmp/w").includes("xtrabackup"));
    });
});
