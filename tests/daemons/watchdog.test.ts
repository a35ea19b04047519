/**
 * The shared-storage watchdog as it runs on a web node (root, from supervisord) over trees the web user owns: a marker
 * that www-data replaced by a symlink must not make root create or read the file it points to.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { MARKER_FILE, watchdogScript } from "../../components/web/watchdog";
import { Daemons, run, tmpDir, waitFor, write } from "../helpers/daemons";

describe("shared-storage watchdog: runs as root, probes as the web user", () => {
    const daemons = new Daemons();
    const root = tmpDir("watchdog");
    after(() => daemons.stopAll());

    it("beats while the trees answer, and follows no symlink the web user planted", async () => {
        fs.chmodSync(root, 0o755);
        const upload = path.join(root, "www", "upload");
        const cache = path.join(root, "www", "cache");
        for (const d of [upload, cache]) fs.mkdirSync(d, { recursive: true });
        run("chown", ["-R", "www-data:www-data", path.join(root, "www")]);
        // A place only root can write, and a symlink to a file there that does not exist yet.
        const rootOnly = path.join(root, "root-only");
        fs.mkdirSync(rootOnly, { mode: 0o700 });
        const target = path.join(rootOnly, "created-by-watchdog");
        fs.symlinkSync(target, path.join(cache, MARKER_FILE));
        run("chown", ["-h", "www-data:www-data", path.join(cache, MARKER_FILE)]);
        const heartbeat = path.join(root, "run", "shared-ok");
        const script = write(
            path.join(root, "watchdog.sh"),
            watchdogScript({
                directories: [upload, cache],
                heartbeatFile: heartbeat,
                intervalS: 1,
                probeTimeoutS: 2,
                probeUser: "www-data",
            }),
            0o755,
        );
        daemons.start("watchdog", script, []);
        // Two rounds of probes.
        await waitFor("the first round", () => fs.existsSync(path.join(upload, MARKER_FILE)), 10000, 100);
        await new Promise((r) => setTimeout(r, 2500));
        assert.equal(fs.existsSync(target), false, "root created the file the symlink points to");
        assert.match(daemons.log("watchdog"), /did not answer/);
        assert.equal(fs.existsSync(heartbeat), false, "a tree whose marker cannot be read is not healthy");
        // The ordinary tree got its marker, made by the web user.
        assert.equal(fs.statSync(path.join(upload, MARKER_FILE)).uid, Number(run("id", ["-u", "www-data"]).trim()));
        // Marker back in order: the heartbeat comes.
        fs.rmSync(path.join(cache, MARKER_FILE));
        await waitFor("the heartbeat", () => fs.existsSync(heartbeat), 10000, 100);
    });
});
