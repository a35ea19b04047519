import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { ganeshaConfig, nfsExports, nfsMountOptions, sharedSlug } from "../../../components/nfs/ganeshaConfig";

describe("nfsExports", () => {
    it("gives every shared path its own directory and pseudo path", () => {
        assert.deepEqual(nfsExports(["upload", "bitrix/cache"]), [
            { sharedPath: "upload", directory: "/srv/nfs/upload", pseudo: "/bitrix/upload" },
            { sharedPath: "bitrix/cache", directory: "/srv/nfs/bitrix-cache", pseudo: "/bitrix/bitrix/cache" },
        ]);
        assert.equal(sharedSlug("a/b/c"), "a-b-c");
    });
});

describe("ganeshaConfig", () => {
    const cfg = ganeshaConfig({ exports: nfsExports(["upload", "bitrix/cache"]), clients: ["172.28.0.0/24"], anonUid: 33, anonGid: 33 });

    it("serves NFSv4 over TCP only, without rpcbind services, and skips the grace period", () => {
        for (const line of [
            "Protocols = 4;",
            "Enable_NLM = false;",
            "Enable_RQUOTA = false;",
            "Enable_UDP = false;",
            "Graceless = true;",
        ]) {
            assert.ok(cfg.includes(line), line);
        }
    });

    it("exports each path with a unique id, VFS backend and read-write access for the cluster network only", () => {
        assert.equal(cfg.match(/EXPORT \{/g)?.length, 2);
        assert.match(cfg, /Export_Id = 1;\n\s+Path = "\/srv\/nfs\/upload";\n\s+Pseudo = "\/bitrix\/upload";/);
        assert.match(cfg, /Export_Id = 2;\n\s+Path = "\/srv\/nfs\/bitrix-cache";/);
        assert.equal(cfg.match(/Name = VFS;/g)?.length, 2);
        assert.equal(cfg.match(/Clients = 172\.28\.0\.0\/24;/g)?.length, 2);
        assert.equal(cfg.match(/Access_Type = NONE;/g)?.length, 2, "nobody outside the CLIENT block");
        assert.match(cfg, /Anonymous_Uid = 33;/);
    });
});

describe("nfsMountOptions", () => {
    it("fails a dead server's requests with an error instead of hanging, and skips atime writes", () => {
        const opts = nfsMountOptions().split(",");
        for (const o of ["soft", "timeo=30", "retrans=2", "noatime", "nodiratime", "proto=tcp", "nfsvers=4.1"])
            assert.ok(opts.includes(o), o);
        assert.ok(!opts.includes("hard"));
        assert.ok(nfsMountOptions({ timeoutS: 5, retransmissions: 1 }).includes("timeo=50,retrans=1"));
    });
});
