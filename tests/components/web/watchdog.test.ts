import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { MARKER_FILE, watchdogScript } from "../../../components/web/watchdog";

describe("watchdogScript", () => {
    const sh = watchdogScript({
        directories: ["/var/www/html/upload", "/var/www/html/bitrix/cache"],
        heartbeatFile: "/run/bitrix/shared-ok",
        intervalS: 2,
        probeTimeoutS: 2,
        probeUser: "www-data",
    });

    it("probes every shared path with a hard time limit and touches the heartbeat only when all answer", () => {
        assert.ok(sh.startsWith("#!/bin/sh\n"));
        assert.match(sh, /for dir in '\/var\/www\/html\/upload' '\/var\/www\/html\/bitrix\/cache'; do/);
        assert.ok(sh.includes(`timeout -s KILL 2 setpriv --reuid=www-data --regid=www-data --init-groups sh -c`));
        assert.ok(sh.includes(`"$dir/${MARKER_FILE}"`));
        assert.match(sh, /\[ "\$ok" = 1 \] && touch "\$heartbeat"/);
        assert.match(sh, /sleep 2/);
    });

    it("touches and reads inside the web user's trees only as that user, never as root (a planted symlink leads nowhere)", () => {
        // Every command that names the marker runs under setpriv; root only touches the heartbeat on local disk.
        const rootLines = sh.split("\n").filter((l) => l.includes(MARKER_FILE) && !l.includes("setpriv") && !/^\s*#/.test(l));
        assert.deepEqual(rootLines, []);
        assert.match(sh, /chown -h www-data: "\$dir"/);
        assert.throws(
            () => watchdogScript({ directories: [], heartbeatFile: "/h", intervalS: 1, probeTimeoutS: 1, probeUser: "a b" }),
            /not a user name/,
        );
    });
});
