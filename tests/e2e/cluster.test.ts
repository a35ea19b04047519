/**
 * End to end: the real Pulumi engine runs this program against the local Docker engine (through the official
 * plugins, or the project's offline stand-ins where those cannot be had) and the cluster is checked through the
 * ports it publishes on 127.0.0.1. Run by `bash scripts/test.sh` (suite `e2e`), which provides pulumi and Docker.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import * as YAML from "yaml";
import { after, before, describe, it } from "node:test";
import { waitFor } from "../helpers/daemons";
import { CLUSTER_MODULE_SQL } from "../helpers/stack";
import { dockerObjects } from "../helpers/docker";
import { request } from "../helpers/http";
import { probeClient } from "../helpers/probe";
import { projectDir, requireEngineTools, TestStack } from "../helpers/pulumiStack";
import { summarizePreview } from "../../tools/previewSummary";
import { dashboardMetrics } from "../../components/monitoring/grafanaDashboard";
import { balancerDrill, drillTable, holders } from "../../tools/drill/balancerDrill";
import { dbMasterDrill } from "../../tools/drill/dbMasterDrill";
import { nfsDrill } from "../../tools/drill/nfsDrill";
import { findRedisMaster, redisMasterDrill } from "../../tools/drill/redisMasterDrill";
import { formatStretches, rollingUpdateDrill } from "../../tools/drill/rollingUpdateDrill";
import { webNodeDrill } from "../../tools/drill/webNodeDrill";
import { buildPushFixtureImage } from "../helpers/pushFixture";
import { channelId, publishFromWeb, seqOf, signChannel, subscribe, until } from "../../tools/drill/pushClient";
import { broadcastDrill, deliveryDrill, PushTarget, pushBalancerDrill, pushNodeDrill } from "../../tools/drill/pushDrill";

const PREFIX = "bx-e2e";
const PORTS = { http: 18080, https: 18443, status: 18404 };
const base = `https://127.0.0.1:${PORTS.https}`;
const REDIS_PASSWORD = "e2e-redis-secret-4b1d";
/** The stack network's gateway is the Docker host's address on it: the only non-loopback source the allowlist admits. */
const SUBNET = "172.28.20";
const VIP = `${SUBNET}.5`;
const BALANCERS = [`${PREFIX}-balancer-1`, `${PREFIX}-balancer-2`];
const MONITORING = { prometheus: 19090, alertmanager: 19093, webhook: 18093 };
/** The test push server (tests/fixtures/push-server), built here and given to the stack as the user's push image. */
const PUSH_IMAGE = `${PREFIX}-push-fixture:e2e`;
const PUSH_KEY = "e2ePushSignatureKey0123456789abcdefABCDEF";

function sh(cmd: string, args: string[]): string {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
}

/** Runs a shell snippet inside a container of the stack. */
function inContainer(service: string, script: string): string {
    return sh("docker", ["exec", `${PREFIX}-${service}`, "sh", "-c", script]);
}

const { probe, nodesAnswering } = probeClient(base);

/** Backend servers on the balancer's status page (CSV export) with their state. */
async function statusRows(): Promise<Array<{ proxy: string; server: string; status: string; total: number }>> {
    const r = await request(`http://127.0.0.1:${PORTS.status}/;csv`);
    assert.equal(r.status, 200);
    return r.body
        .split("\n")
        .filter((l) => l && !l.startsWith("#"))
        .map((l) => l.split(","))
        .map((f) => ({ proxy: f[0], server: f[1], status: f[17], total: Number(f[7]) }));
}

const CLONE_PREFIX = "bx-e2s";

/** Prometheus's active targets. */
async function promTargets(): Promise<Array<{ job: string; instance: string; health: string; error: string }>> {
    const r = await request(`http://127.0.0.1:${MONITORING.prometheus}/api/v1/targets?state=active`);
    return JSON.parse(r.body).data.activeTargets.map((t: any) => ({
        job: t.labels.job,
        instance: t.labels.instance,
        health: t.health,
        error: t.lastError,
    }));
}

async function promQuery(query: string): Promise<any[]> {
    const r = await request(`http://127.0.0.1:${MONITORING.prometheus}/api/v1/query?query=${encodeURIComponent(query)}`);
    return JSON.parse(r.body).data.result;
}

