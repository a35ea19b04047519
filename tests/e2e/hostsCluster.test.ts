/**
 * End to end on hosts: four "machines" (containers running systemd as PID 1 and an SSH server, each with its own
 * address on a private network of this test) are turned into the whole cluster by `pulumi up` with
 * `placement: hosts`, over SSH through the command plugin, and checked like the container path. The shared paths
 * are "external" storage: one Docker volume per path mounted on both web hosts stands in for the user's NAS (these
 * machines have no kernel NFS to mount the cluster's own NFS server). Pulumi reaches every host through h1 as the
 * SSH bastion, and h3 as the user "deploy" with passwordless sudo. Every host and the bastion are pinned by their SSH
 * host key, recorded the way docs/hosts.md says; a changed key stops `pulumi up` at the handshake, before any login.
 * TLS is tlsMode "acme" against pebble (tests/helpers/pebble.ts): the ACME service on h1 beside balancer-1 pushes the
 * certificate to h3 over SSH, where the key's forced command runs the receiver through deploy's sudo. The push layer
 * runs on h1 and h3 from a tarball of the test push server (tests/fixtures/push-server), as a user's would.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { rolePackages } from "../../components/placement/hostPackages";
import { Daemons, tmpDir, waitFor, write } from "../helpers/daemons";
import { startPebble } from "../helpers/pebble";
import { CLUSTER_MODULE_SQL } from "../helpers/stack";
import { request } from "../helpers/http";
import { interruption, startLoad } from "../../tools/drill/load";
import { probeClient } from "../helpers/probe";
import { projectDir, requireEngineTools, TestStack } from "../helpers/pulumiStack";
import { SshServer, startSshServer } from "../helpers/sshServer";
import { buildPushFixtureImage, writePushFixtureTarball } from "../helpers/pushFixture";
import { holders } from "../../tools/drill/balancerDrill";
import { deliveryDrill } from "../../tools/drill/pushDrill";
import { channelId } from "../../tools/drill/pushClient";

const NET = { name: "bx-hosts-net", subnet: "172.28.30.0/24" };
const ip = (n: number) => `172.28.30.${n}`;
const HOSTS = [
    { name: "h1", address: ip(11), roles: ["balancer", "db-master", "redis", "sentinel", "push"] },
    { name: "h2", address: ip(12), roles: ["web", "db-replica", "sentinel"] },
    // Reached as a non-root user with passwordless sudo, as many sites require.
    { name: "h3", address: ip(13), user: "deploy", roles: ["balancer", "redis", "sentinel", "monitoring", "push"] },
    { name: "h4", address: ip(14), roles: ["web"] },
];
const SHARED = [
    { volume: "bx-hosts-upload", path: "/var/www/html/upload" },
    { volume: "bx-hosts-cache", path: "/var/www/html/bitrix/cache" },
];
/** The staging clone's own storage (its web host mounts these, not the source's). */
const STAGING_SHARED = SHARED.map((v) => ({ ...v, volume: v.volume.replace("bx-hosts-", "bx-hosts-stg-") }));
/** The staging clone's machines (removed by the clone test itself, and by cleanUp after a failed run). */
const STAGING_HOSTS = ["s1", "s2", "s3"];
const REDIS_PASSWORD = "hosts-e2e-redis-secret-9f3c";
/** The push layer on hosts: the test push server as the user's tarball (docs/push.md), push-1 on h1, push-2 on h3. */
const PUSH_KEY = "hostsE2ePushSignatureKey0123456789abcdef";
const PUSH_FIXTURE_IMAGE = "bx-hosts-push-fixture:e2e";
/** The balancers' floating address (h1 and h3, VRRP). */
const VIP = ip(50);
const base = `https://${VIP}`;
const container = (host: string) => `bx-hosts-${host}`;
/** The portal's name (pebble-challtestsrv resolves it to VIP) and pebble on the hosts' network gateway (this machine). */
const NAME = "portal.hosts.test";
const PEBBLE = { host: ip(1), ports: { acme: 14200, management: 15200, dns: 8253, challtestsrvManagement: 8255 } };
/** An hour: no renewal by itself while the test runs (the Docker ACME e2e shows that one); forced ones only. */
const VALIDITY_S = 3600;
/** The line the stack's push key has in a balancer host's authorized_keys (its comment). */
const PUSH_MARKER = "bitrix-cluster-push:bx-hosts-e2e-hosts:acme";

function sh(cmd: string, args: string[]): string {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
}
const onHost = (host: string, script: string) => sh("docker", ["exec", container(host), "sh", "-c", script]).trim();

/** A new set of SSH host keys on a host, as a reinstalled machine (or an impostor at its address) would have. */
const NEW_HOST_KEYS = "rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub && ssh-keygen -A >/dev/null && systemctl restart ssh";
/** The host's own ed25519 host key, read on the machine itself (docker exec stands in for its console). */
const ownHostKey = (host: string) => onHost(host, "cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub");
/** A host's key recorded as docs/hosts.md says: ssh-keyscan over the network, checked against the host's own key file. */
async function recordHostKey(host: string, address: string): Promise<string> {
    let scanned = "";
    await waitFor(
        `ssh-keyscan ${address}`,
        () => {
            try {
                scanned =
                    sh("ssh-keyscan", ["-t", "ed25519", "-p", "22", address])
                        .split("\n")
                        .find((l) => l.startsWith(`${address} ssh-ed25519 `)) ?? "";
            } catch {
                /* sshd restarting */
            }
            return scanned !== "";
        },
        30_000,
        500,
    );
    const key = scanned.split(" ").slice(1, 3).join(" ");
    assert.equal(key, ownHostKey(host), `${host}: the key ssh-keyscan got is not the host's own`);
    return key;
}
/** The first line of a failed run's output that gives the SSH refusal (for the test's log). */
const refusal = (out: string) =>
    out
        .split("\n")
        .find((l) => /handshake failed|host key|Host denied/.test(l))
        ?.trim() ?? "(none)";
/** The SSH server's log lines on a host since a time (epoch seconds, the host's clock). */
const sshLog = (host: string, since: string) => onHost(host, `journalctl -u ssh --since @${since} --no-pager -o cat || true`);
/** onHost without blocking the event loop (a load running in this process keeps running). */
const onHostAsync = async (host: string, script: string) =>
    (await promisify(execFile)("docker", ["exec", container(host), "sh", "-c", script], { encoding: "utf8" })).stdout.trim();

const { probe, nodesAnswering } = probeClient(base);

/** The chain a balancer host serves for NAME (PEM, leaf first), or [] when none answers. */
function servedChain(address: string): string[] {
    try {
        const out = sh("sh", ["-c", `openssl s_client -connect ${address}:443 -servername ${NAME} -showcerts </dev/null 2>/dev/null`]);
        return [...out.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/g)].map((m) => m[0]);
    } catch {
        return [];
    }
}
const servedLeaf = (address: string) => servedChain(address)[0] ?? "";
const serialOf = (pem: string) =>
    execFileSync("openssl", ["x509", "-noout", "-serial"], { input: pem, encoding: "utf8" }).trim().split("=")[1];
/** The ACME service's metrics, read on its host. */
const acmeMetrics = () => onHost("h1", "curl -fsS http://127.0.0.1:9466/metrics");
const acmeLog = () => onHost("h1", "cat /var/log/bitrix-cluster/acme.log");

async function webRows(): Promise<string[]> {
    const r = await request(`http://${ip(11)}:8404/;csv`);
    assert.equal(r.status, 200);
    return r.body
        .split("\n")
        .filter((l) => l.startsWith("web,") && !l.startsWith("web,BACKEND") && !l.startsWith("web,FRONTEND"))
        .map((l) => l.split(","))
        .map((f) => `${f[1]}:${f[17]}`);
}

