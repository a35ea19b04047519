import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import {
    dbRootScript,
    hostTarget,
    knownHostsText,
    onTarget,
    readTreeScript,
    refillTreeScript,
    sshConfigText,
} from "../../../tools/backup/remote";

const KEY1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOj2Su5zRwYC/bXDXkjA0jL3dbo5b0fXLl4p8lOS+Hnv";
const KEY2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHKivGgcdhJ94pIlTolr8DW9CW3zA07zeuHnhZkZIj+N";
const KEYB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICsfusqj/WlwTJhnvJ26/d6haBtKPmS61fhAAty4WUlS";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "backup-remote-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const bash = (script: string, env: NodeJS.ProcessEnv = process.env) => execFileSync("bash", ["-c", script], { encoding: "utf8", env });

describe("commands on a container or a machine", () => {
    const nasty = `printf '%s|' "it's" '$HOME' "\\\`id\\\`" 'a b'`;

    it("gives ssh one word the remote shell splits back into the script, through sudo -n for a non-root user", () => {
        // A stand-in ssh that does what sshd does with the command: hands the joined words to the user's shell.
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin, { recursive: true });
        fs.writeFileSync(path.join(bin, "ssh"), '#!/bin/bash\necho "argc=$# alias=$3" >&2\nshift 3\nexec sh -c "$*"\n', { mode: 0o755 });
        fs.writeFileSync(path.join(bin, "sudo"), '#!/bin/bash\n[ "$1" = -n ] || exit 9\nshift\nexec "$@"\n', { mode: 0o755 });
        const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
        const root = hostTarget({ name: "db1", user: "root" });
        const deploy = hostTarget({ name: "db2", user: "deploy" });
        assert.deepEqual(root, { kind: "ssh", name: "db1", alias: "bx-host-db1", sudo: false });
        assert.equal(deploy.kind === "ssh" && deploy.sudo, true);
        for (const t of [root, deploy]) assert.equal(bash(onTarget(t, nasty, "/tmp/x/config"), env), "it's|$HOME|`id`|a b|");
        assert.match(onTarget(deploy, "true", "/tmp/x/config"), /^ssh -F '\/tmp\/x\/config' 'bx-host-db2' 'sudo -n sh -c /);
        assert.throws(() => onTarget(root, "true"), /no ssh config to reach host db1/);
        assert.equal(onTarget({ kind: "docker", name: "bx-p-nfs" }, "ls /"), "docker exec -i 'bx-p-nfs' sh -c 'ls /'");
    });

    it("logs in to the database as root: the container's own password, or the machine's unix_socket", () => {
        const argv = ["mariadb", "-e", "SELECT 'x y'"];
        assert.equal(
            dbRootScript({ kind: "docker", name: "c" }, argv),
            `MYSQL_PWD="\${MARIADB_ROOT_PASSWORD:-\${MYSQL_ROOT_PASSWORD:-}}" exec 'mariadb' '-e' 'SELECT '\\''x y'\\''' '-uroot'`,
        );
        assert.equal(dbRootScript(hostTarget({ name: "h", user: "root" }), argv), `exec 'mariadb' '-e' 'SELECT '\\''x y'\\''' '-uroot'`);
    });
});

describe("shared trees", () => {
    it("refills a tree as the web server's user, modes kept, the directory itself and links left alone", () => {
        // A root-owned mount point others may write (0777), as external storage can be: tar must not touch its mode.
        const src = path.join(dir, "src");
        const dest = path.join(dir, "dest");
        const outside = path.join(dir, "outside");
        fs.mkdirSync(path.join(src, "sub"), { recursive: true });
        fs.writeFileSync(path.join(src, "sub", "a.jpg"), "image");
        fs.chmodSync(path.join(src, "sub", "a.jpg"), 0o640);
        fs.writeFileSync(path.join(src, "b.txt"), "text");
        fs.mkdirSync(outside);
        fs.mkdirSync(dest, { mode: 0o755 });
        fs.writeFileSync(path.join(dest, "old.txt"), "gone after the refill");
        // A link the app could have planted: the refill deletes it, never writes through it.
        fs.symlinkSync(outside, path.join(dest, "sub"));
        fs.chmodSync(dest, 0o777);
        fs.chmodSync(src, 0o700);
        for (const p of [dir, outside]) fs.chmodSync(p, 0o755);
        bash(`bash -c ${JSON.stringify(readTreeScript(src))} | sh -c ${JSON.stringify(refillTreeScript(dest))}`);
        const stat = (p: string) => fs.lstatSync(path.join(dest, p));
        assert.deepEqual(fs.readdirSync(dest).sort(), ["b.txt", "sub"]);
        assert.ok(stat("sub").isDirectory(), "the link was replaced by the tree's directory");
        assert.deepEqual(fs.readdirSync(outside), [], "nothing written through the link");
        assert.equal(fs.readFileSync(path.join(dest, "sub", "a.jpg"), "utf8"), "image");
        assert.equal(stat("sub/a.jpg").mode & 0o777, 0o640);
        assert.deepEqual([stat("sub/a.jpg").uid, stat("sub/a.jpg").gid, stat("b.txt").uid], [33, 33, 33], "owned by www-data (33)");
        assert.deepEqual([fs.statSync(dest).uid, fs.statSync(dest).mode & 0o777], [0, 0o777], "the directory itself as it was");
    });

    it("refuses a directory that is not absolute, or is / or climbs", () => {
        for (const bad of ["upload", "/", "/srv/../etc", "/a\nb"]) assert.throws(() => refillTreeScript(bad), /not an absolute directory/);
        assert.throws(() => readTreeScript("rel"), /not an absolute directory/);
    });
});