describe("pulumi up on the local Docker engine (stack e2e)", { timeout: 45 * 60_000 }, () => {
    const stack = new TestStack("e2e");
    const timings: Record<string, number> = {};
    const drillFile = `drill file ${new Date().toISOString()}\n`;
    const sql = (service: string, query: string) =>
        inContainer(service, `mariadb -uroot -p"$MARIADB_ROOT_PASSWORD" -N -B -e "${query}"`).trim();
    /** Runs one of the project's tools against this test's stacks (its backend, restic repository and config files). */
    const tool = (script: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
        const env = {
            ...stack.env,
            RESTIC_REPOSITORY: path.join(stack.dir, "backups"),
            RESTIC_PASSWORD: "e2e-backup-password",
            BITRIX_CONFIG_FILE: stack.configFile,
            ...extraEnv,
        };
        const out = execFileSync("node", [path.join(projectDir(), "build", "tools", script), ...args], {
            cwd: projectDir(),
            env,
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
            timeout: 15 * 60_000,
        });
        return JSON.parse(out.trim().split("\n").pop()!);
    };

    before(async () => {
        requireEngineTools();
        assert.deepEqual(
            dockerObjects(PREFIX),
            { containers: [], networks: [], volumes: [] },
            `objects of ${PREFIX} left from an earlier run`,
        );
        const t0 = Date.now();
        buildPushFixtureImage(PUSH_IMAGE);
        timings.pushImage = (Date.now() - t0) / 1000;
        await stack.init({
            dbEngine: "mariadb",
            sharedStorage: "docker-volume",
            retainDataVolumes: false,
            dbRedoLogMb: 64,
            dbBufferPoolMb: 128,
            dbMemoryMb: 768,
            webMemoryMb: 384,
            redisMaxMemoryMb: 32,
            redisMemoryMb: 128,
            prometheusPort: MONITORING.prometheus,
            alertmanagerPort: MONITORING.alertmanager,
            dockerSubnet: `${SUBNET}.0/24`,
            httpPort: PORTS.http,
            httpsPort: PORTS.https,
            statusPort: PORTS.status,
            pushServers: 2,
            pushImage: PUSH_IMAGE,
            dbBinlogStream: true,
        });
        stack.setSecret("redisPassword", REDIS_PASSWORD);
        stack.setSecret("pushSecurityKey", PUSH_KEY);
        // This test's receiver, on the Docker host's address on the stack network (Alertmanager runs in a container);
        // a config secret (a webhook URL can carry a token), given as its JSON list.
        stack.setSecret("alertWebhookUrls", JSON.stringify([`http://${SUBNET}.1:${MONITORING.webhook}/alerts`]));
        // The staging clone's gateway (172.28.21.1) too: its test reaches the clone from this host.
        stack.setStructuredConfig({ adminAllowlist: ["127.0.0.0/8", `${SUBNET}.1/32`, "172.28.21.1/32"] });
    });

    after(async () => {
        await stack.remove();
        // Whatever a failed run left (volumes kept by retainDataVolumes included): only this test's prefixes.
        for (const prefix of [PREFIX, CLONE_PREFIX]) {
            const left = dockerObjects(prefix);
            if (left.containers.length) sh("docker", ["rm", "-f", ...left.containers]);
            if (left.volumes.length) sh("docker", ["volume", "rm", "-f", ...left.volumes]);
            if (left.networks.length) sh("docker", ["network", "rm", ...left.networks]);
        }
        try {
            sh("docker", ["rmi", PUSH_IMAGE]);
        } catch {
            /* not built */
        }
        console.log(`# e2e timings (s): ${JSON.stringify(timings)}`);
    });

    it("brings the whole cluster up with one `pulumi up`", async () => {
        const r = await stack.ok(["up", "--yes", "--skip-preview"]);
        timings.coldUp = r.seconds;
        const outputs = await stack.outputs();
        // Two balancers: the portal is their floating address; 127.0.0.1:<httpsPort> is the first balancer's own door.
        assert.equal(outputs.url, `https://${VIP}/`);
        assert.equal(outputs.floatingAddress, VIP);
        assert.deepEqual(outputs.statusUrls, [`http://${SUBNET}.11:8404/`, `http://${SUBNET}.12:8404/`]);
        assert.deepEqual(outputs.webNodes, [`${PREFIX}-web-1`, `${PREFIX}-web-2`]);
        assert.equal(outputs.dbEngine, "mariadb");
    });

    it("answers from every web node through the balancer", async () => {
        assert.deepEqual([...(await nodesAnswering(12))].sort(), [`${PREFIX}-web-1`, `${PREFIX}-web-2`]);
    });

    it("continues a session started on one node on the other", async () => {
        const first = await probe("session", { node: "web-1" });
        assert.equal(first.node, `${PREFIX}-web-1`);
        assert.equal(first.count, 1);
        const session = `PHPSESSID=${first.session}`;
        const second = await probe("session", { node: "web-2", cookie: session });
        assert.equal(second.node, `${PREFIX}-web-2`);
        assert.equal(second.session, first.session);
        assert.equal(second.count, 2);
    });

    it("replicates rows from the master to the replica with GTID positioning", async () => {
        const value = `e2e-${Date.now()}`;
        // Bitrix reads from a replica only through the cluster module's b_cluster_dbnode: create it as the module's
        // install does; db-failover then registers the replica, and the probe picks it by the kernel's rules.
        inContainer("db-master", `mariadb -uroot -p"$MARIADB_ROOT_PASSWORD" bitrix -e "${CLUSTER_MODULE_SQL}"`);
        // Each probe writes a row: wait with throwaway values, then write the one this test counts.
        await waitFor(
            "a read through the registered replica",
            async () => ((await probe("db", { query: `&value=wait-${Date.now()}` })).replica ? true : undefined),
            30_000,
            1000,
        );
        const r = await probe("db", { query: `&value=${value}` });
        assert.equal(r.replica, `${PREFIX}-db-replica-1`);
        assert.equal(r.replicated, true, `row ${r.id} not read back from the replica`);
        const mysql = (sql: string) => `mariadb -uroot -p"$MARIADB_ROOT_PASSWORD" -N -B -e "${sql}"`;
        const status = inContainer("db-replica-1", `${mysql("SHOW SLAVE STATUS\\G").replace("-N -B ", "")}`);
        assert.match(status, /Slave_IO_Running: Yes/);
        assert.match(status, /Slave_SQL_Running: Yes/);
        assert.match(status, /Using_Gtid: Slave_Pos/);
        assert.match(status, new RegExp(`Master_Host: ${PREFIX}-db-master`));
        const rows = inContainer("db-replica-1", mysql(`SELECT COUNT(*) FROM bitrix.probe_rows WHERE value = '${value}'`)).trim();
        assert.equal(rows, "1");
        assert.match(inContainer("db-replica-1", mysql("SELECT @@read_only, @@gtid_slave_pos")), /^1\t0-1-\d+/);
    });

    it("stores a file through one node and reads it through the other and over NFS", async () => {
        const body = `uploaded at ${new Date().toISOString()}\n`;
        const stored = await probe("file", { node: "web-1", method: "POST", body, query: "&name=e2e.txt" });
        assert.equal(stored.node, `${PREFIX}-web-1`);
        const read = await request(`${base}/probe/?action=file&name=e2e.txt`, { headers: { Cookie: "BXSRV=web-2" } });
        assert.equal(read.status, 200);
        assert.equal(JSON.parse(read.body).node, `${PREFIX}-web-2`);
        assert.equal(JSON.parse(read.body).content, body);
        // The NFS server exports the same tree: read it with a userspace NFSv4 client (no kernel NFS here).
        const nfs = (await stack.outputs()).nfsExports[0]; // "172.28.20.10:/bitrix/upload"
        const [host, exportPath] = nfs.split(":");
        assert.equal(sh("nfs-cat", [`nfs://${host}${exportPath}/probe/e2e.txt?version=4`]), body);
    });

    it("has Sentinel watching the master with its replicas and all sentinels, quorum reachable", () => {
        const cli = (cmd: string) =>
            inContainer(
                "sentinel-1",
                `REDISCLI_AUTH="$(awk '$1 == "requirepass" { print $2 }' /etc/redis/bitrix/sentinel.conf | tr -d '"')" redis-cli -p 26379 ${cmd}`,
            );
        assert.match(cli("SENTINEL CKQUORUM bitrix"), /^OK 3 usable Sentinels/);
        const fields = cli("SENTINEL MASTER bitrix").trim().split("\n");
        const master = Object.fromEntries(fields.flatMap((f, i) => (i % 2 === 0 ? [[f, fields[i + 1]]] : [])));
        assert.equal(master.flags, "master");
        assert.equal(master["num-slaves"], "2");
        assert.equal(master["num-other-sentinels"], "2");
        assert.equal(master.quorum, "2");
    });

    it("shows every web node UP on the status page", async () => {
        const web = (await statusRows()).filter((r) => r.proxy === "web" && r.server !== "BACKEND");
        assert.deepEqual(
            web.map((r) => `${r.server}:${r.status}`),
            ["web-1:UP", "web-2:UP"],
        );
    });

    /** The push drills' view of this stack, through the floating address and the holder's status page. */
    const pushTarget = async (): Promise<PushTarget> => {
        const [holder] = await holders(BALANCERS, VIP);
        return {
            base: `https://${VIP}`,
            key: PUSH_KEY,
            webs: [`${PREFIX}-web-1`, `${PREFIX}-web-2`],
            pushContainers: [`${PREFIX}-push-1`, `${PREFIX}-push-2`],
            statusUrl: `http://${SUBNET}.${holder.endsWith("-1") ? 11 : 12}:8404/`,
        };
    };

    it("refuses /bitrix/pub/ from outside with the balancer's own 403, while the web nodes' local route publishes; subscribers reach the push servers", async () => {
        const outputs = await stack.outputs();
        assert.deepEqual(outputs.pushServers, [`${PREFIX}-push-1`, `${PREFIX}-push-2`]);
        assert.equal(outputs.pullSettings.path_to_publish, "http://127.0.0.1:8895/bitrix/pub/");
        assert.equal(outputs.pullSettings.path_to_websocket_secure, "wss://#DOMAIN#/bitrix/subws/");
        assert.equal(outputs.pushSecurityKey, "[secret]");
        const channel = channelId();
        const sub = subscribe(`https://${VIP}`, channel, PUSH_KEY);
        try {
            await sub.ready;
            // From outside, plain and disguised: refused by the balancer's rule (its deny page), not an unrouted 503.
            for (const rawPath of [`/bitrix/pub/?CHANNEL_ID=${channel}`, `/BITRIX/%70ub/?CHANNEL_ID=${channel}`]) {
                const r = await request(`https://${VIP}/`, { method: "POST", body: '{"seq":-1}', rawPath });
                assert.equal(r.status, 403, rawPath);
                assert.match(r.body, /Request forbidden by administrative rule/, rawPath);
            }
            // The same publish from a web node's local route is taken, and only it reaches the subscriber.
            const p = await publishFromWeb(`${PREFIX}-web-2`, [channel], 1);
            assert.equal(p.status, "200");
            assert.ok(await until(() => sub.messages.length > 0, 5000), "the published message reached the subscriber");
            await new Promise((r) => setTimeout(r, 500));
            assert.deepEqual(sub.messages.map(seqOf), [1]);
        } finally {
            sub.close();
        }
        // /bitrix/sub/ reaches the push server (its own 400 for an unsigned channel), and long polling gets a message.
        const unsigned = await request(`https://${VIP}/bitrix/sub/?CHANNEL_ID=${channel}`);
        assert.deepEqual([unsigned.status, unsigned.body], [400, "Channel id is not correct."]);
        const poll = request(`https://${VIP}/bitrix/sub/?CHANNEL_ID=${signChannel(channel, PUSH_KEY)}&mid=${"0".repeat(26)}`, {
            timeoutMs: 10_000,
        });
        const polled = await poll;
        assert.equal(polled.status, 200);
        assert.match(polled.body, /^#!NGINXNMS!#\{.*"text":\{"seq":1,"t":\d+\}\}#!NGINXNME!#$/);
    });

    it("delivers a message published on either web node to a websocket subscriber on the floating address within 1 s", async () => {
        const r = await deliveryDrill(await pushTarget());
        console.log(`# push delivery: latency by publishing node (ms) ${JSON.stringify(r.latencyMs)}`);
        timings.pushDeliveryMs = r.latencyMs as any;
        assert.ok(r.pass, JSON.stringify(r));
    });

    it("broadcasts one message to 100 websocket subscribers spread over both push services", async () => {
        const r = await broadcastDrill(await pushTarget(), 100);
        console.log(
            `# push broadcast: ${r.received}/${r.subscribers} received, slowest ${r.maxLatencyMs} ms; sessions per push service ${JSON.stringify(r.spread)}`,
        );
        timings.pushBroadcast = r as any;
        assert.equal(r.received, 100);
        assert.deepEqual(Object.keys(r.spread).sort(), ["push-1", "push-2"]);
        assert.ok(r.pass, JSON.stringify(r));
    });

    it("keeps subscribers when a push service is killed: they reconnect through the balancer and miss nothing (push-node drill)", async () => {
        const r = await pushNodeDrill(await pushTarget(), 20);
        console.log(
            `# push-node drill: ${r.killed} killed, ${r.disconnected}/${r.subscribers} subscribers cut, back after ${r.backS.min}–${r.backS.max} s (loss window), ` +
                `${r.lost}/${r.published} messages lost, ${r.failedPublishes} publishes refused meanwhile, ${r.nextMessage} got the next message; back in rotation ${r.restoredS} s after start`,
        );
        timings.pushNodeDrill = r as any;
        assert.equal(r.lost, 0);
        assert.ok(r.pass, JSON.stringify(r));
    });

    it("moves websockets to the other balancer when the address holder is killed (push balancer drill)", async () => {
        const r = await pushBalancerDrill({ ...(await pushTarget()), balancers: BALANCERS, floatingAddress: VIP }, 10);
        console.log(
            `# push balancer drill: ${r.killed} killed, ${r.disconnected}/${r.subscribers} websockets cut, reconnected after ${r.backS.min}–${r.backS.max} s, ` +
                `${r.lost}/${r.published} messages lost, ${r.nextMessage} got the next message`,
        );
        timings.pushBalancerDrill = r as any;
        assert.equal(r.lost, 0);
        assert.ok(r.pass, JSON.stringify(r));
    });

    it("scrapes every layer: each target of each job is up", async () => {
        const outputs = await stack.outputs();
        assert.equal(outputs.prometheusUrl, `http://127.0.0.1:${MONITORING.prometheus}/`);
        assert.equal(outputs.alertmanagerUrl, `http://127.0.0.1:${MONITORING.alertmanager}/`);
        const expected = {
            prometheus: 1,
            alertmanager: 1,
            node: 1,
            mysqld: 2,
            redis: 3,
            sentinel: 3,
            haproxy: 2,
            phpfpm: 2,
            "blackbox-web": 2,
            "blackbox-nfs": 1,
        };
        let last = "";
        await waitFor(
            "every target up",
            async () => {
                const targets = await promTargets();
                last = targets.map((t) => `${t.job}/${t.instance}:${t.health}${t.error ? ` (${t.error})` : ""}`).join(", ");
                const jobs = Object.fromEntries(
                    Object.keys(expected).map((j) => [j, targets.filter((t) => t.job === j && t.health === "up").length]),
                );
                return JSON.stringify(jobs) === JSON.stringify(expected);
            },
            90_000,
            2000,
        ).catch((e) => assert.fail(`${(e as Error).message}: ${last}`));
        // The metrics the alerts read are there, with their exporters' names.
        for (const metric of [
            "mysql_slave_status_slave_sql_running",
            'mysql_global_variables_read_only{job="mysqld"}',
            "phpfpm_listen_queue",
            'haproxy_server_status{state="UP"}',
            "redis_keyspace_hits_total",
            "redis_sentinel_master_status",
            "node_memory_MemAvailable_bytes",
            'probe_success{job="blackbox-nfs"}',
        ]) {
            assert.ok((await promQuery(metric)).length > 0, `no ${metric}`);
        }
        // Every metric the Grafana dashboard reads is there too.
        const missing: string[] = [];
        for (const m of dashboardMetrics()) if ((await promQuery(`count({__name__="${m}"})`)).length === 0) missing.push(m);
        assert.deepEqual(missing, []);
        console.log(`# monitoring: ${last.split(", ").length} targets up; ${dashboardMetrics().length} dashboard metrics present`);
    });

    it("fires MysqlReplicaSqlThreadStopped to the webhook when the replica's SQL thread stops (live alert)", async () => {
        const received: Array<{ at: number; body: any }> = [];
        const server = http.createServer((req, res) => {
            let body = "";
            req.on("data", (c) => (body += c));
            req.on("end", () => {
                received.push({ at: performance.now(), body: JSON.parse(body) });
                res.writeHead(200).end();
            });
        });
        await new Promise<void>((r) => server.listen(MONITORING.webhook, `${SUBNET}.1`, r));
        try {
            const t0 = performance.now();
            sql("db-replica-1", "STOP SLAVE SQL_THREAD");
            const firing = () =>
                received.find(
                    (r) =>
                        r.body.status === "firing" && r.body.alerts.some((a: any) => a.labels.alertname === "MysqlReplicaSqlThreadStopped"),
                );
            await waitFor("the alert at the webhook", () => firing(), 150_000, 500);
            const seconds = (firing()!.at - t0) / 1000;
            timings.liveAlertS = Math.round(seconds * 10) / 10;
            const alert = firing()!.body.alerts.find((a: any) => a.labels.alertname === "MysqlReplicaSqlThreadStopped");
            assert.equal(alert.labels.instance, "db-replica-1");
            assert.equal(alert.labels.severity, "critical");
            assert.match(alert.annotations.runbook, /Last_SQL_Error/);
            console.log(
                `# live alert: MysqlReplicaSqlThreadStopped reached the webhook ${seconds.toFixed(1)} s after STOP SLAVE SQL_THREAD (scrape 5 s + for 30 s + evaluation 5 s + group_wait 5 s)`,
            );
        } finally {
            sql("db-replica-1", "START SLAVE SQL_THREAD");
            server.close();
        }
        await waitFor(
            "the SQL thread running again",
            () =>
                /Slave_SQL_Running: Yes/.test(
                    inContainer("db-replica-1", `mariadb -uroot -p"$MARIADB_ROOT_PASSWORD" -e "SHOW SLAVE STATUS\\G"`),
                ),
            30_000,
            500,
        );
    });

    it("serves the portal on the floating address, held by exactly one balancer", async () => {
        assert.equal((await holders(BALANCERS, VIP)).length, 1);
        const r = await request(`https://${VIP}/probe/?action=node`);
        assert.equal(r.status, 200, r.body);
        assert.match(JSON.parse(r.body).node, new RegExp(`^${PREFIX}-web-[12]$`));
        // Plain HTTP on the floating address redirects to HTTPS on it; on the published port, to the published one.
        assert.equal((await request(`http://${VIP}/crm/`)).headers.location, `https://${VIP}/crm/`);
        assert.equal(
            (await request(`http://127.0.0.1:${PORTS.http}/crm/`, { headers: { Host: `127.0.0.1:${PORTS.http}` } })).headers.location,
            `https://127.0.0.1:${PORTS.https}/crm/`,
        );
    });

    it("enforces the admin allowlist and serves the status page on both balancers", async () => {
        for (const [i, balancer] of BALANCERS.entries()) {
            const address = `${SUBNET}.${11 + i}`;
            // From this host (the network's gateway, allowlisted): the status page and /bitrix/admin reach through.
            assert.equal((await request(`http://${address}:8404/`)).status, 200, balancer);
            assert.notEqual((await request(`https://${address}/bitrix/admin/`)).status, 403, balancer);
            // From a web node (on the stack network, not allowlisted): refused at the balancer.
            const from = (url: string) => inContainer("web-1", `curl -sk -o /dev/null -w '%{http_code}' --max-time 5 ${url}`);
            assert.equal(from(`https://${address}/bitrix/admin/`), "403", balancer);
            assert.equal(from(`http://${address}:8404/`), "403", balancer);
            assert.equal(from(`https://${address}/probe/?action=node`), "403", balancer);
        }
    });

    it("completes chunked uploads whose parts wait on the receiving node, by the affinity cookie, which lapses when its node dies", async () => {
        const parts = ["part-one;", "part-two;", "part-three;", "part-four"];
        const upload = async (id: string, useCookie: boolean) => {
            let cookie = "";
            let last: any;
            const nodes = new Set<string>();
            for (const [i, body] of parts.entries()) {
                const r = await request(`${base}/probe/?action=chunk&upload=${id}&part=${i}&parts=${parts.length}`, {
                    method: "POST",
                    body,
                    headers: cookie ? { Cookie: cookie } : undefined,
                });
                last = { status: r.status, ...JSON.parse(r.body) };
                nodes.add(last.node);
                const set = String(r.headers["set-cookie"] ?? "").match(/BXSRV=[^;]+/);
                if (useCookie && set) cookie = set[0];
            }
            return { ...last, nodes };
        };
        let completed = 0;
        for (let n = 0; n < 20; n++) {
            const r = await upload(`pinned${n}x${Date.now()}`, true);
            assert.equal(r.status, 200, JSON.stringify(r));
            assert.equal(r.size, parts.join("").length);
            assert.equal(r.nodes.size, 1);
            completed++;
        }
        // The same uploads without the cookie scatter over the nodes and fail as Bitrix's do: the emulation can fail.
        const scattered = await upload(`loose${Date.now()}`, false);
        assert.equal(scattered.status, 409);
        assert.match(scattered.error, /BXU346\.5/);
        console.log(`# chunked uploads: ${completed}/20 completed with the cookie; without it: ${scattered.error}`);
        // Affinity lapses when its node dies: the next part goes to the other node (sessions live in Redis, so only the
        // unfinished upload restarts), and a new upload completes there.
        const id = `lapse${Date.now()}`;
        const first = await request(`${base}/probe/?action=chunk&upload=${id}&part=0&parts=2`, { method: "POST", body: "a" });
        const pinned = JSON.parse(first.body).node as string;
        const cookie = String(first.headers["set-cookie"]).match(/BXSRV=[^;]+/)![0];
        sh("docker", ["stop", "-t", "2", pinned]);
        try {
            const next = await request(`${base}/probe/?action=chunk&upload=${id}&part=1&parts=2`, {
                method: "POST",
                body: "b",
                headers: { Cookie: cookie },
            });
            assert.notEqual(JSON.parse(next.body).node, pinned);
            assert.equal(next.status, 409);
            const retry = await upload(`again${Date.now()}`, true);
            assert.equal(retry.status, 200);
            assert.notEqual([...retry.nodes][0], pinned);
        } finally {
            sh("docker", ["start", pinned]);
        }
        await waitFor(
            `${pinned} back in the balancer`,
            async () => (await statusRows()).some((r) => `${PREFIX}-${r.server}` === pinned && r.status === "UP"),
            60_000,
            500,
        );
    });

    it("serves a stylesheet generated on one node 50 times through the balancer, from both nodes, without a 404", async () => {
        // Bitrix writes /bitrix/cache/css/ on the node that renders a page first; it is a shared path here.
        const name = `e2e-${Date.now()}.css`;
        inContainer(
            "web-1",
            `mkdir -p /var/www/html/bitrix/cache/css && printf 'body{color:#123}' > /var/www/html/bitrix/cache/css/${name}`,
        );
        const served = async () =>
            Object.fromEntries(
                (await statusRows()).filter((r) => r.proxy === "web" && r.server !== "BACKEND").map((r) => [r.server, r.total]),
            );
        const before = await served();
        const statuses = new Map<number, number>();
        for (let i = 0; i < 50; i++) {
            const r = await request(`${base}/bitrix/cache/css/${name}`);
            statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
            if (r.status === 200) assert.equal(r.body, "body{color:#123}");
        }
        assert.deepEqual([...statuses], [[200, 50]]);
        const after = await served();
        for (const node of ["web-1", "web-2"])
            assert.ok(after[node] - before[node] >= 10, `${node} served ${after[node] - before[node]} of 50`);
    });

    it("moves the floating address when the holder is killed or stopped, and keeps it where it is when that one returns (balancer drill)", async () => {
        const steps = await balancerDrill({ floatingAddress: VIP, containers: BALANCERS, url: `https://${VIP}/probe/?action=node` });
        console.log(
            drillTable(steps)
                .split("\n")
                .map((l) => `# ${l}`)
                .join("\n"),
        );
        timings.balancerDrill = Object.fromEntries(
            steps.map((s) => [s.step, { gapS: s.gapS, takeoverS: s.takeoverS, failed: s.failed, inFlight: s.failedInFlight }]),
        ) as any;
        for (const s of steps) {
            assert.ok(s.requests > 20, `${s.step}: only ${s.requests} requests`);
            assert.ok(
                s.pass,
                `${s.step}: gap ${s.gapS} s, ${s.failed} failed (${s.failedInFlight} in flight): ${JSON.stringify(s.errors)}`,
            );
        }
        // The first step's holder lost the address, and getting it back was not a second move.
        assert.notEqual(steps[0].holderAfter, steps[0].target);
        assert.equal(steps[1].holderAfter, steps[0].holderAfter);
    });

    it("keeps serving when a web node is killed under load: no failed request, the pinned user's session continues (web-node drill)", async () => {
        const r = await webNodeDrill({
            base: `https://${VIP}`,
            statusUrl: `http://${SUBNET}.11:8404/`,
            container: `${PREFIX}-web-1`,
            server: "web-1",
        });
        console.log(
            `# web-node drill: ${r.failed}/${r.requests} failed (${r.failedInFlight} in flight), gap ${r.gapS} s, web-1 DOWN after ${r.ejectionS} s, ` +
                `pinned session ${r.session.before} → ${r.session.after} on ${r.session.nodeAfter}, UP again ${r.backS} s after start`,
        );
        timings.webNodeDrill = { failed: r.failed, ejectionS: r.ejectionS, gapS: r.gapS } as any;
        assert.ok(r.requests > 20);
        assert.equal(r.failed, 0, JSON.stringify(r.errors));
        assert.equal(r.session.after, r.session.before + 1);
        assert.equal(r.session.nodeAfter, `${PREFIX}-web-2`);
        assert.ok(r.ejectionS <= 15, `ejection after ${r.ejectionS} s (fail_timeout 15 s)`);
    });

    it("changes nothing on a second `pulumi up`, and `pulumi preview --diff` is empty", async () => {
        const up = await stack.ok(["up", "--yes", "--skip-preview", "--expect-no-changes"]);
        timings.noopUp = up.seconds;
        assert.doesNotMatch(up.stdout, /\b(created|updated|replaced|deleted)\b/);
        const preview = await stack.ok(["preview", "--diff", "--expect-no-changes"]);
        assert.match(preview.stdout, /\d+ unchanged/);
        assert.doesNotMatch(preview.stdout, /^\s*[-+~]/m);
        // No image was built again, and the provider had no platform to guess.
        assert.doesNotMatch(up.stdout + up.stderr + preview.stdout, /Building your image|platform/i);
    });

    it("keeps every password out of the state in plain text (uploads, environment, random results)", async () => {
        const state = (await stack.ok(["stack", "export"])).stdout;
        const rootPassword = inContainer("db-master", 'printf %s "$MARIADB_ROOT_PASSWORD"');
        assert.ok(rootPassword.length >= 16, "the root password from the container's environment");
        for (const [what, secret] of [
            ["Redis password", REDIS_PASSWORD],
            ["DB root password", rootPassword],
            ["push signature key", PUSH_KEY],
        ]) {
            assert.ok(!state.includes(secret), `the state holds the ${what} in plain text`);
        }
        assert.match(state, /"ciphertext"/);
    });

    it("summarises previews for a pull request: a PHP setting, a database setting; warns on data, shows no secret", async () => {
        const summary = async () => {
            const { code, json } = await stack.previewJson();
            assert.equal(code, 0, JSON.stringify(json.diagnostics));
            assert.ok(!JSON.stringify(json).includes(REDIS_PASSWORD), "the preview JSON holds the Redis password");
            const md = summarizePreview(json, { stack: "e2e" });
            assert.ok(!md.includes(REDIS_PASSWORD));
            return md;
        };
        await stack.setConfig("phpMemoryLimitMb", 256);
        const php = await summary();
        // Each node's container, its readiness gate and its rotation gate (both run again for the new container).
        assert.match(php, /^\| web \| {2}\| {2}\| 6 \| {2}\|$/m, php);
        assert.match(php, /^- replace `bx-e2e-web-1-node-ready` \(`command:local:Command`\)/m, php);
        assert.match(php, /^- replace `bx-e2e-web-1-node` \(`docker:index\/container:Container`\): `uploads`$/m, php);
        assert.match(php, /^- replace `bx-e2e-web-2-node-in-rotation` \(`command:local:Command`\)/m, php);
        assert.doesNotMatch(php, /WARNING|^\| (db|redis|nfs|balancer) /m, php);
        await stack.unsetConfig("phpMemoryLimitMb");
        await stack.setConfig("dbBufferPoolMb", 160);
        const db = await summary();
        assert.match(db, /^> \*\*⚠️ WARNING: replaces `bx-e2e-db-master`, which holds data\*\* \(db, /m, db);
        assert.match(db, /^> \*\*⚠️ WARNING: replaces `bx-e2e-db-replica-1`, which holds data\*\*/m, db);
        assert.match(db, /^\| db \| {2}\| {2}\| 4 \| {2}\|$/m, db); // both containers and their readiness gates
        await stack.setConfig("dbBufferPoolMb", 128);
        assert.match(await summary(), /No changes/);
    });

    it("refuses a change that would destroy a data volume until allowDataLoss is on", async () => {
        await stack.setConfig("namePrefix", "bx-e2e-renamed");
        try {
            const { code, json } = await stack.previewJson();
            assert.notEqual(code, 0);
            const md = summarizePreview(json, { stack: "e2e" });
            // The engine's own message stays in the CI log: the summary names the resource and the cause only.
            assert.match(
                md,
                /^> \*\*Error\*\* at `bx-e2e-db-master-data` \(db\): a protected resource would be replaced or deleted \(see allowDataLoss\)/m,
                md,
            );
            assert.match(md, /^> \*\*⚠️ WARNING: deletes `bx-e2e-redis-redis-1-data`, which holds data\*\*/m);
            assert.doesNotMatch(md, /WARNING: deletes `bx-e2e-(web-1-node-docroot|redis-sentinel-1)`/);
        } finally {
            await stack.unsetConfig("namePrefix");
        }
    });

    it("sees containers removed or stopped by hand on `pulumi refresh`, and restores them on `pulumi up`", async () => {
        sh("docker", ["rm", "-f", `${PREFIX}-web-2`]);
        sh("docker", ["stop", `${PREFIX}-redis-3`]);
        const refresh = await stack.ok(["refresh", "--yes", "--skip-preview"]);
        assert.match(refresh.stdout, /web-2-node\s+deleted/);
        assert.match(refresh.stdout, /redis-redis-3\s+updated/);
        const up = await stack.ok(["up", "--yes", "--skip-preview"]);
        assert.match(up.stdout, /web-2-node\s+created/);
        assert.match(up.stdout, /redis-redis-3\s+updated/);
        assert.match(up.stdout, /1 created/);
        assert.match(up.stdout, /1 updated/);
        assert.equal(sh("docker", ["inspect", "-f", "{{.State.Running}}", `${PREFIX}-redis-3`]).trim(), "true");
        await waitFor("web-2 back in rotation", async () => (await nodesAnswering(6)).has(`${PREFIX}-web-2`), 30_000, 1000);
    });

    it("adds exactly one web node, which starts taking traffic, when webNodes goes up by one", async () => {
        await stack.setConfig("webNodes", 3);
        const steps = (await stack.previewSteps()).filter((s) => s.op !== "same");
        const containers = steps.filter((s) => s.type === "docker:index/container:Container");
        const created = containers.filter((s) => s.op === "create").map((s) => s.urn.split("::").pop());
        assert.deepEqual(created, [`${PREFIX}-web-3-node`]);
        // The balancer's generated config lists the new server, so the balancer is replaced; nothing else is touched.
        const others = containers.filter((s) => s.op !== "create").map((s) => `${s.op}:${s.urn.split("::").pop()}`);
        // The monitoring service's scrape config lists it too.
        assert.deepEqual(
            others.filter((o) => !/-balancer-\d-haproxy$|-monitoring-prometheus$/.test(o)),
            [],
        );
        const md = summarizePreview((await stack.previewJson()).json, { stack: "e2e" });
        assert.match(md, /^\| web \| 4 \| {2}\| {2}\| {2}\|$/m, md); // container, docroot volume, readiness and rotation gates
        assert.match(md, /^\| balancer \| {2}\| {2}\| 4 \| {2}\|$/m, md); // both containers and their readiness gates
        assert.doesNotMatch(md, /WARNING/);
        const up = await stack.ok(["up", "--yes", "--skip-preview"]);
        timings.scaleUp = up.seconds;
        await waitFor("web-3 answering", async () => (await nodesAnswering(9)).has(`${PREFIX}-web-3`), 30_000, 1000);
        const web = (await statusRows()).filter((r) => r.proxy === "web" && r.server !== "BACKEND");
        assert.deepEqual(
            web.map((r) => `${r.server}:${r.status}`),
            ["web-1:UP", "web-2:UP", "web-3:UP"],
        );
        // Scraped without a hand edit.
        await waitFor(
            "web-3 scraped",
            async () => (await promTargets()).some((t) => t.job === "phpfpm" && t.instance === "web-3" && t.health === "up"),
            60_000,
            2000,
        );
    });

    it("rolls a PHP setting out under load: one node at a time, drained, replaced and back UP, no failed request (rolling-update drill)", async () => {
        const [holder] = await holders([`${PREFIX}-balancer-1`, `${PREFIX}-balancer-2`], VIP);
        const statusUrl = `http://${SUBNET}.${holder.endsWith("-1") ? 11 : 12}:8404/`;
        const r = await rollingUpdateDrill({
            base: `https://${VIP}`,
            statusUrl,
            webs: [1, 2, 3].map((n) => `${PREFIX}-web-${n}`),
            setting: ["memory_limit", "384M"],
            update: async () => {
                await stack.setConfig("phpMemoryLimitMb", 384);
                return (await stack.ok(["up", "--yes", "--skip-preview"])).seconds;
            },
        });
        const windows = formatStretches(r.outOfRotation);
        console.log(
            `# rolling-update drill: pulumi up ${r.updateS.toFixed(1)} s; out of rotation: ${windows}; fewest UP ${r.minUp}/3; ` +
                `${r.failed}/${r.requests} failed; replaced ${r.replaced}, memory_limit applied ${r.applied}`,
        );
        timings.rollingUpdate = { upS: r.updateS, failed: r.failed, requests: r.requests, minUp: r.minUp } as any;
        assert.equal(r.failed, 0, JSON.stringify(r.errors));
        assert.equal(r.minUp, 2, windows);
        assert.deepEqual(
            r.outOfRotation.map((o) => o.server),
            ["web-1", "web-2", "web-3"],
            windows,
        );
        assert.ok(r.replaced && r.applied, JSON.stringify(r));
        assert.ok(r.pass, JSON.stringify(r));
    });

    it("backs up the live stack and restores it after the data is wiped: rows and files back, same checksums (restore drill)", async () => {
        const cli = (args: string[]) => tool("backup-cli.js", [...args, "--stack", "e2e"]);
        const values = [1, 2, 3].map((i) => `drill-${Date.now()}-${i}`);
        for (const value of values) assert.equal((await probe("db", { query: `&value=${value}` })).replicated, true);
        const body = drillFile;
        await probe("file", { node: "web-1", method: "POST", body, query: "&name=drill.txt" });
        // 300 KB of rows: mariadb-dump writes the GTID position after the data, past where a short dump ends.
        sql("db-master", "CREATE TABLE bitrix.b_drill_filler (id INT PRIMARY KEY, v TEXT)");
        sql("db-master", "INSERT INTO bitrix.b_drill_filler SELECT seq, REPEAT('x', 1000) FROM bitrix.seq_1_to_300");
        const rows = sql("db-master", "SELECT COUNT(*) FROM bitrix.probe_rows");
        const checksum = sql("db-master", "CHECKSUM TABLE bitrix.probe_rows");

        const b = cli(["backup"]);
        const backupAt = Date.now();
        assert.match(b.gtid, /^0-1-\d+$/);
        assert.ok(b.snapshot && b.bytes > 0 && b.files >= 4, JSON.stringify(b));
        // Written after the backup: the restore cannot bring it back (the RPO is the time since the last backup).
        await probe("db", { query: "&value=after-backup" });
        const lostAfterS = (Date.now() - backupAt) / 1000;
        sql("db-master", "DROP TABLE bitrix.probe_rows");
        inContainer("nfs", "rm -rf /srv/nfs/upload/probe");
        assert.equal(sql("db-replica-1", "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'probe_rows'"), "0");

        const r = cli(["restore"]);
        assert.equal(sql("db-master", "CHECKSUM TABLE bitrix.probe_rows"), checksum);
        assert.equal(sql("db-master", "SELECT COUNT(*) FROM bitrix.b_drill_filler"), "300");
        assert.equal(sql("db-master", "SELECT COUNT(*) FROM bitrix.probe_rows"), rows);
        assert.equal(sql("db-master", "SELECT COUNT(*) FROM bitrix.probe_rows WHERE value = 'after-backup'"), "0");
        await waitFor(
            "the replica has the restored rows",
            () => sql("db-replica-1", "CHECKSUM TABLE bitrix.probe_rows") === checksum,
            30_000,
            500,
        );
        const read = await request(`${base}/probe/?action=file&name=drill.txt`, { headers: { Cookie: "BXSRV=web-2" } });
        assert.equal(JSON.parse(read.body).content, body);
        assert.match(inContainer("nfs", "stat -c %u /srv/nfs/upload/probe/drill.txt"), /^33\s*$/);
        console.log(
            `# restore drill: backup ${b.seconds.toFixed(1)} s (${b.files} files, ${b.bytes} bytes, GTID ${b.gtid}); ` +
                `restore (RTO) ${r.seconds.toFixed(1)} s; RPO: 1 row written ${lostAfterS.toFixed(1)} s after the backup was lost, ${rows} rows and the file came back`,
        );
        timings.backup = b.seconds;
        timings.restore = r.seconds;
    });

    it("restores a physical copy (mariadb-backup on the replica): every server rebuilt from it, replication and writes back", async () => {
        const cli = (args: string[]) => tool("backup-cli.js", [...args, "--stack", "e2e"]);
        sql("db-master", "CREATE TABLE bitrix.b_phys_drill (id INT PRIMARY KEY, v VARCHAR(32))");
        sql("db-master", "INSERT INTO bitrix.b_phys_drill SELECT seq, CONCAT('row-', seq) FROM bitrix.seq_1_to_500");
        await waitFor(
            "the rows on the replica",
            () => sql("db-replica-1", "SELECT COUNT(*) FROM bitrix.b_phys_drill") === "500",
            30_000,
            500,
        );
        const checksum = sql("db-master", "CHECKSUM TABLE bitrix.b_phys_drill");

        const b = cli(["backup", "--method", "physical"]);
        assert.equal(b.method, "physical");
        assert.equal(b.gtid, sql("db-replica-1", "SELECT @@gtid_slave_pos"), "the copy's position is the replica's");
        sql("db-master", "DELETE FROM bitrix.b_phys_drill WHERE id > 100; INSERT INTO bitrix.b_phys_drill VALUES (9999, 'after-backup')");

        const r = cli(["restore"]);
        assert.equal(r.method, "physical");
        assert.equal(sql("db-master", "CHECKSUM TABLE bitrix.b_phys_drill"), checksum);
        assert.equal(sql("db-master", "SELECT @@read_only"), "0");
        assert.equal(sql("db-replica-1", "SELECT @@read_only"), "1");
        assert.match(sql("db-replica-1", "SHOW SLAVE STATUS"), /\tYes\tYes\t/);
        // The application writes again, through the master the failover manager opened, and the replica follows.
        const after = await probe("db", { query: "&value=after-physical-restore" });
        assert.equal(after.replicated, true, JSON.stringify(after));
        assert.equal(sql("db-replica-1", "SELECT COUNT(*) FROM bitrix.b_phys_drill WHERE id = 9999"), "0");
        // Both runs left their figures for the monitoring service's node-exporter, and Prometheus scraped them.
        const metric = async (q: string) => (await promQuery(q))[0]?.value?.[1] as string | undefined;
        const restoredAt = await waitFor(
            "the restore's success in Prometheus",
            async () =>
                (await metric('bitrix_restore_last_attempt_success{stack="e2e"}')) === "1" &&
                metric('bitrix_restore_last_success_timestamp_seconds{stack="e2e",method="physical"}'),
            30_000,
            1000,
        );
        assert.ok(Math.abs(Number(restoredAt) - Date.now() / 1000) < 600, String(restoredAt));
        assert.equal(await metric('bitrix_backup_last_size_bytes{stack="e2e",method="physical"}'), String(b.bytes));
        assert.equal(await metric('bitrix_backup_last_attempt_success{stack="e2e"}'), "1");
        console.log(
            `# physical restore drill: backup ${b.seconds.toFixed(1)} s (${b.files} files, ${b.bytes} bytes, GTID ${b.gtid}); restore (RTO) ${r.seconds.toFixed(1)} s`,
        );
        timings.physicalBackup = b.seconds;
        timings.physicalRestore = r.seconds;
    });

    it("restores to a chosen second (PITR): the backup before it, then the streamed binlogs replayed up to it", async () => {
        const cli = (args: string[]) => tool("backup-cli.js", [...args, "--stack", "e2e"]);
        const streamer = `${PREFIX}-binlog-stream`;
        const streamed = (pattern: string) =>
            execFileSync("docker", ["exec", streamer, "sh", "-c", `grep -l -a -r ${pattern} /var/lib/bitrix-binlogs || true`], {
                encoding: "utf8",
            }).trim() !== "";
        await waitFor(
            "the binlog streamer streams",
            () => /streaming/.test(execFileSync("sh", ["-c", `docker logs ${streamer} 2>&1`]).toString()),
            60_000,
            1000,
        );
        const b = cli(["backup"]);
        // Written after the backup, so in the streamed binlog only; the app connects with its database selected.
        inContainer(
            "db-master",
            `mariadb -uroot -p"$MARIADB_ROOT_PASSWORD" bitrix -e "CREATE TABLE b_pitr (id INT PRIMARY KEY, phase VARCHAR(16)); INSERT INTO b_pitr SELECT seq, 'pitr-early' FROM seq_1_to_50"`,
        );
        await new Promise((r) => setTimeout(r, 1500));
        // The target: a whole UTC second after every early row and before every late change.
        const at = Math.ceil(Date.now() / 1000) * 1000;
        const to = new Date(at).toISOString().slice(0, 19).replace("T", " ");
        await new Promise((r) => setTimeout(r, at - Date.now() + 1200));
        const lateAt = Math.floor(Date.now() / 1000);
        sql("db-master", "INSERT INTO bitrix.b_pitr SELECT seq, 'pitr-late' FROM bitrix.seq_51_to_80");
        sql("db-master", "DELETE FROM bitrix.b_pitr WHERE id <= 10");
        await waitFor("the streamer has the late rows", () => streamed("pitr-late"), 10_000, 250);
        // The stream's lag reaches Prometheus through the monitoring service's node-exporter (the shared textfile volume):
        // caught up at a check after the late rows, nothing left to copy, and its alert rules loaded.
        const value = async (q: string) => (await promQuery(q))[0]?.value?.[1] as string | undefined;
        const caughtUp = await waitFor(
            "Prometheus sees the binlog stream caught up after the late rows",
            async () => {
                const [t, lag] = [
                    await value("bitrix_binlog_stream_last_caught_up_timestamp_seconds"),
                    await value("bitrix_binlog_stream_lag_bytes"),
                ];
                return t !== undefined && Number(t) >= lateAt && lag === "0" && Number(t);
            },
            30_000,
            1000,
        );
        assert.equal(await value("bitrix_binlog_stream_up"), "1");
        // Caught up: its alerts are (or, within an evaluation or two, become) neither pending nor firing.
        await waitFor(
            "no binlog stream alert pending or firing",
            async () => (await promQuery('ALERTS{alertname=~"BinlogStream.*"}')).length === 0,
            20_000,
            1000,
        );
        const rules = await request(`http://127.0.0.1:${MONITORING.prometheus}/api/v1/rules`);
        assert.match(rules.body, /"name":"BinlogStreamBehind"/);
        console.log(
            `# binlog stream metrics: caught up at ${new Date(caughtUp * 1000).toISOString()}, ${caughtUp - lateAt} s after the late rows' write began`,
        );

        const r = cli(["restore", "--to", to]);
        assert.equal(r.gtid, b.gtid, "the base is the backup taken before the target");
        assert.ok(r.replayed >= 2, JSON.stringify(r));
        assert.equal(
            sql("db-master", "SELECT COUNT(*) FROM bitrix.b_pitr WHERE phase = 'pitr-early'"),
            "50",
            "every row before the second is back",
        );
        assert.equal(sql("db-master", "SELECT COUNT(*) FROM bitrix.b_pitr WHERE phase = 'pitr-late'"), "0", "nothing from it on");
        await waitFor(
            "the replica has the replayed rows",
            () => sql("db-replica-1", "SELECT COUNT(*) FROM bitrix.b_pitr") === "50",
            30_000,
            500,
        );
        // A target past the end of the stream is refused before anything changes.
        const future = new Date(Date.now() + 3600_000).toISOString().slice(0, 19).replace("T", " ");
        assert.throws(() => cli(["restore", "--to", future]), /the streamed binlogs end at .*nothing was restored/);
        assert.equal(sql("db-master", "SELECT COUNT(*) FROM bitrix.b_pitr"), "50");
        console.log(
            `# PITR drill: restore to ${to} UTC in ${r.seconds.toFixed(1)} s (${r.replayed} transactions replayed onto the backup of GTID ${b.gtid})`,
        );
        timings.pitrRestore = r.seconds;
    });

    it("clones the stack into staging in one command: the clone serves the source's data, masked; the source is untouched", async () => {
        sql(
            "db-master",
            "CREATE TABLE bitrix.b_user (ID INT PRIMARY KEY, EMAIL VARCHAR(255), PERSONAL_PHONE VARCHAR(64), PERSONAL_MOBILE VARCHAR(64), WORK_PHONE VARCHAR(64)); " +
                "INSERT INTO bitrix.b_user VALUES (1, 'alice@corp.example', '+7 900 000 00 01', '+7 900 000 00 02', '+7 495 000 00 03')",
        );
        tool("backup-cli.js", ["backup", "--stack", "e2e"]);
        const sourceRows = sql("db-master", "SELECT COUNT(*) FROM bitrix.probe_rows");
        const overrides = path.join(stack.dir, "staging.yaml");
        fs.writeFileSync(
            overrides,
            YAML.stringify({
                namePrefix: CLONE_PREFIX,
                dockerSubnet: "172.28.21.0/24",
                httpPort: 18081,
                httpsPort: 18444,
                statusPort: 18405,
                webNodes: 1,
                allowDataLoss: true,
                retainDataVolumes: false,
                monitoring: false,
                dbBinlogStream: false,
            }),
        );
        const cloneConfig = path.join(stack.dir, "Pulumi.e2e-stg.yaml");
        const cloneEnv = { BITRIX_CLONE_CONFIG_FILE: cloneConfig };
        const inClone = (service: string, query: string) =>
            sh("docker", [
                "exec",
                `${CLONE_PREFIX}-${service}`,
                "sh",
                "-c",
                `mariadb -uroot -p"$MARIADB_ROOT_PASSWORD" -N -B -e "${query}"`,
            ]).trim();
        try {
            const r = tool("clone-cli.js", ["--from", "e2e", "--to", "e2e-stg", "--overrides", overrides], cloneEnv);
            timings.clone = r.totalS;
            console.log(`# staging clone: ${JSON.stringify(r)}`);
            const cloned = probeClient("https://127.0.0.1:18444");
            assert.deepEqual([...(await cloned.nodesAnswering(3))], [`${CLONE_PREFIX}-web-1`]);
            assert.equal(inClone("db-master", "SELECT COUNT(*) FROM bitrix.probe_rows"), sourceRows);
            const file = await request("https://127.0.0.1:18444/probe/?action=file&name=drill.txt");
            assert.equal(JSON.parse(file.body).content, drillFile);
            // Personal data masked in the clone only.
            assert.equal(
                inClone(
                    "db-master",
                    "SELECT CONCAT_WS('|', EMAIL, IFNULL(PERSONAL_PHONE, 'null'), IFNULL(WORK_PHONE, 'null')) FROM bitrix.b_user",
                ),
                "user1@example.invalid|null|null",
            );
            assert.equal(sql("db-master", "SELECT EMAIL FROM bitrix.b_user"), "alice@corp.example");
            // A write to the clone stays there.
            assert.equal((await cloned.probe("db", { query: "&value=clone-only" })).replicated, true);
            assert.equal(sql("db-master", "SELECT COUNT(*) FROM bitrix.probe_rows WHERE value = 'clone-only'"), "0");
            // The clone's secrets were encrypted again for it, not copied.
            const cloneFile = fs.readFileSync(cloneConfig, "utf8");
            assert.match(cloneFile, /bitrix-cluster:redisPassword:\s*\n\s*secure: v1:/);
            assert.ok(!cloneFile.includes(REDIS_PASSWORD));
            await stack.ok(["preview", "--expect-no-changes"]);
        } finally {
            const cloneStack = ["--stack", "e2e-stg", "--non-interactive"];
            execFileSync("pulumi", ["destroy", "--yes", "--skip-preview", ...cloneStack, "--config-file", cloneConfig], {
                cwd: projectDir(),
                env: stack.env,
                stdio: "pipe",
            });
            execFileSync("pulumi", ["stack", "rm", "--yes", "--force", ...cloneStack], {
                cwd: projectDir(),
                env: stack.env,
                stdio: "pipe",
            });
        }
        assert.deepEqual(dockerObjects(CLONE_PREFIX), { containers: [], networks: [], volumes: [] });
        assert.deepEqual([...(await nodesAnswering(8))].sort(), [`${PREFIX}-web-1`, `${PREFIX}-web-2`, `${PREFIX}-web-3`]);
    });

    it("answers 503 quickly when the shared storage stops answering, with free PHP workers, and recovers (nfs drill)", async () => {
        const r = await nfsDrill({ base: `https://${VIP}`, webs: (await stack.outputs()).webNodes });
        console.log(
            `# nfs drill: health 503 after ${JSON.stringify(r.unhealthyS)} s (slowest answer ${r.slowestHealthS} s), balancer 503 after ${r.balancer503S} s ` +
                `(slowest ${r.balancerSlowestS} s), busiest node ${r.busyWorkers}/${r.maxChildren} workers, healthy again ${r.recoveredS} s after the storage returned`,
        );
        timings.nfsDrill = r as any;
        assert.ok(r.pass, JSON.stringify(r));
    });

    it("keeps sessions and cache when the Redis master is killed: writes again within 10 s, no session lost, no request waits out the session lock (redis-master drill)", async () => {
        const r = await redisMasterDrill({ base: `https://${VIP}`, master: await findRedisMaster(PREFIX, 3) });
        console.log(
            `# redis-master drill: sessions back after ${r.sessions.backS} s (${r.sessions.failed}/${r.sessions.requests} failed), cache back after ${r.cache.backS} s ` +
                `(${r.cache.failed}/${r.cache.requests} failed), ${r.lost}/${r.users} sessions lost; same-session requests across the kill: ` +
                `${r.locks.requests}, ${r.locks.failed} failed, longest ${r.locks.longestS} s, back after ${r.locks.backS} s, ${r.locks.lostWrites} acknowledged increments lost`,
        );
        timings.redisDrill = { sessionsBackS: r.sessions.backS, cacheBackS: r.cache.backS, lost: r.lost, locks: r.locks } as any;
        assert.equal(r.lost, 0);
        // The lock wait is 10 s (phpIni: lock_wait_time × lock_retries): a lock left behind by the killed master's
        // clients would make a request wait all of it, then refuse its write.
        assert.ok(r.locks.longestS < 10, `a same-session request waited ${r.locks.longestS} s: ${JSON.stringify(r.locks)}`);
        assert.ok(r.pass, JSON.stringify(r));
    });

    it("promotes a replica when the database master is killed: writes again within 30 s, no acknowledged row lost, old master rejoins (db-master drill)", async () => {
        const r = await dbMasterDrill({ base: `https://${VIP}`, prefix: PREFIX, replicas: 1 });
        console.log(
            `# db-master drill: ${r.master} killed, ${r.promoted} promoted, writes back after ${r.writesBackS} s (${r.failed}/${r.requests} failed), ` +
                `${r.acknowledged} acknowledged rows, ${r.lost} lost; old master replicating at ${r.gtid} ${r.rejoinS} s after start`,
        );
        timings.dbDrill = { writesBackS: r.writesBackS, acknowledged: r.acknowledged, lost: r.lost, rejoinS: r.rejoinS } as any;
        assert.equal(r.lost, 0);
        assert.notEqual(r.promoted, r.master);
        assert.ok(r.pass, JSON.stringify(r));
    });

    it("leaves no container, network or volume behind after `pulumi destroy`, except data volumes marked to keep", async () => {
        // retainDataVolumes only changes a resource option: no resource changes, the state records it.
        await stack.setConfig("retainDataVolumes", true);
        // Data volumes are protected by default: destroying them is opted into, and recorded by one `pulumi up`.
        await stack.setConfig("allowDataLoss", true);
        const up = await stack.ok(["up", "--yes", "--skip-preview"]);
        assert.doesNotMatch(up.stdout, /\b(created|replaced|deleted)\b/);
        const r = await stack.ok(["destroy", "--yes", "--skip-preview"]);
        timings.destroy = r.seconds;
        const left = dockerObjects(PREFIX);
        assert.deepEqual({ ...left, volumes: [] }, { containers: [], networks: [], volumes: [] });
        const names = left.volumes.map((id) => sh("docker", ["volume", "inspect", "-f", "{{.Name}}", id]).trim()).sort();
        // Databases, the streamed binlogs, Redis and Sentinel state, the shared trees and each node's docroot (it holds
        // Bitrix's code).
        assert.deepEqual(names, [
            `${PREFIX}-binlog-stream-binlogs`,
            `${PREFIX}-db-master-data`,
            `${PREFIX}-db-replica-1-data`,
            `${PREFIX}-monitoring-prometheus`,
            `${PREFIX}-redis-1-data`,
            `${PREFIX}-redis-2-data`,
            `${PREFIX}-redis-3-data`,
            `${PREFIX}-sentinel-1-data`,
            `${PREFIX}-sentinel-2-data`,
            `${PREFIX}-sentinel-3-data`,
            `${PREFIX}-shared-bitrix-cache`,
            `${PREFIX}-shared-upload`,
            `${PREFIX}-web-1-docroot`,
            `${PREFIX}-web-2-docroot`,
            `${PREFIX}-web-3-docroot`,
        ]);
        sh("docker", ["volume", "rm", ...names]);
    });
});
