import { installMocks, ofType, settle } from "../../helpers/pulumiMocks";
installMocks();

import { strict as assert } from "node:assert";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { BitrixCluster } from "../../../components/cluster";
import { validateClusterConfig } from "../../../components/config/validate";
import { buildContext, dockerPlatform, goDuration, healthDigest } from "../../../components/placement/docker";
import { dockerAddressing, pinnedSlot } from "../../../components/placement/dockerAddressing";

const config = (raw: Record<string, unknown>) =>
    validateClusterConfig({ adminAllowlist: ["192.0.2.0/24"], ...raw }, { namespace: "bitrix-cluster", stack: "test" });
const containers = () => ofType("docker:index/container:Container");
const container = (name: string) => {
    const c = containers().find((r) => r.inputs.name === name);
    assert.ok(
        c,
        `no container ${name}; have ${containers()
            .map((r) => r.inputs.name)
            .join(", ")}`,
    );
    return c.inputs;
};

describe("dockerAddressing", () => {
    it("keeps the fixed address in the low half and hands out the high half", () => {
        assert.deepEqual(dockerAddressing("172.28.10.0/24"), {
            gateway: "172.28.10.1",
            floatingAddress: "172.28.10.5",
            dynamicRange: "172.28.10.128/25",
        });
        assert.deepEqual(dockerAddressing("10.5.0.0/16"), {
            gateway: "10.5.0.1",
            floatingAddress: "10.5.0.5",
            dynamicRange: "10.5.128.0/17",
        });
        assert.deepEqual(dockerAddressing("10.6.0.64/26"), {
            gateway: "10.6.0.65",
            floatingAddress: "10.6.0.69",
            dynamicRange: "10.6.0.96/27",
        });
    });

    it("pins the NFS server and up to four balancers in the lower half, nothing else", () => {
        assert.deepEqual(["nfs", "balancer-1", "balancer-2", "balancer-4"].map(pinnedSlot), [10, 11, 12, 14]);
        assert.deepEqual(["balancer-5", "balancer", "web-1", "db-master"].map(pinnedSlot), [undefined, undefined, undefined, undefined]);
    });
});

describe("values in the docker provider's own form", () => {
    it("writes durations as Go prints them, so a health check reads back unchanged", () => {
        assert.deepEqual([0, 0.5, 1.5, 2, 59, 60, 90, 3600, 5400.25].map(goDuration), [
            "0s",
            "500ms",
            "1.5s",
            "2s",
            "59s",
            "1m0s",
            "1m30s",
            "1h0m0s",
            "1h30m0.25s",
        ]);
        assert.throws(() => goDuration(-1), /not a duration/);
    });

    it("names the build platform after the CPU, and refuses one Docker has no name for", () => {
        assert.equal(dockerPlatform("x64"), "linux/amd64");
        assert.equal(dockerPlatform("arm64"), "linux/arm64");
        assert.throws(() => dockerPlatform("ia32"), /no Docker platform name for the CPU architecture ia32/);
    });

    it("records a build context inside the program's directory relative to it, any other absolute", () => {
        assert.equal(buildContext("/src/app/images/web", "/src/app"), path.join("images", "web"));
        assert.equal(buildContext("/elsewhere/images/web", "/src/app"), "/elsewhere/images/web");
        assert.equal(buildContext("/src/app", "/src/app"), "/src/app");
    });
});

