import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { parseTarget } from "../../../tools/backup/pitr";
import { groupSources, pitrBaseSnapshot, replayReadScript } from "../../../tools/backup/pitrRun";
import type { FollowReplayPlan } from "../../../tools/backup/pitrFollowReplay";

describe("point-in-time restore: what it picks and runs", () => {
    const snap = (id: string, time: string, stack = "prod") => ({ short_id: id, time, tags: ["bitrix-cluster", `stack=${stack}`] });
    const list = [snap("mon", "2026-12-01T02:30:00Z"), snap("tue", "2026-12-02T02:30:00Z"), snap("stg", "2026-12-02T03:00:00Z", "stg")];

    it("starts from the stack's newest backup before the target time, or its newest for a GTID", () => {
        assert.equal(pitrBaseSnapshot(list, "prod", parseTarget("mariadb", "--to", "2026-12-02 02:29:59")), "mon");
        assert.equal(pitrBaseSnapshot(list, "prod", parseTarget("mariadb", "--to", "2026-12-02 12:00:00")), "tue");
        assert.equal(pitrBaseSnapshot(list, "prod", parseTarget("mariadb", "--to-gtid", "0-1-99")), "tue");
        assert.throws(
            () => pitrBaseSnapshot(list, "prod", parseTarget("mariadb", "--to", "2026-11-30 00:00:00")),
            /no backup taken before 2026-11-30 00:00:00 UTC/,
        );
        assert.throws(() => pitrBaseSnapshot(list, "other", parseTarget("mariadb", "--to-gtid", "0-1-99")), /stack other has no backup/);
    });

    it("groups the streamer's files by source, in order, leaving out what is not a source or a binlog", () => {
        const listing = [
            "2-20261203T090000Z/binlog.000002",
            "1-20261203T080000Z/binlog.000010",
            "1-20261203T080000Z/binlog.000009",
            ".check/binlog.000009",
            "2-20261203T090000Z/binlog.index",
            "junk/binlog.000001",
            "",
        ].join("\n");
        assert.deepEqual(groupSources(listing), [
            { name: "1-20261203T080000Z", files: ["binlog.000009", "binlog.000010"] },
            { name: "2-20261203T090000Z", files: ["binlog.000002"] },
        ]);
    });

    it("reads each segment in order in UTC through the GTID filter, with --database for a dump's base", () => {
        const plan = {
            readers: [
                ["mariadb-binlog", "--start-position=0-1-5", "--stop-position=0-1-9", "/b/1-x/binlog.000001"],
                ["mariadb-binlog", "--start-position=0-1-9", "--stop-position=0-2-12", "/b/2-y/binlog.000001"],
            ],
        } as unknown as FollowReplayPlan;
        const all = replayReadScript(plan);
        assert.match(all, /^export TZ=UTC$/m);
        assert.match(
            all,
            /^\{ 'mariadb-binlog' '--start-position=0-1-5' '--stop-position=0-1-9' '\/b\/1-x\/binlog\.000001'; 'mariadb-binlog' '--start-position=0-1-9'.*; \} \| 'sed' '-E' /m,
        );
        assert.match(replayReadScript(plan, "bitrix"), /'mariadb-binlog' '--database=bitrix' '--start-position=0-1-5'/);
        assert.doesNotMatch(all, /--database/);
        assert.throws(() => replayReadScript(plan, "bitrix; DROP"), /invalid database name/);
    });
});
