import { installMocks, ofType, recorded, secretOf, settle, valueOf } from "../helpers/pulumiMocks";
installMocks();

import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { BitrixCluster } from "../../components/cluster";
import { validateClusterConfig } from "../../components/config/validate";
import { RecordingPlacement } from "../helpers/recordingPlacement";

const config = (raw: Record<string, unknown>) => validateClusterConfig(raw, { namespace: "bitrix-cluster", stack: "test" });

describe("BitrixCluster over the placement seam", () => {
    const placement = new RecordingPlacement();
    const cluster = new BitrixCluster("c1", {
        config: config({ webNodes: 3, dbReplicas: 2, redisReplicas: 2, sentinels: 5, dbEngine: "mariadb", webWeights: [1, 2, 3] }),
        placement,
    });
    const services = () => placement.specs.map((s) => s.service).sort();

    it("deploys N web nodes, a master and M replicas, Redis nodes and the sentinels, one NFS server and one balancer", async () => {
        await settle();
        assert.deepEqual(services(), [
            "balancer", "db-master", "db-replica-1", "db-replica-2", "nfs", "redis-1", "redis-2", "redis-3",
            "sentinel-1", "sentinel-2", "sentinel-3", "sentinel-4", "sentinel-5", "web-1", "web-2", "web-3",
        ]);
    });

    it("puts N upstream entries with their weights in the balancer config", async () => {
        const cfg = await valueOf(placement.file("balancer", "/etc/haproxy/haproxy.cfg"));
        assert.equal(cfg.match(/^\s+server web-\d /gm)?.length, 3);
        assert.match(cfg, /server web-3 t-web-3:80 weight 3/);
    });

    it("parents every service to its layer component, and the layers to the cluster", () => {
        const typeOf = (service: string) => (placement.spec(service) as any).parent.__pulumiType;
        assert.equal(typeOf("balancer"), "bitrix:cluster:Balancer");
        assert.equal(typeOf("web-2"), "bitrix:cluster:WebNode");
        assert.equal(typeOf("nfs"), "bitrix:cluster:NfsServer");
        assert.equal(typeOf("db-replica-2"), "bitrix:cluster:Database");
        assert.equal(typeOf("sentinel-4"), "bitrix:cluster:RedisSentinel");
        for (const s of placement.specs) {
            assert.ok(s.resourceName.startsWith("c1-"), `${s.resourceName} derives from the cluster's name`);
        }
    });

    it("wires the web nodes to the master, spreads reads over the replicas and sends Redis to the local proxy", async () => {
        const s1 = await valueOf(placement.file("web-1", "/var/www/html/bitrix/.settings.php"));
        const s2 = await valueOf(placement.file("web-2", "/var/www/html/bitrix/.settings.php"));
        const s3 = await valueOf(placement.file("web-3", "/var/www/html/bitrix/.settings.php"));
        for (const s of [s1, s2, s3]) assert.match(s, /'host' => 't-db-master:3306'/);
        assert.match(s1, /'host' => 't-db-replica-1:3306'/);
        assert.match(s2, /'host' => 't-db-replica-2:3306'/);
        assert.match(s3, /'host' => 't-db-replica-1:3306'/);
        const proxy = await valueOf(placement.file("web-1", "/etc/haproxy/redis-proxy.cfg"));
        assert.equal(proxy.match(/server redis-\d t-redis-\d:6379/g)?.length, 3);
    });

    it("replicas attach to the master and the sentinels watch redis-1 with the majority quorum", async () => {
        const sql = await valueOf(placement.file("db-replica-2", "/docker-entrypoint-initdb.d/10-bitrix-replica.sql"));
        assert.match(sql, /MASTER_HOST = 't-db-master'/);
        const sentinel = await valueOf(placement.file("sentinel-5", "/etc/redis/bitrix/sentinel.conf"));
        assert.match(sentinel, /sentinel monitor bitrix t-redis-1 6379 3/);
        const redis3 = await valueOf(placement.file("redis-3", "/etc/redis/bitrix/redis.conf"));
        assert.match(redis3, /^replicaof t-redis-1 6379$/m);
    });

    it("marks every file that holds a password secret, and keeps the others readable in previews", async () => {
        const secret = [
            ["web-1", "/var/www/html/bitrix/.settings.php"], ["web-1", "/etc/php/8.2/fpm/conf.d/99-bitrix.ini"],
            ["web-1", "/etc/haproxy/redis-proxy.cfg"], ["db-master", "/docker-entrypoint-initdb.d/10-bitrix-master.sql"],
            ["db-replica-1", "/docker-entrypoint-initdb.d/10-bitrix-replica.sql"], ["redis-1", "/etc/redis/bitrix/redis.conf"],
            ["sentinel-1", "/etc/redis/bitrix/sentinel.conf"], ["redis-2", "/etc/redis/bitrix/redis.env"],
        ];
        for (const [service, path] of secret) assert.equal(await secretOf(placement.file(service, path)), true, `${service}:${path}`);
        const plain = [
            ["balancer", "/etc/haproxy/haproxy.cfg"], ["web-1", "/etc/nginx/sites-enabled/bitrix.conf"],
            ["web-1", "/var/www/html/healthz.php"], ["db-master", "/etc/mysql/mariadb.conf.d/90-bitrix.cnf"],
            ["nfs", "/etc/ganesha/ganesha.conf"],
        ];
        for (const [service, path] of plain) assert.equal(await secretOf(placement.file(service, path)), false, `${service}:${path}`);
        assert.equal(await secretOf(placement.spec("db-master").env!.MARIADB_ROOT_PASSWORD), true);
        assert.equal(await secretOf(cluster.dbPassword), true);
    });

    it("makes four random passwords when config has no secrets", async () => {
        await settle();
        const names = ofType("random:index/randomPassword:RandomPassword").map((r) => r.name).filter((n) => n.startsWith("c1-")).sort();
        assert.deepEqual(names, ["c1-db-password", "c1-db-replication-password", "c1-db-root-password", "c1-redis-password"]);
        const pw = ofType("random:index/randomPassword:RandomPassword").find((r) => r.name === "c1-db-password")!;
        assert.equal(pw.inputs.length, 32);
        assert.equal(pw.inputs.special, false);
    });

    it("exports every shared path from the NFS server as www-data", async () => {
        const ganesha = await valueOf(placement.file("nfs", "/etc/ganesha/ganesha.conf"));
        assert.equal(ganesha.match(/Anonymous_Uid = 33;/g)?.length, 2);
        assert.deepEqual(placement.spec("nfs").volumes!.map((v) => v.path), ["/srv/nfs/upload", "/srv/nfs/bitrix-cache"]);
        assert.equal(placement.spec("nfs").fixedAddress, true);
    });

    it("exports the endpoints", () => {
        // Where clients reach the balancer is the placement's answer (published ports on Docker, own ports on hosts).
        assert.equal(cluster.url, "https://public-balancer:8443/");
        assert.equal(cluster.statusUrl, "http://public-balancer:8404/");
        assert.equal(cluster.dbMaster, "t-db-master:3306");
        assert.deepEqual(cluster.dbReplicas, ["t-db-replica-1:3306", "t-db-replica-2:3306"]);
        assert.equal(cluster.sentinels.length, 5);
        assert.deepEqual(cluster.webNodes, ["t-web-1", "t-web-2", "t-web-3"]);
        assert.deepEqual(cluster.nfsExports, ["10.9.0.10:/bitrix/upload", "10.9.0.10:/bitrix/bitrix/cache"]);
    });
});

