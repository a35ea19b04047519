import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { backup, findSnapshotRoot, redactSecrets, sh, Tools } from "../../../tools/backup/run";

/**
 * `backup` against stand-ins for the Docker CLI and restic on PATH: the fake restic records what the stage looks like
 * while it reads it (its path, each entry's mode), so the test sees where the dump and the stack export sit on disk.
 */
describe("backup stages into a private temp dir", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "backup-run-"));
    const bin = path.join(dir, "bin");
    const record = path.join(dir, "record.txt");
    const shared = path.join(dir, "shared");
    const REPOSITORY = "sftp:backup:s3cr3t-login@backup.example.com:/srv/restic";
    const logs: string[] = [];
    const oldPath = process.env.PATH;
    // The old fixed stage, pre-created by someone else: backup must not use it.
    const fixed = path.join(os.tmpdir(), "bitrix-cluster-backup", "runtest");
    let result: ReturnType<typeof backup>;

    before(() => {
        fs.mkdirSync(bin);
        fs.mkdirSync(shared);
        fs.writeFileSync(path.join(shared, "a.txt"), "upload\n", { mode: 0o644 });
        fs.mkdirSync(fixed, { recursive: true });
        fs.writeFileSync(
            path.join(bin, "docker"),
            [
                "#!/bin/bash",
                'case "$*" in',
                '  *read_only*) case "$3" in *master*) echo 0 ;; *) echo 1 ;; esac ;;',
                "  *mariadb-dump*) printf -- \"-- SET GLOBAL gtid_slave_pos='0-1-42';\\nCREATE TABLE t (id INT);\\n\" ;;",
                `  *tar*) tar -C ${shared} -cf - . ;;`,
                "  *) exit 3 ;;",
                "esac",
                "",
            ].join("\n"),
            { mode: 0o755 },
        );
        fs.writeFileSync(
            path.join(bin, "restic"),
            [
                "#!/bin/bash",
                'case "$1" in',
                "  cat) exit 1 ;;",
                "  init|forget) exit 0 ;;",
                `  backup) stage="\${@: -1}"; { echo "stage $stage"; find "$stage" -printf '%m %y %P\\n'; } > ${record}; echo '{"message_type":"summary","snapshot_id":"abc123"}' ;;`,
                "esac",
                "",
            ].join("\n"),
            { mode: 0o755 },
        );
        process.env.PATH = `${bin}:${oldPath}`;
        const outputs = {
            placement: "docker",
            namePrefix: "bx-rt",
            dbEngine: "mariadb",
            dbName: "bitrix",
            dbMaster: "bx-rt-db-master:3306",
            dbReplicas: ["bx-rt-db-replica-1:3306"],
            sharedDirs: { upload: "/srv/nfs/upload" },
        };
        const tools: Tools = {
            pulumi: (args) => (args[1] === "output" ? JSON.stringify(outputs) : '{"deployment":{"secrets_providers":{}}}'),
            env: { ...process.env, RESTIC_REPOSITORY: REPOSITORY, RESTIC_PASSWORD: "x" },
            log: (line) => logs.push(line),
            configFile: path.join(dir, "none.yaml"),
        };
        result = backup("runtest", "7d", tools);
    });

    after(() => {
        process.env.PATH = oldPath;
        fs.rmSync(dir, { recursive: true, force: true });
        fs.rmSync(fixed, { recursive: true, force: true });
    });

    const staged = () => fs.readFileSync(record, "utf8").trim().split("\n");

    it("uses a new directory of its own under the temp dir, not a fixed path another user can create, and removes it", () => {
        assert.equal(result.snapshot, "abc123");
        const stage = staged()[0].replace(/^stage /, "");
        assert.notEqual(stage, fixed);
        assert.equal(path.dirname(stage), os.tmpdir());
        assert.match(path.basename(stage), /^bitrix-cluster-backup-[A-Za-z0-9]{6}$/);
        assert.equal(fs.existsSync(stage), false);
    });

    it("keeps the stage 0700 and every file it writes 0600 (the dump and the stack export included)", () => {
        const entries = staged()
            .slice(1)
            .map((l) => l.split(" "));
        const mode = (name: string) => entries.find(([, , n]) => n === name)?.[0];
        for (const d of ["", "db", "config", "shared"]) assert.equal(mode(d), "700", `${d || "the stage"}: ${mode(d)}`);
        for (const f of ["db/bitrix.sql", "config/stack-state.json", "config/Pulumi.yaml", "manifest.json"])
            assert.equal(mode(f), "600", `${f}: ${mode(f)}`);
        // Shared files keep their modes from the NFS server, so a restore puts them back as they were; the stage keeps others out.
        assert.equal(mode("shared/upload/a.txt"), "644");
    });

    it("never logs the repository, which can carry a login", () => {
        assert.ok(
            logs.some((l) => /initialising the restic repository/.test(l)),
            logs.join("\n"),
        );
        for (const l of logs) assert.doesNotMatch(l, /s3cr3t|backup\.example\.com|sftp:/, l);
    });
});

describe("findSnapshotRoot", () => {
    it("finds the staged tree in a restored snapshot, from a private stage or the old fixed one", () => {
        const target = fs.mkdtempSync(path.join(os.tmpdir(), "restore-"));
        for (const stage of ["tmp/bitrix-cluster-backup-Ab12Cd", "var/tmp/bitrix-cluster-backup/prod"]) {
            fs.mkdirSync(path.join(target, stage), { recursive: true });
            fs.writeFileSync(path.join(target, stage, "manifest.json"), "{}");
            assert.equal(findSnapshotRoot(target), path.join(target, stage));
            fs.rmSync(path.join(target, stage.split("/")[0]), { recursive: true });
        }
        assert.throws(() => findSnapshotRoot(target), /no manifest\.json/);
        fs.rmSync(target, { recursive: true });
    });
});

describe("a failing backup command", () => {
    it("names neither the repository nor the password in its error", () => {
        const env = {
            ...process.env,
            RESTIC_REPOSITORY: "sftp:backup:pa55@backup.example.com:/srv/restic",
            RESTIC_PASSWORD: "restic-pw-1234",
        };
        assert.throws(
            () => sh('echo "Fatal: unable to open repository at $RESTIC_REPOSITORY (password $RESTIC_PASSWORD)" >&2; exit 1', env),
            (e: Error) => {
                assert.doesNotMatch(e.message, /pa55|restic-pw-1234/);
                assert.match(e.message, /unable to open repository at <backupRepository> \(password <restic password>\)/);
                return true;
            },
        );
        assert.equal(redactSecrets("no secrets here", env), "no secrets here");
    });
});
