import { installMocks, ofType, recorded, secretOf, settle, valueOf } from "../helpers/pulumiMocks";
installMocks();

import { strict as assert } from "node:assert";
import * as YAML from "yaml";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { BitrixCluster } from "../../components/cluster";
import { validateClusterConfig } from "../../components/config/validate";
import { RecordingPlacement } from "../helpers/recordingPlacement";

const config = (raw: Record<string, unknown>) =>
    validateClusterConfig({ adminAllowlist: ["192.0.2.0/24"], ...raw }, { namespace: "bitrix-cluster", stack: "test" });

describe("BitrixCluster over the placement seam", () => {
    const placement = new RecordingPlacement();
    const cluster = new BitrixCluster("c1", {
        config: config({ webNodes: 3, dbReplicas: 2, redisReplicas: 2, sentinels: 5, dbEngine: "mariadb", webWeights: [1, 2, 3] }),
        placement,
    });
    const services = () => placement.specs.map((s) => s.service).sort();

    it("deploys N web nodes, a master and M replicas, Redis nodes and the sentinels, one NFS server, two balancers and the monitoring service", async () => {
        await settle();
        assert.deepEqual(services(), [
            "balancer-1",
            "balancer-2",
            "db-failover",
            "db-master",
            "db-replica-1",
            "db-replica-2",
            "monitoring",
            "nfs",
            "redis-1",
            "redis-2",
            "redis-3",
            "sentinel-1",
            "sentinel-2",
            "sentinel-3",
            "sentinel-4",
            "sentinel-5",
            "web-1",
            "web-2",
            "web-3",
        ]);
    });

    it("puts N upstream entries with their weights in the balancer config", async () => {
        const cfg = await valueOf(placement.file("balancer-1", "/etc/haproxy/haproxy.cfg"));
        assert.equal(cfg.match(/^\s+server web-\d /gm)?.length, 3);
        assert.match(cfg, /server web-3 t-web-3:80 weight 3/);
    });

    it("gives both balancers the same HAProxy config and a keepalived config that names the other as its peer", async () => {
        const file = (service: string, path: string) => valueOf(placement.file(service, path));
        assert.equal(await file("balancer-2", "/etc/haproxy/haproxy.cfg"), await file("balancer-1", "/etc/haproxy/haproxy.cfg"));
        const [k1, k2] = [
            await file("balancer-1", "/etc/keepalived/keepalived.conf"),
            await file("balancer-2", "/etc/keepalived/keepalived.conf"),
        ];
        const peer = (k: string) => /unicast_peer \{\s+(\S+)\s+\}/.exec(k)![1];
        assert.equal(peer(k1), placement.addressOf("balancer-2"));
        assert.equal(peer(k2), placement.addressOf("balancer-1"));
        assert.match(k1, /priority 150/);
        assert.match(k2, /priority 140/);
        for (const k of [k1, k2]) assert.match(k, /172\.28\.0\.5\/32 dev eth0/);
        assert.deepEqual(placement.spec("balancer-1").capabilities, ["NET_ADMIN", "NET_BROADCAST", "NET_RAW"]);
        // Only the first balancer publishes the Docker host's ports.
        assert.equal(placement.spec("balancer-1").ports!.length, 3);
        assert.deepEqual(placement.spec("balancer-2").ports, []);
    });

    it("rolls web nodes one at a time: each drains for maxFails checks, and node N+1 waits for node N back in rotation", () => {
        const web = (n: number) => placement.spec(`web-${n}`);
        for (const n of [1, 2, 3]) {
            assert.deepEqual(web(n).inRotation, { server: `web-${n}`, balancers: ["balancer-1", "balancer-2"], statusPort: 8404 });
            // 3 failed checks 2 s apart, each up to 0.5 s, rounded up, + 1 s: 8 s; then 20 s for requests in flight.
            assert.equal(web(n).env?.WEB_DRAIN_S, "8");
            assert.equal(web(n).stopGraceS, 28);
        }
        assert.ok(!web(1).dependsOn!.some((d) => [...placement.gates.values()].includes(d)), "web-1 waits for no other node");
        assert.ok(web(2).dependsOn!.includes(placement.gates.get("web-1")!));
        assert.ok(web(3).dependsOn!.includes(placement.gates.get("web-2")!));
        assert.ok(!web(3).dependsOn!.includes(placement.gates.get("web-1")!));
    });

    it("parents every service to its layer component, and the layers to the cluster", () => {
        const typeOf = (service: string) => (placement.spec(service) as any).parent.__pulumiType;
        assert.equal(typeOf("balancer-2"), "bitrix:cluster:Balancer");
        assert.equal(typeOf("web-2"), "bitrix:cluster:WebNode");
        assert.equal(typeOf("nfs"), "bitrix:cluster:NfsServer");
        assert.equal(typeOf("db-replica-2"), "bitrix:cluster:Database");
        assert.equal(typeOf("sentinel-4"), "bitrix:cluster:RedisSentinel");
        for (const s of placement.specs) {
            assert.ok(s.resourceName.startsWith("c1-"), `${s.resourceName} derives from the cluster's name`);
        }
    });

    it("wires the web nodes to the master (replicas only through b_cluster_dbnode) and sends Redis to the local proxy", async () => {
        const s1 = await valueOf(placement.file("web-1", "/var/www/html/bitrix/.settings.php"));
        const s2 = await valueOf(placement.file("web-2", "/var/www/html/bitrix/.settings.php"));
        const s3 = await valueOf(placement.file("web-3", "/var/www/html/bitrix/.settings.php"));
        // Writes go through the node's local route to whichever server is writable (automatic failover is on).
        for (const s of [s1, s2, s3]) assert.match(s, /'default' => \[\n\s+'className' => '[^']+',\n\s+'host' => '127\.0\.0\.1:6033'/);
        // No `slave` connection: the kernel never reads one; replicas are rows of b_cluster_dbnode (db-failover).
        for (const s of [s1, s2, s3]) assert.doesNotMatch(s, /t-db-replica-\d|'slave'/);
        for (const s of [s1, s2, s3]) assert.match(s, /'sid' => 'bx-test',/);
        const proxy = await valueOf(placement.file("web-1", "/etc/haproxy/redis-proxy.cfg"));
        assert.equal(proxy.match(/server redis-\d t-redis-\d:6379/g)?.length, 3);
        assert.match(proxy, /listen db_writer\n {4}bind 127\.0\.0\.1:6033\n/);
        assert.deepEqual(proxy.match(/server db-\S+ t-db-\S+:3306/g), [
            "server db-master t-db-master:3306",
            "server db-replica-1 t-db-replica-1:3306",
            "server db-replica-2 t-db-replica-2:3306",
        ]);
        assert.match(proxy, /^global\n {4}user haproxy\n {4}group haproxy\n {4}external-check\n {4}insecure-fork-wanted\n/);
        const manager = JSON.parse(await valueOf(placement.file("db-failover", "/etc/db-failover/config.json")));
        assert.deepEqual(
            manager.nodes.map((n: any) => n.host),
            ["t-db-master", "t-db-replica-1", "t-db-replica-2"],
        );
        assert.deepEqual(placement.spec("db-failover").command, ["/usr/local/bin/db-failover", "/etc/db-failover/config.json"]);
        assert.equal(await secretOf(placement.spec("db-failover").env!.DB_FAILOVER_PASSWORD), true);
        // It keeps Bitrix's replica rows with the application login and clears the kernel's cache of them in Redis.
        assert.deepEqual(manager.bitrix, {
            database: "bitrix",
            user: "bitrix",
            cache: { nodes: ["t-redis-1", "t-redis-2", "t-redis-3"].map((host) => ({ host, port: 6379 })), sid: "bx-test" },
            weight: 100,
            syncEveryS: 10,
        });
        assert.equal(await secretOf(placement.spec("db-failover").env!.DB_APP_PASSWORD), true);
        assert.equal(await secretOf(placement.spec("db-failover").env!.REDIS_PASSWORD), true);
        // Every server starts read-only; the manager opens one.
        for (const s of ["db-master", "db-replica-1"])
            assert.match(await valueOf(placement.file(s, "/etc/mysql/mariadb.conf.d/90-bitrix.cnf")), /^read_only = ON$/m);
    });

    it("gives the writer route's check the app login in a root:haproxy file, not .settings.php (no PHP the web user writes runs elsewhere)", async () => {
        const spec = placement.spec("web-1");
        const creds = spec.files.find((f) => f.path === "/etc/haproxy/db-writer.json")!;
        assert.ok(creds, "credentials file uploaded");
        assert.equal(creds.secret, true);
        assert.equal(creds.group, "haproxy");
        const login = JSON.parse(await valueOf(creds.content));
        assert.equal(login.user, "bitrix");
        assert.equal(login.password, await valueOf(cluster.dbPassword));
        const check = await valueOf(placement.file("web-1", "/usr/local/bin/bitrix-db-writer-check"));
        assert.doesNotMatch(check, /settings\.php/);
        assert.match(check, /\/etc\/haproxy\/db-writer\.json/);
        assert.match(
            await valueOf(placement.file("web-1", "/etc/haproxy/redis-proxy.cfg")),
            /^global\n {4}user haproxy\n {4}group haproxy\n/,
        );
    });

    it("turns a web node 503 when the shared-storage heartbeat is older than 8 s (the nfs drill's 12 s with margin)", async () => {
        // The watchdog touches it every 2 s while storage answers; a failed round takes at most 2 × 2 s of probes.
        const health = await valueOf(placement.file("web-1", "/var/www/html/healthz.php"));
        assert.match(health, /time\(\) - \$beat > 8\)/);
    });

    it("trusts X-Forwarded-For on the web nodes from the balancers' own addresses only", async () => {
        const site = await valueOf(placement.file("web-2", "/etc/nginx/sites-enabled/bitrix.conf"));
        const balancers = ["balancer-1", "balancer-2"].map((b) => `set_real_ip_from ${placement.addressOf(b)};`);
        assert.deepEqual(
            site.match(/^\s*set_real_ip_from .*$/gm)?.map((l) => l.trim()),
            balancers,
        );
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
            ["web-1", "/var/www/html/bitrix/.settings.php"],
            ["web-1", "/etc/php/8.2/fpm/conf.d/99-bitrix.ini"],
            ["web-1", "/etc/haproxy/redis-proxy.cfg"],
            ["db-master", "/docker-entrypoint-initdb.d/10-bitrix-master.sql"],
            ["db-replica-1", "/docker-entrypoint-initdb.d/10-bitrix-replica.sql"],
            ["redis-1", "/etc/redis/bitrix/redis.conf"],
            ["sentinel-1", "/etc/redis/bitrix/sentinel.conf"],
            ["redis-2", "/etc/redis/bitrix/redis.env"],
        ];
        for (const [service, path] of secret) assert.equal(await secretOf(placement.file(service, path)), true, `${service}:${path}`);
        const plain = [
            ["balancer-1", "/etc/haproxy/haproxy.cfg"],
            ["balancer-2", "/etc/keepalived/keepalived.conf"],
            ["web-1", "/etc/nginx/sites-enabled/bitrix.conf"],
            ["web-1", "/var/www/html/healthz.php"],
            ["db-master", "/etc/mysql/mariadb.conf.d/90-bitrix.cnf"],
            ["nfs", "/etc/ganesha/ganesha.conf"],
            ["monitoring", "/etc/bitrix-monitoring/alertmanager.yml"],
        ];
        for (const [service, path] of plain) assert.equal(await secretOf(placement.file(service, path)), false, `${service}:${path}`);
        assert.equal(await secretOf(placement.spec("db-master").env!.MARIADB_ROOT_PASSWORD), true);
        assert.equal(await secretOf(cluster.dbPassword), true);
    });

    it("makes six random passwords when config has no secrets (the exporter's with monitoring on, the failover manager's)", async () => {
        await settle();
        const names = ofType("random:index/randomPassword:RandomPassword")
            .map((r) => r.name)
            .filter((n) => n.startsWith("c1-"))
            .sort();
        assert.deepEqual(names, [
            "c1-db-failover-password",
            "c1-db-monitor-password",
            "c1-db-password",
            "c1-db-replication-password",
            "c1-db-root-password",
            "c1-redis-password",
        ]);
        const pw = ofType("random:index/randomPassword:RandomPassword").find((r) => r.name === "c1-db-password")!;
        assert.equal(pw.inputs.length, 32);
        assert.equal(pw.inputs.special, false);
    });

    it("exports every shared path from the NFS server as www-data", async () => {
        const ganesha = await valueOf(placement.file("nfs", "/etc/ganesha/ganesha.conf"));
        assert.equal(ganesha.match(/Anonymous_Uid = 33;/g)?.length, 2);
        assert.deepEqual(
            placement.spec("nfs").volumes!.map((v) => v.path),
            ["/srv/nfs/upload", "/srv/nfs/bitrix-cache"],
        );
        assert.equal(cluster.nfsExports[0].split(":")[0], placement.addressOf("nfs"));
    });

    it("exports the endpoints", () => {
        // Where clients reach the balancer is the placement's answer (published ports on Docker, own ports on hosts).
        // With two balancers the portal is the floating address (the 5th of the default Docker subnet).
        assert.equal(cluster.url, "https://172.28.0.5/");
        assert.equal(cluster.floatingAddress, "172.28.0.5");
        assert.equal(cluster.statusUrl, "http://public-balancer-1:8404/");
        assert.deepEqual(
            cluster.statusUrls,
            ["balancer-1", "balancer-2"].map((b) => `http://${placement.addressOf(b)}:8404/`),
        );
        assert.equal(cluster.dbMaster, "t-db-master:3306");
        assert.deepEqual(cluster.dbReplicas, ["t-db-replica-1:3306", "t-db-replica-2:3306"]);
        assert.equal(cluster.sentinels.length, 5);
        assert.deepEqual(cluster.webNodes, ["t-web-1", "t-web-2", "t-web-3"]);
        assert.deepEqual(cluster.nfsExports, ["10.9.0.10:/bitrix/upload", "10.9.0.10:/bitrix/bitrix/cache"]);
    });
});

