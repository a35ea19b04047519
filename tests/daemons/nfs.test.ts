/**
 * The generated ganesha.conf in Debian's nfs-ganesha on loopback, read and written with libnfs's userspace
 * client (no kernel NFS on these machines): every shared path is exported, files written by a client land in
 * the export owned by www-data.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { ganeshaConfig, nfsExports } from "../../components/nfs/ganeshaConfig";
import { Daemons, portOpen, requireBinary, run, tmpDir, waitFor, write } from "../helpers/daemons";
import { entrypointOf } from "../helpers/stack";

const ENTRYPOINT = entrypointOf("nfs");
const url = (pseudo: string) => `nfs://127.0.0.1${pseudo}?version=4`;

describe("nfs: generated ganesha.conf in nfs-ganesha", () => {
    const daemons = new Daemons();
    const root = tmpDir("nfs");
    const shared = nfsExports(["upload", "bitrix/cache"], path.join(root, "srv"));

    before(async () => {
        const ganesha = requireBinary("ganesha.nfsd");
        requireBinary("nfs-cp");
        assert.equal(await portOpen(2049), false, "port 2049 is taken: another NFS server runs on this machine");
        for (const e of shared) fs.mkdirSync(e.directory, { recursive: true });
        const conf = write(
            path.join(root, "ganesha.conf"),
            ganeshaConfig({ exports: shared, clients: ["127.0.0.1/32"], anonUid: 33, anonGid: 33 }),
        );
        // Through the image's entrypoint, which hands the export roots to www-data before the server starts.
        daemons.start(
            "ganesha",
            "sh",
            [ENTRYPOINT, ganesha, "-F", "-L", path.join(root, "ganesha.log"), "-p", path.join(root, "ganesha.pid"), "-f", conf],
            { NFS_EXPORT_ROOT: path.join(root, "srv") },
        );
        await waitFor("ganesha on 2049", () => portOpen(2049), 20000);
    });

    after(() => daemons.stopAll());

    it("exports every shared path, and a file written through one export is read back through NFS", () => {
        const local = path.join(root, "hello.txt");
        fs.writeFileSync(local, "uploaded through NFS\n");
        assert.match(run("nfs-cp", [local, url("/bitrix/upload/hello.txt")]), /copied 21 bytes/);
        assert.equal(run("nfs-cat", [url("/bitrix/upload/hello.txt")]), "uploaded through NFS\n");
        assert.match(run("nfs-ls", [url("/bitrix/upload")]), /hello\.txt/);
        fs.writeFileSync(path.join(shared[1].directory, "styles.css"), "body{}\n");
        assert.equal(run("nfs-cat", [url("/bitrix/bitrix/cache/styles.css")]), "body{}\n");
    });

    it("hands the export roots to www-data at start", () => {
        for (const e of shared) {
            const st = fs.statSync(e.directory);
            assert.equal(st.uid, 33, e.directory);
            assert.equal(st.mode & 0o7777, 0o2775);
        }
    });

    it("stores client writes as www-data (all_squash), whatever uid the client sends", () => {
        const stat = fs.statSync(path.join(shared[0].directory, "hello.txt"));
        assert.equal(stat.uid, 33);
        assert.equal(stat.gid, 33);
    });

    it("answers nothing outside the exports", () => {
        assert.throws(() => run("nfs-cat", [url("/etc/passwd")]));
    });
});
