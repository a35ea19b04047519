/**
 * The offline command plugin's remote resources against a real OpenSSH server (Debian's, in a container of this
 * test, published on 127.0.0.1:18222): commands, environment, stdin, previous output, failures, host keys, a
 * bastion hop, and SFTP copies of text, files and directories.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { checkInputs } from "../../plugins/provider";
import { copyToRemote, remoteCommand } from "../../plugins/command/remote";
import { archive, asset } from "../../plugins/values";
import { waitFor } from "../helpers/daemons";
import { checked as inputs } from "../helpers/plugin";
import { SshServer, startSshServer } from "../helpers/sshServer";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bx-ssh-"));
let server: SshServer;
let connection: Record<string, unknown>;
const onServer = (cmd: string) => server.exec(cmd);

describe("offline command plugin over SSH", { timeout: 10 * 60_000 }, () => {
    before(async () => {
        server = startSshServer({ name: "bx-plugin-test-sshd", fixture: "sshd", port: 18222 });
        connection = server.connection;
        await waitFor("sshd", () => remoteCommand.create(inputs(remoteCommand, { connection, create: "true" })).then(() => true, () => false), 30_000, 500);
    });

    after(() => server.remove());

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
        const other = server.publicKey;
        const started = Date.now();
        await assert.rejects(remoteCommand.create(inputs(remoteCommand, { connection: { ...connection, hostKey: other }, create: "true" })), /after 1 failed attempts/);
        assert.ok(Date.now() - started < 5000);
    });

    it("reaches a host through a bastion", async () => {
        const via = { ...connection, host: "127.0.0.1", port: 22, proxy: { ...connection } };
        assert.equal((await remoteCommand.create(inputs(remoteCommand, { connection: via, create: "echo via-bastion" }))).outs.stdout, "via-bastion");
    });

    it("copies a text asset (creating parents), a file into a directory (mode kept) and directories as upstream places them", async () => {
        const text = asset({ text: "key = value\n" });
        await copyToRemote.create(inputs(copyToRemote, { connection, source: text, remotePath: "/etc/bx/new/app.conf" }));
        assert.equal(onServer("cat /etc/bx/new/app.conf"), "key = value");
        const script = path.join(dir, "run.sh");
        fs.writeFileSync(script, "#!/bin/sh\necho run\n", { mode: 0o750 });
        await copyToRemote.create(inputs(copyToRemote, { connection, source: asset({ path: script }), remotePath: "/etc/bx" }));
        assert.equal(onServer("stat -c %a /etc/bx/run.sh && /etc/bx/run.sh"), "750\nrun");
        const tree = path.join(dir, "tree");
        fs.mkdirSync(path.join(tree, "sub"), { recursive: true });
        fs.writeFileSync(path.join(tree, "sub", "f.txt"), "f\n");
        await copyToRemote.create(inputs(copyToRemote, { connection, source: archive({ path: tree }), remotePath: "/srv/a" }));
        await copyToRemote.create(inputs(copyToRemote, { connection, source: archive({ path: `${tree}/` }), remotePath: "/srv/b" }));
        assert.equal(onServer("cat /srv/a/tree/sub/f.txt /srv/b/sub/f.txt"), "f\nf");
        await assert.rejects(copyToRemote.create(inputs(copyToRemote, { connection, source: text, remotePath: "/etc/bx" })), /is a directory/);
    });

    it("copies again only when the source or the remote path changes", async () => {
        const olds = inputs(copyToRemote, { connection, source: asset({ text: "v1" }), remotePath: "/tmp/c.txt" });
        await copyToRemote.create(olds);
        onServer("echo tampered > /tmp/c.txt");
        await copyToRemote.update!("id", olds, olds);
        assert.equal(onServer("cat /tmp/c.txt"), "tampered");
        await copyToRemote.update!("id", olds, { ...olds, source: asset({ text: "v2" }) });
        assert.equal(onServer("cat /tmp/c.txt"), "v2");
    });

    it("refuses sources it does not implement", () => {
        const r = checkInputs(copyToRemote, { connection, source: archive({ assets: {} }), remotePath: "/x" });
        assert.match(r.failures![0].reason, /only StringAsset, FileAsset and FileArchive of a directory/);
    });
});