describe("BitrixCluster monitoring wiring", () => {
    const placement = new RecordingPlacement();
    new BitrixCluster("c4", { config: config({ webNodes: 3, dbEngine: "mariadb" }), placement });

    it("scrapes every layer from the cluster's own node lists and keeps the exporter logins secret", async () => {
        await settle();
        const prom = YAML.parse(await valueOf(placement.file("monitoring", "/etc/bitrix-monitoring/prometheus.yml")));
        const instances = (job: string) =>
            prom.scrape_configs.find((j: any) => j.job_name === job).static_configs.map((c: any) => c.labels.instance);
        assert.deepEqual(instances("phpfpm"), ["web-1", "web-2", "web-3"]);
        assert.deepEqual(instances("haproxy"), ["balancer-1", "balancer-2"]);
        assert.deepEqual(instances("mysqld"), ["db-master", "db-replica-1"]);
        assert.deepEqual(instances("redis"), ["redis-1", "redis-2", "redis-3"]);
        assert.deepEqual(instances("sentinel"), ["sentinel-1", "sentinel-2", "sentinel-3"]);
        const cnf = placement.file("monitoring", "/etc/bitrix-monitoring/mysqld-2.cnf");
        assert.equal(await secretOf(cnf), true);
        assert.match(await valueOf(cnf), /^host=t-db-replica-1$/m);
        assert.equal(await secretOf(placement.spec("monitoring").env!.REDIS_PASSWORD), true);
        // The exporter's login is made by the master's first start; the web nodes answer PHP-FPM metrics to the monitoring service only.
        assert.match(
            await valueOf(placement.file("db-master", "/docker-entrypoint-initdb.d/10-bitrix-master.sql")),
            /GRANT PROCESS, REPLICATION CLIENT, SLAVE MONITOR, SELECT ON \*\.\* TO 'exporter'@'%';/,
        );
        const nginx = await valueOf(placement.file("web-2", "/etc/nginx/sites-enabled/bitrix.conf"));
        assert.match(nginx, /listen 9253;[\s\S]*allow net-of-monitoring;\n\s+deny all;\n\s+set \$args openmetrics;/);
    });

    it("leaves the monitoring service, its login and the metrics port out when monitoring is off", async () => {
        const off = new RecordingPlacement();
        new BitrixCluster("c5", { config: config({ monitoring: false, dbEngine: "mariadb" }), placement: off });
        await settle();
        assert.equal(
            off.specs.some((s) => s.service === "monitoring"),
            false,
        );
        assert.doesNotMatch(await valueOf(off.file("db-master", "/docker-entrypoint-initdb.d/10-bitrix-master.sql")), /exporter/);
        assert.doesNotMatch(await valueOf(off.file("web-1", "/etc/nginx/sites-enabled/bitrix.conf")), /9253/);
    });
});