describe("DockerPlacement", () => {
    new BitrixCluster("prod", {
        config: config({ namePrefix: "bx-prod", webNodes: 3, dbEngine: "mariadb", dbPortBase: 13306, sentinelPortBase: 26379 }),
    });
    new BitrixCluster("staging", {
        config: config({
            namePrefix: "bx-stg",
            dockerSubnet: "172.29.0.0/24",
            httpPort: 9080,
            httpsPort: 9443,
            statusPort: 9404,
            sharedStorage: "docker-volume",
        }),
    });

    it("creates one container per service, named with the stack prefix", async () => {
        await settle(200);
        const prodNames = containers()
            .map((c) => c.inputs.name)
            .filter((n: string) => n.startsWith("bx-prod-"))
            .sort();
        assert.deepEqual(prodNames, [
            "bx-prod-balancer-1",
            "bx-prod-balancer-2",
            "bx-prod-db-failover",
            "bx-prod-db-master",
            "bx-prod-db-replica-1",
            "bx-prod-monitoring",
            "bx-prod-nfs",
            "bx-prod-redis-1",
            "bx-prod-redis-2",
            "bx-prod-redis-3",
            "bx-prod-sentinel-1",
            "bx-prod-sentinel-2",
            "bx-prod-sentinel-3",
            "bx-prod-web-1",
            "bx-prod-web-2",
            "bx-prod-web-3",
        ]);
    });

    it("never gives two stacks the same Docker or Pulumi name", () => {
        for (const type of [
            "docker:index/container:Container",
            "docker:index/volume:Volume",
            "docker:index/network:Network",
            "docker:index/image:Image",
        ]) {
            const names = ofType(type).map((r) => r.inputs.name ?? r.inputs.imageName);
            assert.equal(new Set(names).size, names.length, `${type}: ${names.join(", ")}`);
            const urnNames = ofType(type).map((r) => r.name);
            assert.equal(new Set(urnNames).size, urnNames.length);
        }
    });

    it("puts every container on the stack network under its service alias, the NFS server at the fixed address", () => {
        const nets = ofType("docker:index/network:Network").map((n) => n.inputs);
        const prodNet = nets.find((n) => n.name === "bx-prod-net")!;
        assert.deepEqual(prodNet.ipamConfigs, [{ subnet: "172.28.0.0/24", gateway: "172.28.0.1", ipRange: "172.28.0.128/25" }]);
        const web = container("bx-prod-web-2");
        assert.equal(web.networksAdvanced[0].name, "bx-prod-net");
        assert.deepEqual(web.networksAdvanced[0].aliases, ["web-2"]);
        assert.equal(container("bx-prod-nfs").networksAdvanced[0].ipv4Address, "172.28.0.10");
        // The balancers are VRRP peers by address: pinned too, with the capabilities keepalived needs.
        assert.equal(container("bx-prod-balancer-1").networksAdvanced[0].ipv4Address, "172.28.0.11");
        assert.equal(container("bx-prod-balancer-2").networksAdvanced[0].ipv4Address, "172.28.0.12");
        assert.deepEqual(container("bx-prod-balancer-2").capabilities, { adds: ["NET_ADMIN", "NET_BROADCAST", "NET_RAW"] });
        assert.equal(web.networksAdvanced[0].ipv4Address, undefined);
    });

    it("makes the web nodes trust X-Forwarded-For from the balancers' pinned addresses only, not the subnet with its gateway", async () => {
        const uploads = container("bx-prod-web-1").uploads;
        const site = (uploads.value ?? uploads).find((u: any) => u.file === "/etc/nginx/sites-enabled/bitrix.conf");
        const text: string = await new Promise((resolve) => pulumi.output(site.content).apply(resolve));
        assert.deepEqual(
            text.match(/^\s*set_real_ip_from .*$/gm)?.map((l) => l.trim()),
            ["set_real_ip_from 172.28.0.11;", "set_real_ip_from 172.28.0.12;"],
        );
    });

    it("uploads the generated files, waits for health and restarts unless stopped", () => {
        const web = container("bx-prod-web-1");
        const uploads = web.uploads.value ?? web.uploads;
        const paths = uploads.map((u: any) => u.file).sort();
        assert.deepEqual(paths, [
            "/etc/haproxy/db-writer.json",
            "/etc/haproxy/redis-proxy.cfg",
            "/etc/nginx/sites-enabled/bitrix.conf",
            "/etc/php/8.2/fpm/conf.d/99-bitrix.ini",
            "/etc/php/8.2/fpm/pool.d/www.conf",
            "/usr/local/bin/bitrix-db-writer-check",
            "/usr/local/bin/bitrix-shared-watchdog",
            "/var/www/html/bitrix/.settings.php",
            "/var/www/html/bitrix/php_interface/bitrix-cluster/rediscache.php",
            "/var/www/html/healthz.php",
            "/var/www/html/probe/index.php",
        ]);
        // Modes as on hosts: executables 0755, secrets 0600 (root's alone) or 0640 for the group that reads them.
        const mode = (file: string) => uploads.find((u: any) => u.file === file).permissions;
        assert.equal(mode("/usr/local/bin/bitrix-shared-watchdog"), "0755");
        assert.equal(mode("/etc/haproxy/redis-proxy.cfg"), "0600");
        assert.equal(mode("/var/www/html/bitrix/.settings.php"), "0640");
        assert.equal(mode("/etc/nginx/sites-enabled/bitrix.conf"), "0644");
        // The entrypoint gives the group (an upload cannot): PHP reads .settings.php as www-data.
        const groups = web.envs.find((e: string) => e.startsWith("BITRIX_FILE_GROUPS="));
        assert.match(groups, /(^|[= ])www-data:\/var\/www\/html\/bitrix\/\.settings\.php( |$)/);
        assert.deepEqual(web.healthcheck, {
            tests: ["CMD-SHELL", "curl -fsS -o /dev/null http://127.0.0.1/fpm-ping"],
            interval: "5s",
            timeout: "2s",
            retries: 3,
            startPeriod: "10s",
        });
        assert.equal(web.restart, "unless-stopped");
        // Not the provider's wait: the readiness gate (below) runs the check itself.
        assert.equal(web.wait, false);
        assert.equal(web.memory, 1024);
        // memory + swap = memory (no swap): what the provider reads back, so the next `up` has nothing to change.
        assert.equal(web.memorySwap, 1024);
        // Rotated logs: Docker's default json-file would grow without end with a balancer's line per request.
        assert.equal(web.logDriver, "local");
        assert.deepEqual(web.logOpts, { "max-size": "20m", "max-file": "5" });
        assert.equal(web.image, "sha256:prod-docker-image-web");
        // The drain (8 s by default, see cluster.test.ts) and 20 s for requests in flight.
        assert.equal(web.destroyGraceSeconds, 28);
        assert.ok(web.envs.includes("WEB_DRAIN_S=8"), web.envs);
        assert.equal(container("bx-prod-db-master").destroyGraceSeconds, 120, "InnoDB gets time for a clean shutdown");
    });

    it("gates each web node on the running balancers reporting it UP, again for every new container", () => {
        const gates = ofType("command:local:Command").filter((c) => c.name.startsWith("prod-web-") && c.name.endsWith("-in-rotation"));
        assert.deepEqual(gates.map((g) => g.name).sort(), [
            "prod-web-1-node-in-rotation",
            "prod-web-2-node-in-rotation",
            "prod-web-3-node-in-rotation",
        ]);
        const gate = gates.find((g) => g.name === "prod-web-2-node-in-rotation")!.inputs;
        assert.deepEqual(gate.triggers, ["prod-web-2-node-id"]);
        assert.match(gate.create, /^server='web-2'$/m);
        assert.match(gate.create, /for b in 'bx-prod-balancer-1' 'bx-prod-balancer-2'; do/);
        assert.match(gate.create, /docker exec "\$b" curl -fsS -m 2 'http:\/\/127\.0\.0\.1:8404\/;csv'/);
        // Only web nodes sit behind the balancers.
        assert.ok(!ofType("command:local:Command").some((c) => /in-rotation/.test(c.name) && /db-|redis-|nfs|balancer-/.test(c.name)));
    });

    it("gates every container with a health check on that check passing (readiness), again for every new container", () => {
        const gates = ofType("command:local:Command").filter((c) => c.name.endsWith("-ready"));
        const checked = containers().filter((c) => c.inputs.healthcheck);
        assert.ok(checked.length >= 10, `${checked.length} containers with a health check`);
        // One gate per checked container, named after it, and the provider's own wait off on each.
        assert.deepEqual(gates.map((g) => g.name).sort(), checked.map((c) => `${c.name}-ready`).sort());
        assert.ok(checked.every((c) => c.inputs.wait === false));
        const gate = gates.find((g) => g.name === `${containers().find((c) => c.inputs.name === "bx-prod-db-master")!.name}-ready`)!.inputs;
        assert.match(gate.create, /^c='bx-prod-db-master'$/m);
        assert.ok(
            gate.create.includes(`/bin/sh -c 'mariadb-admin ping`) || gate.create.includes(`/bin/sh -c 'mysqladmin ping`),
            gate.create,
        );
        assert.deepEqual(gate.triggers, [`${containers().find((c) => c.inputs.name === "bx-prod-db-master")!.name}-id`]);
    });

    it("labels each container with its health check's digest, so a changed check replaces it", () => {
        const digest = (c: any) => c.labels.find((l: any) => l.label === "bitrix-cluster.health-digest")?.value;
        const web = container("bx-prod-web-1");
        assert.equal(
            digest(web),
            healthDigest({
                command: "curl -fsS -o /dev/null http://127.0.0.1/fpm-ping",
                intervalS: 5,
                timeoutS: 2,
                retries: 3,
                startPeriodS: 10,
            }),
        );
        assert.notEqual(
            digest(web),
            healthDigest({
                command: "curl -fsS -o /dev/null http://127.0.0.1/fpm-ping",
                intervalS: 5,
                timeoutS: 2,
                retries: 4,
                startPeriodS: 10,
            }),
        );
        assert.notEqual(digest(container("bx-prod-db-master")), digest(web));
    });

    it("publishes only the first balancer, the databases and the sentinels, on the bind address", () => {
        assert.deepEqual(container("bx-prod-balancer-2").ports, []);
        assert.deepEqual(container("bx-prod-balancer-1").ports, [
            { internal: 80, external: 8080, ip: "127.0.0.1" },
            { internal: 443, external: 8443, ip: "127.0.0.1" },
            { internal: 8404, external: 8404, ip: "127.0.0.1" },
        ]);
        assert.deepEqual(container("bx-prod-db-replica-1").ports, [{ internal: 3306, external: 13307, ip: "127.0.0.1" }]);
        assert.deepEqual(container("bx-prod-sentinel-3").ports, [{ internal: 26379, external: 26381, ip: "127.0.0.1" }]);
        for (const name of ["bx-prod-web-1", "bx-prod-nfs", "bx-prod-redis-1"]) assert.deepEqual(container(name).ports ?? [], []);
    });

    it("mounts NFS volumes by the server's address, or the export's own volumes in docker-volume mode", () => {
        const volumes = ofType("docker:index/volume:Volume").map((v) => v.inputs);
        const nfsUpload = volumes.find((v) => v.name === "bx-prod-web-1-nfs-upload")!;
        assert.equal(nfsUpload.driver, "local");
        assert.deepEqual(nfsUpload.driverOpts, {
            type: "nfs",
            o: "addr=172.28.0.10,nfsvers=4.1,proto=tcp,soft,timeo=30,retrans=2,noatime,nodiratime,noresvport",
            device: ":/bitrix/upload",
        });
        const stgWeb = container("bx-stg-web-1");
        const stgNfs = container("bx-stg-nfs");
        const mountOf = (c: any, path: string) => c.volumes.find((v: any) => v.containerPath === path).volumeName;
        assert.equal(mountOf(stgWeb, "/var/www/html/upload"), "bx-stg-shared-upload");
        assert.equal(mountOf(stgNfs, "/srv/nfs/upload"), "bx-stg-shared-upload");
        assert.ok(!volumes.some((v) => v.name?.startsWith("bx-stg-web-1-nfs-")));
    });

    it("gives the NFS server only the capabilities it needs", () => {
        assert.deepEqual(container("bx-prod-nfs").capabilities, { adds: ["DAC_READ_SEARCH", "SYS_ADMIN"] });
        assert.equal(container("bx-prod-web-1").capabilities, undefined);
        assert.equal(container("bx-prod-web-1").privileged, undefined);
    });

    it("builds each image once per stack from images/<role> on the Debian base", () => {
        const images = ofType("docker:index/image:Image")
            .map((i) => i.inputs)
            .filter((i) => i.imageName.startsWith("bx-prod-"));
        assert.deepEqual(images.map((i) => i.imageName).sort(), [
            "bx-prod-balancer:latest",
            "bx-prod-mariadb:latest",
            "bx-prod-monitoring:latest",
            "bx-prod-nfs:latest",
            "bx-prod-redis:latest",
            "bx-prod-web:latest",
        ]);
        for (const i of images) {
            assert.equal(i.skipPush, true);
            // Relative to the program's directory: another checkout of the same program previews no rebuild.
            assert.equal(i.build.context, path.join("images", i.imageName.replace(/^bx-prod-(\w+):latest$/, "$1")));
            assert.equal(i.build.platform, dockerPlatform());
            assert.deepEqual(i.build.args, { BASE_IMAGE: "debian:bookworm-slim" });
        }
    });

    it("pulls the Percona image instead of building one for engine percona", async () => {
        new BitrixCluster("perc", {
            config: config({ namePrefix: "bx-perc", dockerSubnet: "172.30.0.0/24", httpPort: 7080, httpsPort: 7443, statusPort: 7404 }),
        });
        await settle(200);
        const pulled = ofType("docker:index/remoteImage:RemoteImage").filter((r) => r.name.startsWith("perc-"));
        assert.deepEqual(
            pulled.map((r) => [r.inputs.name, r.inputs.keepLocally]),
            [["percona/percona-server:8.0.36-28", true]],
        );
        // The mariadb image is built for the failover manager only (Python + PyMySQL); no MariaDB server runs.
        assert.equal(container("bx-perc-db-failover").image, "sha256:perc-docker-image-mariadb");
        assert.ok(!["bx-perc-db-master", "bx-perc-db-replica-1"].some((n) => container(n).image.includes("mariadb")));
        assert.equal(container("bx-perc-db-master").image, "sha256:perc-docker-image-percona-percona-server-8-0-36-28");
        const envs = container("bx-perc-db-master").envs;
        assert.ok(
            envs.value.some((e: string) => e.startsWith("MYSQL_ROOT_PASSWORD=")),
            "root password in env, as a secret",
        );
    });

    it("deletes before replacing every fixed-name Docker object, and keeps data volumes only when asked", async () => {
        const seen: Array<{ type: string; name: string; opts: pulumi.CustomResourceOptions }> = [];
        const record: pulumi.ResourceTransformation = (a) => {
            seen.push({ type: a.type, name: a.name, opts: a.opts });
            return undefined;
        };
        new BitrixCluster(
            "opts",
            {
                config: config({
                    namePrefix: "bx-opts",
                    dockerSubnet: "172.31.0.0/24",
                    httpPort: 6080,
                    httpsPort: 6443,
                    statusPort: 6404,
                    retainDataVolumes: false,
                }),
            },
            { transformations: [record] },
        );
        new BitrixCluster(
            "keep",
            { config: config({ namePrefix: "bx-keep", dockerSubnet: "172.31.1.0/24", httpPort: 5080, httpsPort: 5443, statusPort: 5404 }) },
            { transformations: [record] },
        );
        await settle(200);
        const docker = seen.filter((r) => /^docker:index\/(container|volume|network):/.test(r.type));
        assert.ok(docker.length > 30);
        for (const r of docker) assert.equal(r.opts.deleteBeforeReplace, true, `${r.type} ${r.name}`);
        const dataVolume = (name: string) => seen.find((r) => r.name === name)!.opts.retainOnDelete;
        assert.equal(dataVolume("opts-db-master-data"), false);
        assert.equal(dataVolume("keep-db-master-data"), true);
        assert.equal(dataVolume("keep-docker-shared-upload"), true);
        assert.equal(dataVolume("keep-redis-redis-1-data"), true);
    });

    it("stores uploads that hold a password as a secret, and plain ones in the clear", () => {
        // The engine wraps a secret property in this signature when it sends it to the provider.
        const isSecret = (v: any) =>
            typeof v === "object" && v !== null && v["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270";
        assert.equal(isSecret(container("bx-prod-web-1").uploads), true);
        assert.equal(isSecret(container("bx-prod-db-master").uploads), true);
        // The balancers hold the stack's self-signed key (tlsMode "self-signed", issue 20).
        assert.equal(isSecret(container("bx-prod-balancer-1").uploads), true);
        assert.equal(isSecret(container("bx-prod-nfs").uploads), false);
        assert.deepEqual(
            container("bx-prod-balancer-1").uploads.value.map((u: any) => u.file),
            ["/etc/haproxy/haproxy.cfg", "/etc/haproxy/certs/site.pem", "/etc/keepalived/keepalived.conf", "/etc/keepalived/vip-guard.nft"],
        );
    });
});
