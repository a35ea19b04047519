import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { MARKER_FILE, watchdogScript } from "../../../components/web/watchdog";

describe("watchdogScript", () => {
    const sh = watchdogScript({ directories: ["/var/www/html/upload", "/var/www/html/bitrix/cache"], heartbeatFile: "/run/bitrix/shared-ok", intervalS: 2, probeTimeoutS: 2 });

    it("probes every shared path with a hard time limit and touches the heartbeat only when all answer", () => {
        assert.ok(sh.startsWith("#!/bin/sh\n"));
        assert.match(sh, /for dir in '\/var\/www\/html\/upload' '\/var\/www\/html\/bitrix\/cache'; do/);
        assert.ok(sh.includes(`timeout -s KILL 2 head -c 1 "$dir/${MARKER_FILE}"`));
        assert.match(sh, /\[ "\$ok" = 1 \] && touch "\$heartbeat"/);
        assert.match(sh, /sleep 2/);
    });
});