/** Whether a TCP connection to host:port opens within 2 s (the host firewall drops what it refuses). */
function connects(host: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect({ host, port, timeout: 2000 });
        s.on("connect", () => {
            s.destroy();
            resolve(true);
        });
        s.on("timeout", () => {
            s.destroy();
            resolve(false);
        });
        s.on("error", () => resolve(false));
    });
}

function cleanUp(): void {
    for (const h of [...HOSTS.map((x) => x.name), ...STAGING_HOSTS]) sh("docker", ["rm", "-f", container(h)]);
    for (const v of [...SHARED, ...STAGING_SHARED]) sh("sh", ["-c", `docker volume rm -f ${v.volume} >/dev/null`]);
    sh("sh", ["-c", `docker network rm ${NET.name} >/dev/null 2>&1 || true`]);
}

describe("pulumi up onto hosts over SSH (stack hosts-e2e)", { timeout: 60 * 60_000 }, () => {
    const stack = new TestStack("hosts-e2e");
    const servers: SshServer[] = [];
    const timings: Record<string, number> = {};
    /** HOSTS with each host's recorded host key. */
    const pinned: Array<(typeof HOSTS)[number] & { hostKey: string }> = [];
    let pushTarball = "";
    /** The fixture image's build arguments (the packages the install step would download), for every machine. */
    let hostBuildArgs: Record<string, string> = {};
    /** One machine: systemd as PID 1 (machine facts), NET_ADMIN for the host firewall (nftables), a web host's storage. */
    const startHost = (h: { name: string; address: string; roles: string[] }, shared: typeof SHARED) => {
        const web = h.roles.includes("web");
        for (const v of shared) if (web) sh("docker", ["volume", "create", v.volume]);
        return startSshServer({
            name: container(h.name),
            fixture: "host",
            network: { name: NET.name, address: h.address },
            buildArgs: hostBuildArgs,
            runArgs: [
                ...["--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro"],
                ...["--tmpfs", "/run", "--tmpfs", "/run/lock"],
                ...(web ? shared.flatMap((v) => ["-v", `${v.volume}:${v.path}`]) : []),
            ],
            sameKeyAs: servers[0],
        });
    };
    const daemons = new Daemons();
    const pebbleDir = tmpDir("hosts-pebble");
    let pebble: Awaited<ReturnType<typeof startPebble>>;

    before(async () => {
        requireEngineTools();
        cleanUp();
        sh("docker", ["network", "create", "--subnet", NET.subnet, NET.name]);
        const started = Date.now();
        // The packages the install step would download on each host, preinstalled once in the fixture image.
        const roles = ["balancer", "web", "db", "redis", "monitoring", "push", "acme"] as const;
        const packages = [
            ...new Set(["nftables", "logrotate", "util-linux", ...roles.flatMap((r) => rolePackages(r, "apt", "mariadb").packages)]),
        ];
        const units = [...new Set(roles.flatMap((r) => rolePackages(r, "apt", "mariadb").distroUnits))];
        hostBuildArgs = { PACKAGES: packages.join(" "), DISTRO_UNITS: units.join(" ") };
        for (const h of HOSTS) servers.push(startHost(h, SHARED));
        onHost(
            "h3",
            "install -d -m 700 -o deploy -g deploy /home/deploy/.ssh && install -m 600 -o deploy -g deploy /root/.ssh/authorized_keys /home/deploy/.ssh/authorized_keys",
        );
        // The user's NAS exports are writable by www-data (uid 33), as docs/hosts.md asks of external storage.
        for (const h of HOSTS.filter((x) => x.roles.includes("web"))) onHost(h.name, `chown 33:33 ${SHARED.map((v) => v.path).join(" ")}`);
        for (const h of HOSTS)
            await waitFor(
                `systemd on ${h.name}`,
                () => {
                    try {
                        return /running|degraded/.test(onHost(h.name, "systemctl is-system-running || true"));
                    } catch {
                        return false;
                    }
                },
                90_000,
                1000,
            );
        // Each machine its own host keys (the fixture image's, made when it was built, are the same on all four).
        for (const h of HOSTS) onHost(h.name, NEW_HOST_KEYS);
        for (const h of HOSTS) pinned.push({ ...h, hostKey: await recordHostKey(h.name, h.address) });
        assert.equal(new Set(pinned.map((h) => h.hostKey)).size, HOSTS.length);
        timings.hostsReady = (Date.now() - started) / 1000;
        buildPushFixtureImage(PUSH_FIXTURE_IMAGE);
        pushTarball = path.join(stack.dir, "push-server.tar.gz");
        writePushFixtureTarball(PUSH_FIXTURE_IMAGE, pushTarball);
        pebble = await startPebble(daemons, pebbleDir, { ...PEBBLE, resolveTo: VIP, validityS: VALIDITY_S });
        write(path.join(pebbleDir, "root.pem"), pebble.root);

        await stack.init({
            placement: "hosts",
            dbEngine: "mariadb",
            sharedStorage: "external",
            redisReplicas: 1,
            sshBastion: `root@${ip(11)}`,
            sshBastionHostKey: pinned[0].hostKey,
            floatingAddress: VIP,
            dbRedoLogMb: 64,
            dbBufferPoolMb: 128,
            dbMemoryMb: 768,
            webMemoryMb: 384,
            redisMaxMemoryMb: 32,
            redisMemoryMb: 128,
            pushServers: 2,
            pushArchive: pushTarball,
            serverName: NAME,
            tlsMode: "acme",
            acmeEmail: "ops@example.com",
            acmeDirectory: pebble.directory,
            dbBinlogStream: true,
        });
        stack.setSecret("sshPrivateKey", servers[0].connection.privateKey);
        stack.setSecret("redisPassword", REDIS_PASSWORD);
        stack.setSecret("pushSecurityKey", PUSH_KEY);
        // Every stack names its admins' networks (no private-range default): here the test's own, the hosts' network.
        stack.setStructuredConfig({ hosts: pinned, adminAllowlist: ["127.0.0.0/8", NET.subnet], acmeDirectoryCa: pebble.directoryCa });
    });

    after(async () => {
        await stack.remove();
        cleanUp();
        sh("sh", ["-c", `docker rmi ${PUSH_FIXTURE_IMAGE} >/dev/null 2>&1 || true`]);
        await daemons.stopAll();
        console.log(`# hosts e2e timings (s): ${JSON.stringify(timings)}`);
    });

    it("stops `pulumi up` at the handshake when the bastion's host key changed: no login anywhere, nothing created", async () => {
        const since = onHost("h1", "date +%s");
        // h1 (the bastion) gets new host keys, as an impostor answering at its address would have; its own are kept aside.
        onHost("h1", "mkdir -p /root/kept-host-keys && cp -p /etc/ssh/ssh_host_* /root/kept-host-keys/");
        onHost("h1", NEW_HOST_KEYS);
        try {
            assert.notEqual(ownHostKey("h1"), pinned[0].hostKey);
            const r = await stack.run(["up", "--yes", "--skip-preview"], 10 * 60_000);
            timings.refusedUp = r.seconds;
            const out = `${r.stdout}\n${r.stderr}`;
            assert.notEqual(r.code, 0, out.slice(-3000));
            // The official provider: "proxy: ... ssh: handshake failed: ssh: host key mismatch"; the offline stand-in (ssh2):
            // "Host denied (verification failed)".
            assert.match(out, /host key mismatch|Host denied \(verification failed\)/, out.slice(-3000));
            console.log(`# hosts: bastion's key changed: ${refusal(out)}`);
            // The key check comes before authentication: no session was opened on any machine, so no stdin (no secret)
            // was sent, and nothing exists on the hosts or in the state.
            for (const h of HOSTS) {
                assert.doesNotMatch(sshLog(h.name, since), /Accepted publickey/, `${h.name} accepted a login`);
                assert.equal(onHost(h.name, "ls -A /etc/bitrix-cluster 2>/dev/null | wc -l"), "0", h.name);
            }
            const state = JSON.parse((await stack.ok(["stack", "export"])).stdout);
            // No remote command, and no local one either (tlsMode acme: no self-signed pair is made where pulumi runs).
            assert.deepEqual(
                (state.deployment?.resources ?? []).filter((x: any) => x.type.startsWith("command:")).map((x: any) => x.urn),
                [],
            );
        } finally {
            onHost("h1", "cp -p /root/kept-host-keys/* /etc/ssh/ && rm -rf /root/kept-host-keys && systemctl restart ssh");
        }
        assert.equal(await recordHostKey("h1", ip(11)), pinned[0].hostKey);
    });

    it("provisions the whole cluster onto the hosts with one `pulumi up`", async () => {
        const r = await stack.ok(["up", "--yes", "--skip-preview"], 40 * 60_000);
        timings.coldUp = r.seconds;
        const outputs = await stack.outputs();
        assert.equal(outputs.url, `https://${VIP}/`);
        assert.equal(outputs.statusUrl, `http://${ip(11)}:8404/`);
        assert.deepEqual(outputs.statusUrls, [`http://${ip(11)}:8404/`, `http://${ip(13)}:8404/`]);
        assert.deepEqual(outputs.webNodes, [ip(12), ip(14)]);
        assert.equal(outputs.dbMaster, `${ip(11)}:3306`);
        assert.deepEqual(outputs.sentinels, [`${ip(11)}:26379`, `${ip(12)}:26379`, `${ip(13)}:26379`]);
        assert.deepEqual(outputs.nfsExports, []);
        assert.deepEqual(outputs.pushServers, [ip(11), ip(13)]);
        // Every SSH session came through the bastion (h1), h3's as "deploy"; none straight from the Docker host.
        const logins = (h: string) => onHost(h, "journalctl -u ssh --no-pager -o cat | grep 'Accepted publickey' || true");
        assert.match(logins("h2"), new RegExp(`Accepted publickey for root from ${ip(11).replace(/\./g, "\\.")} `));
        assert.doesNotMatch(logins("h2"), /from 172\.28\.30\.1 /);
        assert.match(logins("h3"), new RegExp(`Accepted publickey for deploy from ${ip(11).replace(/\./g, "\\.")} `));
        assert.doesNotMatch(logins("h3"), /for root/);
        for (const [host, units] of [
            ["h1", ["balancer-1", "acme", "db-master", "redis-1", "sentinel-1", "push-1", "push-redis"]],
            ["h2", ["web-1", "db-replica-1", "sentinel-2"]],
            ["h3", ["balancer-2", "redis-2", "sentinel-3", "monitoring", "push-2"]],
            ["h4", ["web-2"]],
        ] as const) {
            const states = onHost(
                host,
                units.map((u) => `echo ${u} $(systemctl is-enabled bitrix-${u}) $(systemctl is-active bitrix-${u})`).join("; "),
            );
            assert.deepEqual(
                states.split("\n"),
                units.map((u) => `${u} enabled active`),
            );
        }
    });

    it("answers from every web node through the balancer, and shows both UP", async () => {
        assert.deepEqual([...(await nodesAnswering(12))].sort(), [container("h2"), container("h4")]);
        assert.deepEqual(await webRows(), ["web-1:UP", "web-2:UP"]);
    });

    it("puts the floating address on exactly one balancer host, which hands it over on a clean stop and keeps it when the other returns", async () => {
        const holding = async () => {
            const addrs = await Promise.all(["h1", "h3"].map((h) => onHostAsync(h, "ip -4 -o addr show dev eth0")));
            return ["h1", "h3"].filter((_, i) => addrs[i].includes(` ${VIP}/32 `));
        };
        const before = await holding();
        assert.equal(before.length, 1, `holders: ${before.join(", ")}`);
        const [holder] = before;
        const other = holder === "h1" ? "h3" : "h1";
        const unit = holder === "h1" ? "bitrix-balancer-1" : "bitrix-balancer-2";
        const load = startLoad(`${base}/probe/?action=node`);
        await new Promise((r) => setTimeout(r, 1500));
        const at = load.now();
        const stopped = onHostAsync(holder, `systemctl stop ${unit}`);
        await waitFor(`${other} holding ${VIP}`, async () => (await holding()).join() === other, 10_000, 100);
        await stopped;
        const takeoverS = (load.now() - at) / 1000;
        await new Promise((r) => setTimeout(r, 3000));
        const back = load.now();
        await onHostAsync(holder, `systemctl start ${unit}`);
        await new Promise((r) => setTimeout(r, 4000));
        const records = await load.stop();
        const stop = interruption(records, at, at - 1000, back);
        const start = interruption(records, back, back, records[records.length - 1].end);
        console.log(
            `# hosts: clean stop of ${unit} on ${holder}: address on ${other} after ${takeoverS.toFixed(2)} s, gap ${stop.gapS} s, ${stop.failed}/${stop.requests} failed; start again: gap ${start.gapS} s, ${start.failed}/${start.requests} failed`,
        );
        assert.equal(stop.failed, 0, JSON.stringify(stop.errors));
        assert.equal(start.failed, 0, JSON.stringify(start.errors));
        assert.ok(stop.gapS <= 3, `gap ${stop.gapS} s`);
        assert.deepEqual(await holding(), [other], "the returning balancer took the address back");
        assert.equal(onHost(holder, `systemctl is-active ${unit}`), "active");
    });

    it("scrapes every host's node-exporter and every layer from the monitoring host", async () => {
        const outputs = await stack.outputs();
        assert.equal(outputs.prometheusUrl, `http://${ip(13)}:9090/`);
        const expected = {
            prometheus: 1,
            alertmanager: 1,
            node: 4,
            mysqld: 2,
            redis: 2,
            sentinel: 3,
            haproxy: 2,
            phpfpm: 2,
            "blackbox-web": 2,
            acme: 1,
        };
        let last = "";
        await waitFor(
            "every target up",
            async () => {
                const r = await request(`http://${ip(13)}:9090/api/v1/targets?state=active`);
                const targets = JSON.parse(r.body).data.activeTargets as any[];
                last = targets
                    .map((t) => `${t.labels.job}/${t.labels.instance}:${t.health}${t.lastError ? ` (${t.lastError})` : ""}`)
                    .join(", ");
                const jobs = Object.fromEntries(
                    Object.keys(expected).map((j) => [j, targets.filter((t) => t.labels.job === j && t.health === "up").length]),
                );
                return JSON.stringify(jobs) === JSON.stringify(expected);
            },
            90_000,
            2000,
        ).catch((e) => assert.fail(`${(e as Error).message}: ${last}`));
        // Each machine's node-exporter is the distribution's own unit.
        for (const h of HOSTS) assert.equal(onHost(h.name, "systemctl is-active prometheus-node-exporter"), "active", h.name);
        console.log(`# hosts monitoring: ${last.split(", ").length} targets up`);
    });

    it("runs the push server from the user's tarball: root's files, an unprivileged process, configs for its group only", () => {
        for (const h of ["h1", "h3"]) {
            // Unpacked by root, nothing in it writable by the service user; the process is not root.
            assert.equal(
                onHost(h, "stat -c '%U:%G %a' /opt/bitrix-cluster/push-server /opt/bitrix-cluster/push-server/start"),
                "root:root 755\nroot:root 755",
                h,
            );
            assert.equal(onHost(h, "find /opt/bitrix-cluster/push-server ! -user root -o -perm /022 | wc -l"), "0", h);
            // The push server is the host's only Node.js process.
            assert.equal(
                onHost(h, `for d in /proc/[0-9]*; do [ "$(cat $d/comm 2>/dev/null)" = node ] && stat -c %U $d; done; true`),
                "bitrix-push",
                h,
            );
            assert.equal(
                onHost(h, "stat -c '%a %U:%G' /etc/push-server/push-server-sub-8010.json /etc/push-server/push-server-pub-9010.json"),
                "640 root:bitrix-push\n640 root:bitrix-push",
                h,
            );
        }
        // Its Node modules came in the tarball: the host has Node.js from Debian and nothing else of the server's.
        assert.equal(onHost("h3", "dpkg-query -W -f='${Status}' node-ws 2>/dev/null || echo absent"), "absent");
    });

    it("delivers a message published through either web node to a websocket on the floating address within 1 s; /bitrix/pub/ from outside is refused", async () => {
        const [holder] = await holders(["h1", "h3"].map(container), VIP);
        const r = await deliveryDrill({
            base,
            key: PUSH_KEY,
            webs: [container("h2"), container("h4")],
            pushContainers: [container("h1"), container("h3")],
            statusUrl: `http://${holder === container("h1") ? ip(11) : ip(13)}:8404/`,
        });
        console.log(`# hosts push delivery: latency by publishing node (ms) ${JSON.stringify(r.latencyMs)}`);
        timings.pushDeliveryMs = r.latencyMs as any;
        assert.ok(r.pass, JSON.stringify(r));
        const channel = channelId();
        for (const rawPath of [`/bitrix/pub/?CHANNEL_ID=${channel}`, `/BITRIX/%70ub/?CHANNEL_ID=${channel}`]) {
            const out = await request(`${base}/`, { method: "POST", body: '{"seq":-1}', rawPath });
            assert.equal(out.status, 403, rawPath);
            assert.match(out.body, /Request forbidden by administrative rule/, rawPath);
        }
    });

    /** Both balancer hosts serve one certificate that chains to pebble's root, other than `not`; its serial. */
    const bothServe =
        (not: string[] = []) =>
        () => {
            const chains = [ip(11), ip(13)].map(servedChain);
            if (chains.some((c) => c.length < 2)) return undefined;
            const serials = chains.map((c) => serialOf(c[0]));
            if (serials[0] !== serials[1] || not.includes(serials[0])) return undefined;
            write(path.join(pebbleDir, "leaf.pem"), chains[0][0]);
            write(path.join(pebbleDir, "chain.pem"), chains[0].slice(1).join(""));
            try {
                sh("openssl", [
                    "verify",
                    "-CAfile",
                    path.join(pebbleDir, "root.pem"),
                    "-untrusted",
                    path.join(pebbleDir, "chain.pem"),
                    path.join(pebbleDir, "leaf.pem"),
                ]);
            } catch {
                return undefined;
            }
            return serials[0];
        };

    it("serves one pebble certificate on both balancer hosts: issued on h1, pushed to h3 through deploy's forced sudo command", async () => {
        const serial = await waitFor("a pebble certificate on h1 and h3", bothServe(), 180_000, 1000);
        timings.acmeIssuedInS = Number(/certificate issued in (\d+) s/.exec(acmeLog())?.[1]);
        console.log(`# hosts acme: serial ${serial} on both balancers; lego run ${timings.acmeIssuedInS} s`);
        // h3's line for the push key: deploy's, from h1 only, running only the receiver through sudo.
        const line = onHost("h3", `grep -F ' ${PUSH_MARKER}' /home/deploy/.ssh/authorized_keys`);
        assert.match(
            line,
            new RegExp(
                `^restrict,from="${ip(11).replace(/\./g, "\\.")}",command="sudo -n /usr/local/sbin/bitrix-tls-receive",no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty ssh-ed25519 \\S+ ${PUSH_MARKER}$`,
            ),
        );
        assert.equal(
            onHost("h3", "stat -c '%a %U' /home/deploy/.ssh/authorized_keys /var/lib/bitrix-tls/site.pem"),
            "600 deploy\n600 root",
        );
        // The private half exists on h1 only, root's.
        assert.equal(onHost("h1", "stat -c '%a %U' /etc/bitrix-cluster/push/acme/id_ed25519"), "600 root");
        for (const h of ["h2", "h3", "h4"]) assert.equal(onHost(h, "ls /etc/bitrix-cluster/push 2>/dev/null | wc -l"), "0", h);
        // Whatever command is asked for, the key runs the receiver, which refuses an empty stdin.
        const tried = onHost(
            "h1",
            `ssh -F /dev/null -i /etc/bitrix-cluster/push/acme/id_ed25519 -o BatchMode=yes -o UserKnownHostsFile=/etc/bitrix-cluster/push/acme/known_hosts deploy@${ip(13)} id </dev/null 2>&1; echo "exit $?"`,
        );
        assert.match(tried, /tls-receive: refused: not a certificate chain followed by one private key\nexit 1$/);
        assert.doesNotMatch(tried, /uid=/);
        assert.match(acmeMetrics(), /^bitrix_acme_push_success\{peer="h3"\} 1$/m);
        for (const h of ["h1", "h3"]) assert.doesNotMatch(onHost(h, "cat /var/log/bitrix-cluster/*.log"), /PRIVATE KEY/, h);
    });

    it("pushes a forced renewal to both balancer hosts: the same new serial on h1 and h3", async () => {
        const before_ = await waitFor("one certificate on both", bothServe(), 30_000, 500);
        const t0 = Date.now();
        const run = onHost("h1", 'acme-run once force 2>&1; echo "exit $?"');
        assert.match(run, /exit 0$/, run);
        const after_ = await waitFor("the renewed certificate on h1 and h3", bothServe([before_]), 60_000, 250);
        timings.acmeRenewalOnBothS = (Date.now() - t0) / 1000;
        console.log(
            `# hosts acme: forced renewal ${before_} -> ${after_} on both balancers ${timings.acmeRenewalOnBothS} s after the request`,
        );
        assert.match(run, /pushed the certificate to h3/);
    });

    it("shows a failed push (h3's line removed) in the log and the metrics, and retries it once the line is back", async () => {
        const before_ = await waitFor("one certificate on both", bothServe(), 30_000, 500);
        const failuresBefore = Number(/^bitrix_acme_push_failures_total (\d+)$/m.exec(acmeMetrics())?.[1]);
        onHost(
            "h3",
            `cp -p /home/deploy/.ssh/authorized_keys /root/authorized_keys.kept && sed -i '/ ${PUSH_MARKER}$/d' /home/deploy/.ssh/authorized_keys`,
        );
        let restored = false;
        try {
            const run = onHost("h1", 'acme-run once force 2>&1; echo "exit $?"');
            assert.match(run, /exit 1$/, run);
            assert.match(
                run,
                /FAILED to push the certificate to h3 \(deploy@172\.28\.30\.13:22\), retrying in 30 s: .*Permission denied/,
                run,
            );
            await waitFor(
                "h1 serving the renewed certificate",
                () => (servedLeaf(ip(11)) && serialOf(servedLeaf(ip(11))) !== before_) || undefined,
                30_000,
                250,
            );
            assert.equal(serialOf(servedLeaf(ip(13))), before_, "h3 keeps the certificate it had");
            const metrics = acmeMetrics();
            assert.match(metrics, /^bitrix_acme_push_success\{peer="h3"\} 0$/m);
            assert.ok(Number(/^bitrix_acme_push_failures_total (\d+)$/m.exec(metrics)?.[1]) > failuresBefore, metrics);
            // The lego run itself succeeded: only the push alert (AcmePushFailing) would fire, not AcmeRenewalFailing.
            assert.match(metrics, /^bitrix_acme_last_attempt_success 1$/m);
            onHost("h3", "cp -p /root/authorized_keys.kept /home/deploy/.ssh/authorized_keys && rm /root/authorized_keys.kept");
            restored = true;
            const t0 = Date.now();
            const now = await waitFor("h3 serving the renewed certificate after the retry", bothServe([before_]), 90_000, 500);
            timings.acmePushRetryS = (Date.now() - t0) / 1000;
            assert.match(acmeMetrics(), /^bitrix_acme_push_success\{peer="h3"\} 1$/m);
            console.log(
                `# hosts acme: push to h3 refused (line removed), logged and counted; ${now} reached h3 ${timings.acmePushRetryS} s after the line was back`,
            );
        } finally {
            if (!restored) onHost("h3", "cp -p /root/authorized_keys.kept /home/deploy/.ssh/authorized_keys");
        }
    });

    it("continues a session started on one node on the other", async () => {
        const first = await probe("session", { node: "web-1" });
        assert.equal(first.node, container("h2"));
        const second = await probe("session", { node: "web-2", cookie: `PHPSESSID=${first.session}` });
        assert.equal(second.node, container("h4"));
        assert.equal(second.session, first.session);
        assert.equal(second.count, first.count + 1);
    });

    it("replicates a row from the master host to the replica host with GTID positioning", async () => {
        const value = `hosts-${Date.now()}`;
        // The cluster module's table, as its install creates it: db-failover registers the replica in it.
        onHost("h1", `mariadb bitrix -e "${CLUSTER_MODULE_SQL}"`);
        // Each probe writes a row: wait with throwaway values, then write the one this test counts.
        await waitFor(
            "a read through the registered replica",
            async () => ((await probe("db", { query: `&value=wait-${Date.now()}` })).replica ? true : undefined),
            30_000,
            1000,
        );
        const r = await probe("db", { query: `&value=${value}` });
        assert.equal(r.replica, container("h2"), "read back from the replica server (its @@hostname)");
        assert.equal(r.replicated, true, `row ${r.id} not read back from the replica`);
        const status = onHost("h2", "mariadb -e 'SHOW SLAVE STATUS\\G'");
        assert.match(status, /Slave_IO_Running: Yes/);
        assert.match(status, /Slave_SQL_Running: Yes/);
        assert.match(status, /Using_Gtid: Slave_Pos/);
        assert.match(status, new RegExp(`Master_Host: ${ip(11).replace(/\./g, "\\.")}`));
        assert.equal(onHost("h2", `mariadb -N -B -e "SELECT COUNT(*) FROM bitrix.probe_rows WHERE value = '${value}'"`), "1");
    });

    it("shares uploaded files between the web hosts through the external storage", async () => {
        const body = `uploaded at ${new Date().toISOString()}\n`;
        await probe("file", { node: "web-1", method: "POST", body, query: "&name=hosts.txt" });
        const read = await request(`${base}/probe/?action=file&name=hosts.txt`, { headers: { Cookie: "BXSRV=web-2" } });
        assert.equal(JSON.parse(read.body).node, container("h4"));
        assert.equal(JSON.parse(read.body).content, body);
    });

    /** The backup tool against this stack (its backend, config file and a restic repository of its own). */
    const backupEnv = () => ({
        ...stack.env,
        RESTIC_REPOSITORY: path.join(stack.dir, "backups"),
        RESTIC_PASSWORD: "hosts-e2e-backup-password",
        BITRIX_CONFIG_FILE: stack.configFile,
    });
    const backupCli = (args: string[]) => {
        const r = spawnSync("node", [path.join(projectDir(), "build", "tools", "backup-cli.js"), ...args, "--stack", "hosts-e2e"], {
            cwd: projectDir(),
            env: backupEnv(),
            encoding: "utf8",
            timeout: 10 * 60_000,
        });
        assert.equal(r.status, 0, `backup-cli ${args.join(" ")}: ${r.stderr}`);
        // The stack's SSH key is read from its config for the run, and never printed.
        const keyBody = servers[0].connection.privateKey.split("\n")[1];
        assert.ok(!`${r.stdout}${r.stderr}`.includes(keyBody), "the private key is not in the tool's output");
        const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as {
            gtid: string;
            files: number;
            bytes: number;
            seconds: number;
            method: string;
        };
        return { ...out, log: r.stderr };
    };
    const sql = (host: string, query: string) => onHost(host, `mariadb -N -B -e "${query}"`);

    it("backs up the hosts stack over SSH and restores a dropped table and a deleted upload (restore drill through the bastion and sudo)", async () => {
        const sshDirs = () => sh("sh", ["-c", "ls -d /tmp/bitrix-cluster-ssh-* 2>/dev/null || true"]).trim();
        const sshDirsBefore = sshDirs();
        sql("h1", "CREATE TABLE bitrix.b_hosts_drill (id INT PRIMARY KEY, v TEXT)");
        sql("h1", "INSERT INTO bitrix.b_hosts_drill SELECT seq, REPEAT('h', 500) FROM bitrix.seq_1_to_200");
        const checksum = sql("h1", "CHECKSUM TABLE bitrix.b_hosts_drill");
        await waitFor(
            "the replica host has the drill table",
            () => sql("h2", "CHECKSUM TABLE bitrix.b_hosts_drill") === checksum,
            30_000,
            500,
        );
        const upload = "/var/www/html/upload/probe/hosts.txt";
        const content = onHost("h2", `cat ${upload}`);

        const b = backupCli(["backup"]);
        assert.match(String(b.gtid), /^0-1-\d+$/);
        assert.ok(Number(b.files) >= 4 && Number(b.bytes) > 0, JSON.stringify(b));
        assert.match(b.log, /dumping bitrix on h2/, "the dump is taken on the replica host");
        assert.match(b.log, /shared tree \/var\/www\/html\/upload from h2/, "the external storage is read on web-1's host");
        sql("h1", "DROP TABLE bitrix.b_hosts_drill");
        onHost("h2", `rm ${upload}`);
        assert.equal(sql("h2", "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'b_hosts_drill'"), "0");

        const r = backupCli(["restore"]);
        assert.equal(sql("h1", "CHECKSUM TABLE bitrix.b_hosts_drill"), checksum);
        await waitFor(
            "the replica host has the restored table",
            () => sql("h2", "CHECKSUM TABLE bitrix.b_hosts_drill") === checksum,
            30_000,
            500,
        );
        // Back on the shared storage, as www-data: the other web host serves it.
        assert.equal(onHost("h4", `stat -c %u ${upload}`), "33");
        const read = await request(`${base}/probe/?action=file&name=hosts.txt`, { headers: { Cookie: "BXSRV=web-2" } });
        assert.equal(JSON.parse(read.body).content, `${content}\n`);
        // The figures went to the monitoring host (h3, reached as deploy through sudo), for its node-exporter.
        const prom = onHost("h3", "cat /var/lib/prometheus/node-exporter/bitrix-backup-success.prom");
        assert.match(prom, /bitrix_backup_last_success_timestamp_seconds\{stack="hosts-e2e",method="logical"\} \d+/);
        assert.equal(onHost("h3", "stat -c %a /var/lib/prometheus/node-exporter/bitrix-restore-success.prom"), "644");
        // Nothing of the run's SSH access is left behind.
        assert.equal(sshDirs(), sshDirsBefore);
        console.log(
            `# hosts restore drill: backup ${Number(b.seconds).toFixed(1)} s (${b.files} files, ${b.bytes} bytes); restore ${Number(r.seconds).toFixed(1)} s`,
        );
        timings.backup = Number(b.seconds);
        timings.restore = Number(r.seconds);
    });

    it("restores a physical copy onto the hosts: mariadb-backup on the replica host, every database unit refilled, replication and writes back", async () => {
        sql("h1", "CREATE TABLE bitrix.b_hosts_phys (id INT PRIMARY KEY, v VARCHAR(40))");
        sql("h1", "INSERT INTO bitrix.b_hosts_phys SELECT seq, CONCAT('row-', seq) FROM bitrix.seq_1_to_300");
        const checksum = sql("h1", "CHECKSUM TABLE bitrix.b_hosts_phys");
        await waitFor("the replica host has the table", () => sql("h2", "CHECKSUM TABLE bitrix.b_hosts_phys") === checksum, 30_000, 500);

        const b = backupCli(["backup", "--method", "physical"]);
        assert.equal(b.method, "physical");
        assert.match(b.gtid, /^0-1-\d+$/);
        assert.match(b.log, /physical copy of h2/);
        sql("h1", "DELETE FROM bitrix.b_hosts_phys WHERE id > 100; INSERT INTO bitrix.b_hosts_phys VALUES (9999, 'after-backup')");

        const r = backupCli(["restore"]);
        assert.match(r.log, /stopping bitrix-db-failover\.service on h2 and the database servers h1 \(db-master\), h2 \(db-replica-1\)/);
        assert.match(r.log, /database layer rebuilt: stop [\d.]+ s, copy-back/);
        assert.equal(sql("h1", "CHECKSUM TABLE bitrix.b_hosts_phys"), checksum, "the 300 rows as at the backup, the later row gone");
        assert.equal(sql("h1", "SELECT @@global.read_only"), "0");
        assert.equal(sql("h2", "SELECT @@global.read_only"), "1");
        const status = onHost("h2", "mariadb -e 'SHOW SLAVE STATUS\\G'");
        assert.match(status, /Slave_IO_Running: Yes/);
        assert.match(status, /Slave_SQL_Running: Yes/);
        assert.match(status, new RegExp(`Master_Host: ${ip(11).replace(/\./g, "\\.")}`));
        assert.equal(onHost("h2", "systemctl is-active bitrix-db-failover.service"), "active");
        // The application writes through the master again, and the row reaches the replica host.
        const value = `after-physical-${Date.now()}`;
        assert.equal((await probe("db", { query: `&value=${value}` })).replicated, true);
        assert.equal(onHost("h1", "ls -d /var/tmp/bitrix-cluster-copy-* 2>/dev/null | wc -l"), "0", "no copy left on the machines");
        console.log(
            `# hosts physical restore drill: backup ${b.seconds.toFixed(1)} s (${b.files} files, ${b.bytes} bytes); restore ${r.seconds.toFixed(1)} s`,
        );
        timings.physicalBackup = b.seconds;
        timings.physicalRestore = r.seconds;
    });

    it("restores to a chosen second on the hosts (PITR): the streamer beside the replica replays up to it over SSH", async () => {
        const streamed = (pattern: string) => onHost("h2", `grep -l -a -r ${pattern} /var/lib/bitrix-binlogs || true`) !== "";
        assert.equal(onHost("h2", "systemctl is-active bitrix-binlog-stream.service"), "active");
        const b = backupCli(["backup"]);
        onHost(
            "h1",
            `mariadb bitrix -e "CREATE TABLE b_hosts_pitr (id INT PRIMARY KEY, phase VARCHAR(16)); INSERT INTO b_hosts_pitr SELECT seq, 'pitr-early' FROM seq_1_to_40"`,
        );
        await new Promise((r) => setTimeout(r, 1500));
        const at = Math.ceil(Date.now() / 1000) * 1000;
        const to = new Date(at).toISOString().slice(0, 19).replace("T", " ");
        await new Promise((r) => setTimeout(r, at - Date.now() + 1200));
        const lateAt = Math.floor(Date.now() / 1000);
        sql("h1", "INSERT INTO bitrix.b_hosts_pitr SELECT seq, 'pitr-late' FROM bitrix.seq_41_to_60");
        await waitFor("the streamer has the late rows", () => streamed("pitr-late"), 10_000, 250);
        // Its lag reaches Prometheus through h2's own node-exporter (the textfile directory on that machine).
        const caughtUp = await waitFor(
            "Prometheus sees h2's binlog stream caught up after the late rows",
            async () => {
                const r = await request(
                    `http://${ip(13)}:9090/api/v1/query?query=${encodeURIComponent('bitrix_binlog_stream_last_caught_up_timestamp_seconds{instance="h2"} and on(instance) bitrix_binlog_stream_lag_bytes == 0')}`,
                );
                const v = JSON.parse(r.body).data.result[0]?.value?.[1] as string | undefined;
                return v !== undefined && Number(v) >= lateAt && Number(v);
            },
            30_000,
            1000,
        );
        assert.match(onHost("h2", "stat -c '%a %U' /var/lib/prometheus/node-exporter/bitrix-binlog-stream.prom"), /^644 root$/);
        console.log(
            `# hosts binlog stream metrics: caught up ${caughtUp - lateAt} s after the late rows' write began (h2's node-exporter)`,
        );
        const r = backupCli(["restore", "--to", to]) as ReturnType<typeof backupCli> & { replayed: number };
        assert.equal(r.gtid, b.gtid);
        assert.ok(r.replayed >= 2, JSON.stringify(r));
        assert.equal(sql("h1", "SELECT COUNT(*) FROM bitrix.b_hosts_pitr WHERE phase = 'pitr-early'"), "40");
        assert.equal(sql("h1", "SELECT COUNT(*) FROM bitrix.b_hosts_pitr WHERE phase = 'pitr-late'"), "0");
        await waitFor(
            "the replica host has the replayed rows",
            () => sql("h2", "SELECT COUNT(*) FROM bitrix.b_hosts_pitr") === "40",
            30_000,
            500,
        );
        console.log(`# hosts PITR drill: restore to ${to} UTC in ${r.seconds.toFixed(1)} s (${r.replayed} transactions replayed)`);
        timings.pitrRestore = r.seconds;
    });

    it("clones the stack onto three other machines: the source's logical backup restored there, the source untouched", async () => {
        // The staging machines, on the same network; the clone reaches them through the same bastion (h1).
        const stg = [
            { name: "s1", address: ip(21), roles: ["balancer", "db-master", "redis", "sentinel"] },
            { name: "s2", address: ip(22), roles: ["web", "db-replica", "sentinel"] },
            { name: "s3", address: ip(23), roles: ["redis", "sentinel"] },
        ];
        for (const h of stg) {
            startHost(h, STAGING_SHARED);
            if (h.roles.includes("web")) onHost(h.name, `chown 33:33 ${STAGING_SHARED.map((v) => v.path).join(" ")}`);
        }
        for (const h of stg)
            await waitFor(
                `systemd on ${h.name}`,
                () => /running|degraded/.test(onHost(h.name, "systemctl is-system-running || true")),
                90_000,
                1000,
            );
        const stgPinned = [];
        for (const h of stg) {
            onHost(h.name, NEW_HOST_KEYS);
            stgPinned.push({ ...h, hostKey: await recordHostKey(h.name, h.address) });
        }
        const dir = tmpDir("hosts-clone");
        const overrides = path.join(dir, "staging.yaml");
        const cloneConfig = path.join(dir, "Pulumi.hosts-stg.yaml");
        // One balancer (no floating address), one web node, no monitoring or push, a self-signed certificate (the
        // source's ACME name resolves to the source's address).
        write(
            overrides,
            JSON.stringify({
                hosts: stgPinned,
                balancers: 1,
                floatingAddress: "",
                webNodes: 1,
                dbReplicas: 1,
                redisReplicas: 1,
                sentinels: 3,
                monitoring: false,
                pushServers: 0,
                pushArchive: "",
                tlsMode: "self-signed",
                acmeEmail: "",
                acmeDirectory: "letsencrypt",
                acmeDirectoryCa: "",
                dbBinlogStream: false,
            }),
        );
        const sourceTables = sql("h1", "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'bitrix'");
        // The newest snapshot is a physical copy (the clone must skip it); the newest logical one is the PITR drill's,
        // taken before b_hosts_pitr existed.
        backupCli(["backup", "--method", "physical"]);
        const env = { ...backupEnv(), BITRIX_CLONE_CONFIG_FILE: cloneConfig };
        const cloneCli = (args: string[]) =>
            spawnSync("node", [path.join(projectDir(), "build", "tools", "clone-cli.js"), ...args], {
                cwd: projectDir(),
                env,
                encoding: "utf8",
                timeout: 20 * 60_000,
            });
        // First with the source's own machines: refused before anything is created.
        const same = cloneCli(["--from", "hosts-e2e", "--to", "hosts-stg", "--mask", "none"]);
        assert.notEqual(same.status, 0);
        assert.match(same.stderr, /hosts: 172\.28\.30\.11, 172\.28\.30\.12, 172\.28\.30\.13, 172\.28\.30\.14 are machines of both stacks/);
        assert.ok(!fs.existsSync(cloneConfig), "no clone stack was created");
        try {
            const r = cloneCli(["--from", "hosts-e2e", "--to", "hosts-stg", "--overrides", overrides, "--mask", "none"]);
            assert.equal(r.status, 0, r.stderr.slice(-3000));
            const cloneTimings = JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, number>;
            assert.match(r.stderr, /restored hosts-e2e's backup of/);
            for (const table of ["b_hosts_drill", "b_hosts_phys"])
                assert.equal(sql("s1", `CHECKSUM TABLE bitrix.${table}`), sql("h1", `CHECKSUM TABLE bitrix.${table}`));
            assert.equal(
                sql("s1", "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'b_hosts_pitr'"),
                "0",
                "not the physical copy",
            );
            await waitFor(
                "the staging replica has the table",
                () => sql("s2", "SELECT COUNT(*) FROM bitrix.b_hosts_drill") === "200",
                30_000,
                500,
            );
            // The staging portal serves the source's upload from its own storage.
            const read = await request(`https://${ip(21)}/probe/?action=file&name=hosts.txt`);
            assert.equal(read.status, 200, read.body);
            assert.equal(JSON.parse(read.body).node, container("s2"));
            assert.equal(JSON.parse(read.body).content, `${onHost("h2", "cat /var/www/html/upload/probe/hosts.txt")}\n`);
            // The source: its tables and both web nodes as before.
            assert.equal(sql("h1", "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'bitrix'"), sourceTables);
            assert.deepEqual((await webRows()).sort(), ["web-1:UP", "web-2:UP"]);
            console.log(`# hosts staging clone: ${JSON.stringify(cloneTimings)}`);
            timings.clone = cloneTimings.totalS;
        } finally {
            // The clone's own stack and machines go; the source's stay for the tests after this one.
            const pulumi = (args: string[]) =>
                spawnSync("pulumi", [...args, "--stack", "hosts-stg", "--yes"], {
                    cwd: projectDir(),
                    env,
                    encoding: "utf8",
                    timeout: 10 * 60_000,
                });
            if (fs.existsSync(cloneConfig)) pulumi(["destroy", "--config-file", cloneConfig, "--skip-preview"]);
            pulumi(["stack", "rm", "--force"]);
            for (const h of stg) sh("docker", ["rm", "-f", container(h.name)]);
            for (const v of STAGING_SHARED) sh("sh", ["-c", `docker volume rm -f ${v.volume} >/dev/null`]);
        }
    });

    it("has Sentinel on three hosts watching the master and its replica", () => {
        const cli = (cmd: string) =>
            onHost("h3", `. /etc/redis/bitrix/sentinel.env && REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -p 26379 ${cmd}`);
        assert.match(cli("SENTINEL CKQUORUM bitrix"), /^OK 3 usable Sentinels/);
        const fields = cli("SENTINEL MASTER bitrix").split("\n");
        const master = Object.fromEntries(fields.flatMap((f, i) => (i % 2 === 0 ? [[f, fields[i + 1]]] : [])));
        assert.equal(`${master.ip}:${master.port}`, `${ip(11)}:6379`);
        assert.equal(master["num-slaves"], "1");
        assert.equal(master["num-other-sentinels"], "2");
    });

    it("keeps secrets out of files others can read, out of the state and out of the output", async () => {
        assert.equal(onHost("h2", "stat -c '%a %U:%G' /var/www/html/bitrix/.settings.php"), "640 root:www-data");
        assert.equal(
            onHost("h1", "stat -c '%a %U' /etc/redis/bitrix/redis.conf /etc/bitrix-cluster/db-master.env /var/lib/redis/redis.conf"),
            "600 root\n600 root\n600 redis",
        );
        const state = (await stack.ok(["stack", "export"])).stdout;
        assert.ok(!state.includes(REDIS_PASSWORD), "the Redis password is in the state in plain text");
        assert.ok(!state.includes(PUSH_KEY), "the push signature key is in the state in plain text");
        assert.ok(!state.includes("PRIVATE KEY"), "the SSH key is in the state in plain text");
        const preview = await stack.ok(["preview", "--diff"]);
        assert.ok(!preview.stdout.includes(REDIS_PASSWORD) && !preview.stdout.includes("PRIVATE KEY"));
    });

    it("opens the cluster's ports only to the cluster's hosts, the balancer's HTTPS to everyone", async () => {
        // This test runs on the Docker host (172.28.30.1): not a cluster host, but inside the admin allowlist.
        assert.equal(await connects(ip(11), 443), true);
        assert.equal(await connects(ip(11), 8404), true);
        for (const [host, port] of [
            [ip(11), 3306],
            [ip(11), 6379],
            [ip(13), 26379],
            [ip(12), 80],
            [ip(12), 9253],
            [ip(11), 9100],
            [ip(11), 9010],
            [ip(13), 8010],
            [ip(11), 6380],
        ] as const) {
            assert.equal(await connects(host, port), false, `${host}:${port} is reachable from outside the cluster`);
        }
        // From a cluster host the same port answers.
        assert.equal(onHost("h3", `timeout 3 bash -c '</dev/tcp/${ip(11)}/3306' && echo open`), "open");
    });

    it("changes nothing on a second `pulumi up`", async () => {
        const up = await stack.ok(["up", "--yes", "--skip-preview", "--expect-no-changes"]);
        timings.noopUp = up.seconds;
        assert.doesNotMatch(up.stdout, /\b(created|updated|replaced|deleted)\b/);
    });

    it("re-runs exactly the steps a change touches: a PHP setting, its file and the web nodes' start steps; a new push tarball, its uploads and the push services' start steps, one at a time", async () => {
        const started = (h: string, unit: string) =>
            Number(onHost(h, `date -d "$(systemctl show -p ActiveEnterTimestamp --value ${unit})" +%s%N`));
        const pushBefore = [started("h1", "bitrix-push-1"), started("h3", "bitrix-push-2")];
        await stack.setConfig("phpMemoryLimitMb", 256);
        // The same path, other content: a server build with one more file.
        writePushFixtureTarball(PUSH_FIXTURE_IMAGE, pushTarball, { name: "VERSION", text: "2\n" });
        const steps = (await stack.previewSteps()).filter((s) => s.op !== "same" && s.type.startsWith("command:"));
        assert.deepEqual(steps.map((s) => `${s.op}:${s.urn.split("::").pop()}`).sort(), [
            "update:bx-hosts-e2e-push-1-archive",
            "update:bx-hosts-e2e-push-1-start",
            "update:bx-hosts-e2e-push-2-archive",
            "update:bx-hosts-e2e-push-2-start",
            "update:bx-hosts-e2e-web-1-node-file-etc-php-8-2-fpm-conf-d-99-bitrix-ini",
            "update:bx-hosts-e2e-web-1-node-start",
            "update:bx-hosts-e2e-web-2-node-file-etc-php-8-2-fpm-conf-d-99-bitrix-ini",
            "update:bx-hosts-e2e-web-2-node-start",
        ]);
        const up = await stack.ok(["up", "--yes", "--skip-preview"]);
        timings.phpSettingAndTarballUp = up.seconds;
        for (const h of ["h1", "h3"]) assert.equal(onHost(h, "cat /opt/bitrix-cluster/push-server/VERSION"), "2", h);
        const pushAfter = [started("h1", "bitrix-push-1"), started("h3", "bitrix-push-2")];
        assert.ok(pushAfter[0] > pushBefore[0] && pushAfter[1] > pushBefore[1], "both push services restarted");
        // push-2 restarted only after push-1 was back and healthy (its start step waits for push-1's).
        assert.ok(pushAfter[1] > pushAfter[0], `push-2 started at ${pushAfter[1]}, push-1 at ${pushAfter[0]}`);
        const delivered = await deliveryDrill({
            base,
            key: PUSH_KEY,
            webs: [container("h2")],
            pushContainers: [container("h1"), container("h3")],
            statusUrl: `http://${ip(11)}:8404/`,
        });
        assert.ok(delivered.pass, JSON.stringify(delivered));
        for (const h of ["h2", "h4"]) assert.match(onHost(h, "cat /etc/php/8.2/fpm/conf.d/99-bitrix.ini"), /^memory_limit = 256M$/m);
        // One node at a time: web-2 restarted after web-1 was healthy again.
        assert.ok(started("h4", "bitrix-web-2") >= started("h2", "bitrix-web-1"));
        await waitFor("both web nodes UP again", async () => (await webRows()).join() === "web-1:UP,web-2:UP", 30_000, 1000);
    });

    it("drains and removes a web host taken out of config, reloading the balancer without a failed request", async () => {
        const mainPid = () =>
            `${onHost("h1", "systemctl show -p MainPID --value bitrix-balancer-1")} ${onHost("h3", "systemctl show -p MainPID --value bitrix-balancer-2")}`;
        const pidBefore = mainPid();
        await stack.setConfig("webNodes", 1);
        stack.setStructuredConfig({ hosts: pinned.filter((h) => h.name !== "h4") });
        const steps = (await stack.previewSteps()).filter((s) => s.op !== "same" && s.type.startsWith("command:"));
        const touched = steps.map((s) => `${s.op}:${s.urn.split("::").pop()}`);
        assert.deepEqual(
            touched.filter((t) => t.startsWith("delete:") && !/web-2-node|hosts-h4-/.test(t)),
            [],
            touched.join("\n"),
        );
        assert.deepEqual(
            touched.filter((t) => /^(replace|create)/.test(t)),
            [],
            touched.join("\n"),
        );
        // Steady requests during the update: every one must succeed.
        let done = false;
        const counts = { ok: 0, failed: 0, errors: [] as string[] };
        const load = (async () => {
            while (!done && counts.ok + counts.failed < 5000) {
                try {
                    const r = await request(`${base}/probe/?action=node`, { timeoutMs: 5000 });
                    if (r.status === 200) counts.ok++;
                    else {
                        counts.failed++;
                        counts.errors.push(String(r.status));
                    }
                } catch (e) {
                    counts.failed++;
                    counts.errors.push((e as Error).message);
                }
            }
        })();
        const up = await stack.ok(["up", "--yes", "--skip-preview"]);
        done = true;
        await load;
        timings.removeWebHost = up.seconds;
        console.log(`# web host removal under load: ${counts.ok} ok, ${counts.failed} failed ${counts.errors.slice(0, 5).join("; ")}`);
        assert.equal(counts.failed, 0);
        assert.ok(counts.ok > 10, `only ${counts.ok} requests ran during the update`);
        assert.equal(mainPid(), pidBefore, "a balancer was restarted instead of reloaded");
        assert.deepEqual(await webRows(), ["web-1:UP"]);
        assert.equal(onHost("h4", "systemctl is-active bitrix-web-2 || true"), "inactive");
        assert.equal(onHost("h4", "systemctl is-enabled bitrix-web-2 2>/dev/null || echo gone"), "gone");
        assert.equal(onHost("h4", "ls /etc/bitrix-cluster/ | wc -l"), "0");
        assert.equal(onHost("h4", "nft list tables | grep -c bitrix_cluster || true"), "0");
        assert.deepEqual([...(await nodesAnswering(6))], [container("h2")]);
    });

    it("stops and disables every service on `pulumi destroy`, keeping the data", async () => {
        const r = await stack.ok(["destroy", "--yes", "--skip-preview"]);
        timings.destroy = r.seconds;
        for (const h of HOSTS.slice(0, 3)) {
            assert.equal(onHost(h.name, "systemctl list-units --state=active --no-legend 'bitrix-*' | wc -l"), "0", h.name);
            assert.equal(onHost(h.name, "nft list tables | grep -c bitrix_cluster || true"), "0", h.name);
        }
        assert.equal(onHost("h1", "test -f /var/lib/mysql/.bitrix-cluster-initialized && echo kept"), "kept");
        // The push key's line is gone from h3 (deploy's other lines stay), its key from h1.
        assert.equal(onHost("h3", `grep -c ' ${PUSH_MARKER}$' /home/deploy/.ssh/authorized_keys || true`), "0");
        assert.equal(onHost("h3", "grep -c . /home/deploy/.ssh/authorized_keys"), "1");
        assert.equal(onHost("h1", "test -e /etc/bitrix-cluster/push/acme && echo left || echo gone"), "gone");
    });

    it("stops at the handshake of a host behind the bastion whose key changed, while the bastion and the others are reached", async () => {
        const since = onHost("h2", "date +%s");
        const files = () => onHost("h2", "ls -lA --time-style=+%s /etc/bitrix-cluster /etc/systemd/system 2>&1 || true");
        const filesBefore = files();
        onHost("h2", NEW_HOST_KEYS);
        assert.notEqual(ownHostKey("h2"), pinned[1].hostKey);
        const r = await stack.run(["up", "--yes", "--skip-preview"], 20 * 60_000);
        timings.refusedHostUp = r.seconds;
        const out = `${r.stdout}\n${r.stderr}`;
        assert.notEqual(r.code, 0, out.slice(-3000));
        // Only h2's steps failed (after a clean destroy: its install), each at the handshake. Through the bastion the
        // official provider retries the handshake on the tunnel the failed one closed (provider/pkg/provider/remote/
        // connection.go, Dial), so its last error reads "handshake failed: EOF"; the first try said "host key mismatch".
        const failed = [...out.matchAll(/command:remote:Command (\S+) \*\*(?:creating|updating) failed\*\* error: (.*)/g)];
        assert.ok(failed.length > 0, out.slice(-3000));
        for (const [, step, error] of failed) {
            assert.match(
                step,
                /^bx-hosts-e2e-(hosts-h2-|web-1-node-|db-replica-1-|db-failover-|redis-sentinel-2-)/,
                `${step} is not on h2`,
            );
            assert.match(error, /handshake failed: (ssh: host key mismatch|EOF)|Host denied \(verification failed\)/, step);
        }
        console.log(`# hosts: h2's key changed: ${refusal(out)}`);
        assert.doesNotMatch(sshLog("h2", since), /Accepted publickey/, "h2 accepted a login");
        assert.equal(onHost("h2", "systemctl list-units --state=active --no-legend 'bitrix-*' | wc -l"), "0");
        assert.equal(files(), filesBefore, "files changed on h2");
        // The run did get that far: every connection to h2 came through a login on the bastion.
        assert.match(sshLog("h1", since), /Accepted publickey for root from 172\.28\.30\.1 /);
    });
});