describe("the ssh config of a hosts stack", () => {
    const keyFile = path.join(dir, "id");
    const knownHostsFile = path.join(dir, "known_hosts");
    const hosts = [
        { name: "h1", address: "10.0.0.11", port: 22, user: "root", hostKey: KEY1 },
        { name: "h2", address: "10.0.0.12", port: 2222, user: "deploy", hostKey: KEY2 },
        { name: "lab", address: "10.0.0.13", port: 22, user: "root" },
    ];
    const bastion = { user: "admin", host: "203.0.113.10", port: 2200, hostKey: KEYB };
    const resolved = (config: string, alias: string) => {
        const file = path.join(dir, `config-${alias}`);
        fs.writeFileSync(file, config);
        // OpenSSH's own reading of the file (ssh -G connects nowhere).
        return Object.fromEntries(
            bash(`ssh -G -F ${file} ${alias}`)
                .trim()
                .split("\n")
                .map((l) => [l.split(" ")[0], l.slice(l.indexOf(" ") + 1)]),
        );
    };

    it("reaches each host at its address, port and user through the bastion, with the stack's key and pinned keys only", () => {
        const config = sshConfigText({ hosts, bastion, insecureIgnoreHostKeys: true, keyFile, knownHostsFile });
        const h2 = resolved(config, "bx-host-h2");
        assert.equal(h2.hostname, "10.0.0.12");
        assert.equal(h2.port, "2222");
        assert.equal(h2.user, "deploy");
        assert.equal(h2.proxyjump, "bx-bastion");
        assert.equal(h2.stricthostkeychecking, "true");
        assert.equal(h2.userknownhostsfile, knownHostsFile);
        assert.equal(h2.globalknownhostsfile, "/dev/null");
        assert.equal(h2.identityfile, keyFile);
        assert.equal(h2.identitiesonly, "yes");
        assert.equal(h2.batchmode, "yes");
        const b = resolved(config, "bx-bastion");
        assert.deepEqual(
            [b.hostname, b.port, b.user, b.stricthostkeychecking, b.proxyjump],
            ["203.0.113.10", "2200", "admin", "true", undefined],
        );
        // Only where no key is pinned, and only with the lab switch, is any key accepted.
        const lab = resolved(config, "bx-host-lab");
        assert.deepEqual([lab.stricthostkeychecking, lab.userknownhostsfile], ["false", "/dev/null"]);
        assert.throws(() => sshConfigText({ hosts, insecureIgnoreHostKeys: false, keyFile, knownHostsFile }), /without a pinned hostKey/);
        const direct = resolved(
            sshConfigText({ hosts: hosts.slice(0, 2), insecureIgnoreHostKeys: false, keyFile, knownHostsFile }),
            "bx-host-h1",
        );
        assert.equal(direct.proxyjump, undefined, "no bastion: direct");
        assert.throws(
            () => sshConfigText({ hosts, insecureIgnoreHostKeys: true, keyFile: "/tmp/a b/id", knownHostsFile }),
            /characters ssh_config would split/,
        );
    });

    it("pins each host's key under the name ssh looks it up by", () => {
        fs.writeFileSync(knownHostsFile, knownHostsText({ hosts, bastion }));
        const find = (name: string) => bash(`ssh-keygen -F '${name}' -f ${knownHostsFile} | grep -v '^#' || true`).trim();
        assert.equal(find("10.0.0.11"), `10.0.0.11 ${KEY1}`);
        assert.equal(find("[10.0.0.12]:2222"), `[10.0.0.12]:2222 ${KEY2}`);
        assert.equal(find("10.0.0.12"), "", "port 2222's key is not port 22's");
        assert.equal(find("[203.0.113.10]:2200"), `[203.0.113.10]:2200 ${KEYB}`);
        assert.equal(find("10.0.0.13"), "", "no key for the host without one");
    });
});
