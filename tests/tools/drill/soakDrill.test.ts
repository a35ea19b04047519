import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { DB_MANAGER_EVENT, SENTINEL_EVENT, SENTINEL_NEAR_MISS, webDownCounts } from "../../../tools/drill/soakDrill";

/** A balancer's status CSV as HAProxy 2.6 (Debian 12) writes it, captured from a dev stack; counts edited. */
const CSV = fs.readFileSync(path.join(__dirname, "../../../../tests/fixtures/haproxy/stats.csv"), "utf8");

describe("soak drill: what counts as a detector acting", () => {
    it("reads each web server's chkdown by the column's name in the header, not the backend row", () => {
        assert.deepEqual(webDownCounts(CSV), { "web-1": 2, "web-2": 0 });
    });

    it("refuses a CSV without the columns it reads", () => {
        assert.throws(() => webDownCounts("pxname,status\nweb,UP\n"), /status CSV: no svname column/);
    });

    it("counts Sentinel's failover and new-master events, not its routine lines (redis-sentinel 7.0 log lines)", () => {
        const events = [
            "16:X 02 Dec 2026 10:55:58.167 # +try-failover master bitrix bx-dev-redis-1 6379",
            "16:X 02 Dec 2026 10:55:58.246 # +elected-leader master bitrix bx-dev-redis-1 6379",
            "15:X 02 Dec 2026 10:55:59.227 # +odown master bitrix bx-dev-redis-1 6379 #quorum 3/2",
            "16:X 02 Dec 2026 10:56:00.329 # +switch-master bitrix bx-dev-redis-1 6379 bx-dev-redis-2 6379",
            "16:X 02 Dec 2026 10:55:27.876 # -odown master bitrix bx-dev-redis-3 6379",
        ];
        // One sentinel alone: a near miss, not a failover (a starved sentinel during a soak run saw all of these at once).
        const nearMisses = [
            "16:X 02 Dec 2026 11:02:44.988 # +sdown slave bx-dev-redis-3:6379 bx-dev-redis-3 6379 @ bitrix bx-dev-redis-2 6379",
            "16:X 02 Dec 2026 11:02:45.111 # +sdown sentinel beb2a217 bx-dev-sentinel-3 26379 @ bitrix bx-dev-redis-2 6379",
            "16:X 02 Dec 2026 11:02:45.328 # +sdown master bitrix bx-dev-redis-2 6379",
            "16:X 02 Dec 2026 11:02:45.711 # -sdown master bitrix bx-dev-redis-2 6379",
        ];
        const routine = [
            "15:X 02 Dec 2026 10:48:34.582 * +sentinel sentinel 295be71d bx-dev-sentinel-2 26379 @ bitrix bx-dev-redis-1 6379",
            "15:X 02 Dec 2026 10:48:32.957 * Sentinel new configuration saved on disk",
            "15:X 02 Dec 2026 10:48:30.100 # +monitor master bitrix bx-dev-redis-1 6379 quorum 2",
            "15:X 02 Dec 2026 10:56:10.000 * +slave slave bx-dev-redis-1:6379 bx-dev-redis-1 6379 @ bitrix bx-dev-redis-2 6379",
        ];
        assert.deepEqual(
            events.filter((l) => !SENTINEL_EVENT.test(l)),
            [],
        );
        assert.deepEqual(
            [...routine, ...nearMisses].filter((l) => SENTINEL_EVENT.test(l)),
            [],
        );
        assert.deepEqual(
            nearMisses.filter((l) => !SENTINEL_NEAR_MISS.test(l)),
            [],
        );
        assert.deepEqual(
            [...routine, ...events].filter((l) => SENTINEL_NEAR_MISS.test(l)),
            [],
        );
    });

    it("counts the database failover manager's promotions and fencing, not its routine lines (images/mariadb/db-failover.py)", () => {
        const events = [
            "2026-12-02T10:56:00 db-failover: db-master unreachable for 3 checks and no replica reaches it: failing over",
            "2026-12-02T10:56:01 db-failover: promoted db-replica-1 (position 0-1-42) in place of db-master in 0.41 s",
            "2026-12-02T10:56:05 db-failover: db-master is writable besides db-replica-1: setting it read-only",
        ];
        const routine = [
            "2026-12-02T10:48:40 db-failover: watching db-master (db-master:3306), db-replica-1 (db-replica-1:3306); failover after 3 failed checks every 1 s",
            "2026-12-02T10:48:41 db-failover: b_cluster_dbnode: db-replica-1 (db-replica-1) registered as a replica of db-master",
        ];
        assert.deepEqual(
            events.filter((l) => !DB_MANAGER_EVENT.test(l)),
            [],
        );
        assert.deepEqual(
            routine.filter((l) => DB_MANAGER_EVENT.test(l)),
            [],
        );
    });
});