describe("BitrixCluster with config secrets", () => {
    const placement = new RecordingPlacement();
    new BitrixCluster("c2", {
        config: config({
            dbPassword: pulumi.secret("from-config"),
            redisPassword: pulumi.secret("redis-from-config"),
            vrrpPassword: pulumi.secret("vrrp-from-config"),
            // As Pulumi hands a secret list to the program: its JSON text.
            alertWebhookUrls: '["https://hooks.slack.com/services/T000/B000/hook-token"]',
        }),
        placement,
    });

    it("writes webhook URLs (they can carry a token) only into a secret alertmanager.yml", async () => {
        const spec = placement.spec("monitoring").files.find((f) => f.path.endsWith("/alertmanager.yml"))!;
        assert.equal(spec.secret, true);
        assert.equal(await secretOf(spec.content), true);
        assert.match(await valueOf(spec.content), /url: https:\/\/hooks\.slack\.com\/services\/T000\/B000\/hook-token/);
    });

    it("keeps a VRRP password only in a secret keepalived config (VRRPv2, first 8 characters)", async () => {
        const file = placement.file("balancer-2", "/etc/keepalived/keepalived.conf");
        assert.equal(await secretOf(file), true);
        const text = await valueOf(file);
        assert.match(text, /auth_pass "vrrp-fro"\n/);
        assert.match(text, /vrrp_version 2/);
    });

    it("uses the config secrets instead of random passwords", async () => {
        await settle();
        const names = ofType("random:index/randomPassword:RandomPassword")
            .map((r) => r.name)
            .filter((n) => n.startsWith("c2-"))
            .sort();
        assert.deepEqual(names, ["c2-db-failover-password", "c2-db-monitor-password", "c2-db-replication-password", "c2-db-root-password"]);
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
            kind: "nfs",
            name: "upload",
            path: "/var/www/html/upload",
            server: "10.9.0.10",
            exportPath: "/bitrix/upload",
            options: "nfsvers=4.1,proto=tcp,soft,timeo=30,retrans=2,noatime,nodiratime,noresvport",
        });
    });
});