describe("BitrixCluster with config secrets", () => {
    const placement = new RecordingPlacement();
    new BitrixCluster("c2", {
        config: config({ dbPassword: pulumi.secret("from-config"), redisPassword: pulumi.secret("redis-from-config") }),
        placement,
    });

    it("uses the config secrets instead of random passwords", async () => {
        await settle();
        const names = ofType("random:index/randomPassword:RandomPassword").map((r) => r.name).filter((n) => n.startsWith("c2-")).sort();
        assert.deepEqual(names, ["c2-db-replication-password", "c2-db-root-password"]);
        const settings = await valueOf(placement.file("web-1", "/var/www/html/bitrix/.settings.php"));
        assert.match(settings, /'password' => 'from-config'/);
        assert.match(settings, /'password' => 'redis-from-config'/);
    });

    it("defaults to the Percona image and its config directory", () => {
        const master = placement.spec("db-master");
        assert.deepEqual(master.image, { pull: "percona/percona-server:8.0.36-28" });
        assert.ok(master.files.some((f) => f.path === "/etc/my.cnf.d/90-bitrix.cnf"));
        assert.ok(master.env && "MYSQL_ROOT_PASSWORD" in master.env);
    });

    it("mounts the shared paths from the NFS server by address with the soft-mount options", () => {
        const web = placement.spec("web-1");
        const upload = web.volumes!.find((v) => v.path === "/var/www/html/upload");
        assert.deepEqual(upload && { ...upload }, {
            kind: "nfs", name: "upload", path: "/var/www/html/upload", server: "10.9.0.10", exportPath: "/bitrix/upload",
            options: "nfsvers=4.1,proto=tcp,soft,timeo=30,retrans=2,noatime,nodiratime,noresvport",
        });
    });
});

describe("recorded resources", () => {
    it("are all named after their component", async () => {
        await settle();
        for (const r of recorded) assert.match(r.name, /^c[12](-|$)/);
    });
});
