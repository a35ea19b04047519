import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { followSourceDirs, parseSourceIndex, sourceFiles, sourceIndexScript } from "../../../tools/backup/pitrFollow";

describe("pitr follow: sources and their index", () => {
    it("lists source subdirectories by first-seen time, and binlog files by number", () => {
        assert.deepEqual(followSourceDirs(["2-20261203T083151Z", ".check", "1-20261203T083144Z", "2-20261203T083149Z", "notes", "x-1"]), [
            "1-20261203T083144Z",
            "2-20261203T083149Z",
            "2-20261203T083151Z",
        ]);
        assert.deepEqual(sourceFiles(["binlog.000010", "binlog.index", "binlog.000009", "binlog.1000000"]), [
            "binlog.000009",
            "binlog.000010",
            "binlog.1000000",
        ]);
    });

    it("indexes a source with mariadb-binlog in UTC, keeping the GTID and Gtid list lines", () => {
        assert.equal(
            sourceIndexScript("/srv/p/2-20261203T083149Z/", ["binlog.000002", "binlog.000001"]),
            "set -euo pipefail\nTZ=UTC mariadb-binlog '/srv/p/2-20261203T083149Z/binlog.000001' '/srv/p/2-20261203T083149Z/binlog.000002' | " +
                "{ grep -E '^#[0-9]{6} .*\t(GTID [0-9]|Gtid list )' || true; }\n",
        );
        assert.throws(() => sourceIndexScript("rel", ["binlog.000001"]), /absolute path/);
        assert.throws(() => sourceIndexScript("/s", ["binlog.index"]), /not binlog files/);
    });

    it("parses the GTIDs with their UTC timestamps and the first Gtid list (output of mariadb-binlog 10.11)", () => {
        const out = [
            "#261203  8:24:38 server id 2  end_log_pos 299 CRC32 0xc3c08a10 \tGtid list [0-2-11]",
            "#261203  8:24:35 server id 1  end_log_pos 797 CRC32 0x54cc6043 \tGTID 0-1-10 cid=26 trans",
            "#261203 18:04:05 server id 2  end_log_pos 1239 CRC32 0x87bab664 \tGTID 0-2-12 trans",
            "#261203 18:04:05 server id 2  end_log_pos 1239 CRC32 0x87bab664 \tGtid list [0-2-12]",
            "#261203 18:04:06 server id 1  end_log_pos 367 CRC32 0x39b27824 \tGTID 0-1-13 ddl",
            "",
        ].join("\n");
        assert.deepEqual(parseSourceIndex("2-20261203T082400Z", ["binlog.000002", "binlog.000001"], out), {
            name: "2-20261203T082400Z",
            files: ["binlog.000001", "binlog.000002"],
            start: "0-2-11",
            gtids: [
                { gtid: "0-1-10", at: Date.UTC(2026, 11, 3, 8, 24, 35) / 1000 },
                { gtid: "0-2-12", at: Date.UTC(2026, 11, 3, 18, 4, 5) / 1000 },
                { gtid: "0-1-13", at: Date.UTC(2026, 11, 3, 18, 4, 6) / 1000 },
            ],
        });
        assert.equal(
            parseSourceIndex(
                "1-20261203T082400Z",
                ["binlog.000001"],
                "#261203  8:23:50 server id 1  end_log_pos 285 CRC32 0x4a70945d \tGtid list []\n",
            ).start,
            "",
        );
        assert.throws(() => parseSourceIndex("1-20261203T082400Z", ["binlog.000001"], ""), /no Gtid list event/);
    });
});