describe("BitrixCluster with one balancer", () => {
    const placement = new RecordingPlacement();
    const cluster = new BitrixCluster("c3", { config: config({ balancers: 1 }), placement });

    it("runs one balancer without keepalived or extra capabilities, and the portal is its own door", async () => {
        await settle();
        const balancers = placement.specs.filter((s) => s.service.startsWith("balancer"));
        assert.deepEqual(
            balancers.map((b) => b.service),
            ["balancer-1"],
        );
        assert.deepEqual(
            balancers[0].files.map((f) => f.path),
            ["/etc/haproxy/haproxy.cfg", "/etc/haproxy/certs/site.pem"],
        );
        assert.equal(balancers[0].capabilities, undefined);
        assert.equal(cluster.url, "https://public-balancer-1:8443/");
        assert.equal(cluster.floatingAddress, "");
    });
});

const PUSH_KEY = "PushKey0123456789abcdefghijklmnopqrstuvwxyz";

describe("BitrixCluster with the push layer", () => {
    const placement = new RecordingPlacement();
    const cluster = new BitrixCluster("c6", {
        config: config({
            pushServers: 2,
            pushImage: "registry.example.com/bitrix/push-server:2.0",
            pushSecurityKey: PUSH_KEY,
            dbEngine: "mariadb",
        }),
        placement,
    });
    const file = (service: string, path: string) => valueOf(placement.file(service, path));

    it("runs the user's image as push-1 and push-2 beside a Redis of their own, with both listeners' configs as secrets", async () => {
        await settle();
        assert.deepEqual(
            placement.specs
                .map((s) => s.service)
                .filter((s) => s.startsWith("push"))
                .sort(),
            ["push-1", "push-2", "push-redis"],
        );
        for (const service of ["push-1", "push-2"]) {
            const spec = placement.spec(service);
            assert.deepEqual(spec.image, { pull: "registry.example.com/bitrix/push-server:2.0" });
            assert.deepEqual(
                spec.files.map((f) => f.path),
                ["/etc/push-server/push-server-sub-8010.json", "/etc/push-server/push-server-pub-9010.json"],
            );
            for (const f of spec.files) {
                assert.equal(f.secret, true);
                assert.equal(await secretOf(f.content), true);
            }
        }
        const sub = JSON.parse(await file("push-2", "/etc/push-server/push-server-sub-8010.json"));
        assert.deepEqual({ host: sub.storage.host, port: sub.storage.port }, { host: "t-push-redis", port: 6380 });
        assert.equal(sub.security.key, PUSH_KEY);
        const pub = JSON.parse(await file("push-1", "/etc/push-server/push-server-pub-9010.json"));
        assert.equal(pub.security.key, sub.security.key, "one key for every listener");
        assert.deepEqual(placement.spec("push-redis").image, { role: "redis" });
    });

    it("routes subscribers at both balancers to both push services, and gives each web node the local publish route", async () => {
        const cfg = await file("balancer-1", "/etc/haproxy/haproxy.cfg");
        assert.match(cfg, /^backend push$/m);
        assert.match(cfg, /^ {4}server push-1 t-push-1:8010/m);
        assert.match(cfg, /^ {4}server push-2 t-push-2:8010/m);
        assert.equal(await file("balancer-2", "/etc/haproxy/haproxy.cfg"), cfg);
        for (const web of ["web-1", "web-2"]) {
            const local = await file(web, "/etc/haproxy/redis-proxy.cfg");
            assert.match(local, /^listen push_pub\n {4}bind 127\.0\.0\.1:8895$/m);
            assert.match(local, /^ {4}server push-1 t-push-1:9010/m);
            assert.match(local, /^ {4}server push-2 t-push-2:9010/m);
            // The database writer route is still there beside it.
            assert.match(local, /^listen db_writer$/m);
        }
    });

    it("outputs the pull module's settings with the local publish address, and the key as a secret only", async () => {
        assert.equal(cluster.pullSettings.path_to_publish, "http://127.0.0.1:8895/bitrix/pub/");
        assert.equal(cluster.pullSettings.path_to_websocket_secure, "wss://#DOMAIN#/bitrix/subws/");
        assert.ok(!JSON.stringify(cluster.pullSettings).includes(PUSH_KEY), "the key stays out of the plain output");
        assert.equal(await secretOf(cluster.pushSecurityKey!), true);
        assert.equal(await valueOf(cluster.pushSecurityKey!), PUSH_KEY);
        assert.deepEqual(cluster.pushServers, ["t-push-1", "t-push-2"]);
    });

    it("makes a random 64-character key when none is given", async () => {
        const gen = new RecordingPlacement();
        new BitrixCluster("c6-gen", {
            config: config({ pushServers: 1, pushImage: "registry.example.com/bitrix/push-server:2.0", dbEngine: "mariadb" }),
            placement: gen,
        });
        await settle();
        assert.equal(
            JSON.parse(await valueOf(gen.file("push-1", "/etc/push-server/push-server-sub-8010.json"))).security.key,
            "mockc6genpushsecuritykey",
        );
        const random = recorded.filter((r) => r.type === "random:index/randomPassword:RandomPassword" && r.name.startsWith("c6-gen-push"));
        assert.deepEqual(
            random.map((r) => ({ name: r.name, length: r.inputs.length, special: r.inputs.special })),
            [{ name: "c6-gen-push-security-key", length: 64, special: false }],
        );
    });

    it("has no push services, routes or settings without pushServers", async () => {
        const off = new RecordingPlacement();
        const plain = new BitrixCluster("c6-off", { config: config({ dbEngine: "mariadb" }), placement: off });
        await settle();
        assert.ok(!off.specs.some((s) => s.service.startsWith("push")));
        assert.doesNotMatch(await valueOf(off.file("balancer-1", "/etc/haproxy/haproxy.cfg")), /backend push/);
        assert.doesNotMatch(await valueOf(off.file("web-1", "/etc/haproxy/redis-proxy.cfg")), /push_pub/);
        assert.deepEqual(plain.pullSettings, {});
        assert.equal(plain.pushSecurityKey, undefined);
    });
});

describe("recorded resources", () => {
    it("are all named after their component", async () => {
        await settle();
        for (const r of recorded) assert.match(r.name, /^c[1-6](-|$)/);
    });
});
