/**
 * The offline command plugin's remote resources against a real OpenSSH server (Debian's, in a container of this
 * test, published on 127.0.0.1:18222): commands, environment, stdin, previous output, failures, host keys, a
 * bastion hop, and SFTP copies of text, files and directories.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { checkInputs } from "../../plugins/provider";
import { copyToRemote, remoteCommand } from "../../plugins/command/remote";
import { waitFor } from "../helpers/daemons";

const NAME = "bx-plugin-test-sshd";
const PORT = 18222;
const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bx-ssh-"));
const ASSET = { "4dabf18193072939515e22adb298388d": "c44067f5952c0a294b673a41bacd8c17" };
const ARCHIVE = { "4dabf18193072939515e22adb298388d": "0def7320c3a5731c473e5ecbe6d01bc7" };

let connection: Record<string, unknown>;
const inputs = (type: typeof remoteCommand, i: Record<string, unknown>) => {
    const r = checkInputs(type, i);
    assert.deepEqual(r.failures, []);
    return r.inputs;
};
const onServer = (cmd: string) => docker("exec", NAME, "sh", "-c", cmd);

describe("offline command plugin over SSH", { timeout: 10 * 60_000 }, () => {
    before(async () => {
        fs.writeFileSync(path.join(dir, "Dockerfile"), [
            "FROM debian:bookworm-slim",
            "RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server >/dev/null" +
            " && mkdir -p /run/sshd /root/.ssh && echo 'AcceptEnv *' >> /etc/ssh/sshd_config",
            'CMD ["/usr/sbin/sshd", "-D", "-e"]',
        ].join("\n"));
        docker("build", "-q", "-t", `${NAME}:latest`, dir);
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "id")]);
        docker("rm", "-f", NAME);
        docker("run", "-d", "--name", NAME, "-p", `127.0.0.1:${PORT}:22`, `${NAME}:latest`);
        docker("cp", path.join(dir, "id.pub"), `${NAME}:/root/.ssh/authorized_keys`);
        onServer("chown root:root /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys");
        connection = { host: "127.0.0.1", port: PORT, privateKey: fs.readFileSync(path.join(dir, "id"), "utf8"), dialErrorLimit: 20 };
        await waitFor("sshd", () => remoteCommand.create(inputs(remoteCommand, { connection, create: "true" })).then(() => true, () => false), 30_000, 500);
    });

    after(() => {
        docker("rm", "-f", NAME);
    });

    it("records upstream's connection defaults and keeps the connection secret", () => {
        const i = inputs(remoteCommand, { connection: { host: "h" } });
        assert.deepEqual(i.connection, { host: "h", user: "root", port: 22, dialErrorLimit: 10, perDialTimeout: 15 });
        assert.deepEqual(remoteCommand.secretOutputs, ["connection"]);
    });

    it("runs create, update (with the previous output) and delete with the environment and stdin", async () => {
        const i = inputs(remoteCommand, {
            connection, environment: { GREETING: "hi" }, stdin: "from-stdin",
            create: "read line; echo \"$GREETING $line $(whoami)\" | tee -a /tmp/log",
            update: "echo \"update after: $PULUMI_COMMAND_STDOUT\" >> /tmp/log; echo updated",
            delete: "echo \"delete after: $PULUMI_COMMAND_STDOUT\" >> /tmp/log",
        });
        const { outs } = await remoteCommand.create(i);
        assert.deepEqual(outs, { stdout: "hi from-stdin root", stderr: "" });
        const updated = await remoteCommand.update!("id", { ...i, ...outs }, i);
        await remoteCommand.delete("id", { ...i, ...updated });
        assert.equal(onServer("cat /tmp/log"), "hi from-stdin root\nupdate after: hi from-stdin root\ndelete after: updated");
    });

    it("fails with the exit status and stderr, not stdout", async () => {
        await assert.rejects(remoteCommand.create(inputs(remoteCommand, { connection, create: "echo s3cret; echo oops >&2; exit 7" })),
            (e: Error) => /status 7: oops/.test(e.message) && !e.message.includes("s3cret"));
    });

    it("checks the host key when one is given, and refuses a wrong one without retrying", async () => {
        const hostKey = onServer("cat /etc/ssh/ssh_host_ed25519_key.pub");
        assert.equal((await remoteCommand.create(inputs(remoteCommand, { connection: { ...connection, hostKey }, create: "echo ok" }))).outs.stdout, "ok");
        const other = fs.readFileSync(path.join(dir, "id.pub"), "utf8");
        const started = Date.now();
        await assert.rejects(remoteCommand.create(inputs(remoteCommand, { connection: { ...connection, hostKey: other }, create: "true" })), /after 1 failed attempts/);
        assert.ok(Date.now() - started < 5000);
    });

    it("reaches a host through a bastion", async () => {
        const via = { ...connection, host: "127.0.0.1", port: 22, proxy: { ...connection } };
        assert.equal((await remoteCommand.create(inputs(remoteCommand, { connection: via, create: "echo via-bastion" }))).outs.stdout, "via-bastion");
    });

    it("copies a text asset (creating parents), a file into a directory (mode kept) and directories as upstream places them", async () => {
        const text = { ...ASSET, text: "key = value\n" };
        await copyToRemote.create(inputs(copyToRemote, { connection, source: text, remotePath: "/etc/bx/new/app.conf" }));
        assert.equal(onServer("cat /etc/bx/new/app.conf"), "key = value");
        const script = path.join(dir, "run.sh");
        fs.writeFileSync(script, "#!/bin/sh\necho run\n", { mode: 0o750 });
        await copyToRemote.create(inputs(copyToRemote, { connection, source: { ...ASSET, path: script }, remotePath: "/etc/bx" }));
        assert.equal(onServer("stat -c %a /etc/bx/run.sh && /etc/bx/run.sh"), "750\nrun");
        const tree = path.join(dir, "tree");
        fs.mkdirSync(path.join(tree, "sub"), { recursive: true });
        fs.writeFileSync(path.join(tree, "sub", "f.txt"), "f\n");
        await copyToRemote.create(inputs(copyToRemote, { connection, source: { ...ARCHIVE, path: tree }, remotePath: "/srv/a" }));
        await copyToRemote.create(inputs(copyToRemote, { connection, source: { ...ARCHIVE, path: `${tree}/` }, remotePath: "/srv/b" }));
        assert.equal(onServer("cat /srv/a/tree/sub/f.txt /srv/b/sub/f.txt"), "f\nf");
        await assert.rejects(copyToRemote.create(inputs(copyToRemote, { connection, source: text, remotePath: "/etc/bx" })), /is a directory/);
    });

    it("copies again only when the source or the remote path changes", async () => {
        const olds = inputs(copyToRemote, { connection, source: { ...ASSET, text: "v1" }, remotePath: "/tmp/c.txt" });
        await copyToRemote.create(olds);
        onServer("echo tampered > /tmp/c.txt");
        await copyToRemote.update!("id", olds, olds);
        assert.equal(onServer("cat /tmp/c.txt"), "tampered");
        await copyToRemote.update!("id", olds, { ...olds, source: { ...ASSET, text: "v2" } });
        assert.equal(onServer("cat /tmp/c.txt"), "v2");
    });

    it("refuses sources it does not implement", () => {
        const r = checkInputs(copyToRemote, { connection, source: { ...ARCHIVE, assets: {} }, remotePath: "/x" });
        assert.match(r.failures![0].reason, /only StringAsset, FileAsset and FileArchive of a directory/);
    });
});
