/**
 * `npm run benchmark`: one run that records the product's figures on this machine, on a stack of its own (Docker,
 * engine mariadb, its own subnet and ports, a throw-away file backend): cold and no-op `pulumi up`, `pulumi preview`
 * for 2/4/8/16 web nodes, req/s and latency through the balancer and straight to one web node at the same
 * concurrency, the peer rows (our balancer vs nginx with the seeds' config, ECDSA vs RSA 2048: tools/bench/peers.ts),
 * then every drill (balancer, web-node, rolling-update, nfs, redis-master, db-master), and after the destroy the
 * provisioning peer (docker-compose up -d of the same containers: tools/bench/provisioningPeer.ts). Writes the figures as JSON
 * (argv: --out <file>, default benchmark/latest.json) and prints a Markdown table. Not a test: nothing here fails on a
 * slow figure; a drill that misses its goal is marked in the table.
 */
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { balancerDrill, holders } from "./drill/balancerDrill";
import { dbMasterDrill } from "./drill/dbMasterDrill";
import { docker } from "./drill/docker";
import { RequestRecord, startLoad } from "./drill/load";
import { nfsDrill } from "./drill/nfsDrill";
import { findRedisMaster, redisMasterDrill } from "./drill/redisMasterDrill";
import { formatStretches, rollingUpdateDrill } from "./drill/rollingUpdateDrill";
import { webNodeDrill } from "./drill/webNodeDrill";
import { ProvisioningPeer, provisioningPeer, provisioningRows } from "./bench/provisioningPeer";
import { containersLabelled, untilReady } from "./bench/readiness";
import { peerBenchmark, PeerResults } from "./bench/peers";
import { peerRows } from "./bench/peerRows";
import { RAISED_GOALS, raisedGoal } from "./bench/failoverGoals";
import { parseStackOutputs } from "./stackOutputs";

const ROOT = path.join(__dirname, "..", "..");
const SUBNET = "172.28.40";
const VIP = `${SUBNET}.5`;
const PREFIX = "bx-bench";
/** The throw-away backend and config file (made by main, so importing this module for `table` touches nothing). */
let dir = "";
const configFile = () => path.join(dir, "Pulumi.bench.yaml");
const env = () => ({
    ...process.env,
    PULUMI_BACKEND_URL: `file://${dir}/state`,
    PULUMI_CONFIG_PASSPHRASE: "bitrix-cluster-bench",
    PULUMI_CONFIG_PASSPHRASE_FILE: "",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
});
const log = (line: string) => process.stderr.write(`${line}\n`);

function pulumi(args: string[]): Promise<number> {
    const withConfig = ["config", "up", "preview", "destroy"].includes(args[0]);
    const full = [
        ...args,
        "--stack",
        "bench",
        ...(withConfig ? ["--config-file", configFile()] : []),
        "--non-interactive",
        "--color",
        "never",
    ];
    const t0 = performance.now();
    return new Promise((resolve, reject) =>
        execFile("pulumi", full, { cwd: ROOT, env: env(), maxBuffer: 64 << 20, timeout: 30 * 60_000 }, (err, stdout, stderr) => {
            if (err) reject(new Error(`pulumi ${args.join(" ")} failed:\n${stdout}\n${stderr}`));
            else resolve(Math.round(performance.now() - t0) / 1000);
        }),
    );
}

/** req/s and latency percentiles of `seconds` of load at `concurrency`. */
async function throughput(url: string, concurrency: number, seconds: number) {
    const load = startLoad(url, { concurrency, pauseMs: 0 });
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const records: RequestRecord[] = await load.stop();
    const ok = records.filter((r) => r.status === 200);
    const lat = ok.map((r) => r.end - r.start).sort((a, b) => a - b);
    const pct = (p: number) => Math.round(lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] * 10) / 10;
    return {
        requests: records.length,
        failed: records.length - ok.length,
        reqPerS: Math.round(ok.length / seconds),
        p50Ms: pct(50),
        p99Ms: pct(99),
    };
}

type Throughput = Awaited<ReturnType<typeof throughput>>;
/** A drill that threw (a precondition, a timeout). */
interface DrillError {
    error: string;
    pass: false;
}
type DrillOutcome<T> = T | DrillError;

/** What `benchmark/latest.json` holds. */
export interface BenchmarkResults {
    date: string;
    machine: string;
    /** The machine's 1-minute load average, sampled every 15 s through the run (a shared machine shows here). */
    loadAverage?: { median: number; max: number; samples: number };
    coldUpS?: number;
    noopUpS?: number;
    /** `pulumi preview` seconds by web node count. */
    previewS?: Record<number, number>;
    throughput?: { balancer?: Throughput; directNode?: Throughput };
    /** Peers measured in the same run: paired load rows (tools/bench/peers.ts) and the provisioning peer. */
    peers?: PeerResults & { provisioning?: DrillOutcome<ProvisioningPeer> };
    drills?: {
        balancer?: DrillOutcome<Awaited<ReturnType<typeof balancerDrill>>>;
        webNode?: DrillOutcome<Awaited<ReturnType<typeof webNodeDrill>>>;
        rollingUpdate?: DrillOutcome<Awaited<ReturnType<typeof rollingUpdateDrill>>>;
        nfs?: DrillOutcome<Awaited<ReturnType<typeof nfsDrill>>>;
        redisMaster?: DrillOutcome<Awaited<ReturnType<typeof redisMasterDrill>>>;
        dbMaster?: DrillOutcome<Awaited<ReturnType<typeof dbMasterDrill>>>;
    };
}
type Drills = NonNullable<BenchmarkResults["drills"]>;

const failedDrill = (v: unknown): v is DrillError => typeof v === "object" && v !== null && "error" in v;
/** The drills that finished, without the ones that threw. */
function finished(drills: Drills): { [K in keyof Drills]: Exclude<Drills[K], DrillError> } {
    const done: { [K in keyof Drills]: Exclude<Drills[K], DrillError> } = Object.fromEntries(
        Object.entries(drills).filter(([, v]) => !failedDrill(v)),
    );
    return done;
}

async function main(argv: string[]) {
    const out = argv.includes("--out") ? argv[argv.indexOf("--out") + 1] : path.join(ROOT, "benchmark", "latest.json");
    const results: BenchmarkResults = {
        date: new Date().toISOString(),
        machine: `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? "CPU"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}`,
    };
    const loads: number[] = [os.loadavg()[0]];
    const sampler = setInterval(() => loads.push(os.loadavg()[0]), 15_000);
    sampler.unref();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bx-bench-"));
    fs.mkdirSync(path.join(dir, "state"));
    execFileSync("pulumi", ["stack", "init", "bench", "--non-interactive"], { cwd: ROOT, env: env(), stdio: "pipe" });
    // The provisioning peer: the stack's state (secrets decrypted, in memory only) and its cold/no-op figures.
    let peer: { exported: unknown; coldWaitS: number } | undefined;
    try {
        const config: Record<string, string> = {
            namePrefix: PREFIX,
            dbEngine: "mariadb",
            sharedStorage: "docker-volume",
            retainDataVolumes: "false",
            allowDataLoss: "true",
            dockerSubnet: `${SUBNET}.0/24`,
            httpPort: "28080",
            httpsPort: "28443",
            statusPort: "28404",
            prometheusPort: "29090",
            alertmanagerPort: "29093",
            dbRedoLogMb: "64",
            dbBufferPoolMb: "128",
            dbMemoryMb: "768",
            webMemoryMb: "384",
            redisMaxMemoryMb: "32",
            redisMemoryMb: "128",
            // A throwaway stack on loopback: the admin pages open to loopback and the private ranges, as on the dev stack.
            devStack: "true",
        };
        for (const [k, v] of Object.entries(config)) await pulumi(["config", "set", k, v]);
        log("benchmark: cold pulumi up");
        results.coldUpS = await pulumi(["up", "--yes", "--skip-preview"]);
        const coldWaitS = await untilReady(await containersLabelled(`bitrix-cluster.prefix=${PREFIX}`));
        results.noopUpS = await pulumi(["up", "--yes", "--skip-preview", "--expect-no-changes"]);
        peer = {
            coldWaitS,
            exported: JSON.parse(
                execFileSync("pulumi", ["stack", "export", "--show-secrets", "--stack", "bench"], {
                    cwd: ROOT,
                    env: env(),
                    encoding: "utf8",
                    maxBuffer: 256 << 20,
                }),
            ),
        };
        const previewS: Record<number, number> = {};
        results.previewS = previewS;
        for (const n of [2, 4, 8, 16]) {
            await pulumi(["config", "set", "webNodes", String(n)]);
            previewS[n] = await pulumi(["preview"]);
        }
        await pulumi(["config", "set", "webNodes", "2"]);

        const outputs = parseStackOutputs(
            execFileSync("pulumi", ["stack", "output", "--json", "--show-secrets", "--stack", "bench"], {
                cwd: ROOT,
                env: env(),
                encoding: "utf8",
            }),
        );
        const web1 = (
            await docker(["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", `${PREFIX}-web-1`])
        ).trim();
        log("benchmark: throughput, 8 connections-per-request loops, 15 s each");
        results.throughput = {
            balancer: await throughput(`https://${VIP}/probe/?action=node`, 8, 15),
            directNode: await throughput(`http://${web1}/probe/?action=node`, 8, 15),
        };
        results.peers = await peerBenchmark({
            prefix: PREFIX,
            ours: VIP,
            addresses: { nginx: `${SUBNET}.20`, rsa: `${SUBNET}.21` },
            webs: [1, 2].map((i) => ({ host: `${PREFIX}-web-${i}`, port: 80 })),
            log,
        });
        log("benchmark: drills");
        // One drill that throws (a precondition, a timeout) is recorded as such; the others still run.
        const drills: Drills = {};
        results.drills = drills;
        const drill = async <K extends keyof Drills>(name: K, run: () => Promise<Exclude<Drills[K], DrillError | undefined>>) => {
            try {
                drills[name] = await run();
            } catch (e) {
                drills[name] = { error: (e as Error).message.split("\n")[0], pass: false };
                log(`benchmark: drill ${name}: ${(e as Error).message}`);
            }
        };
        await drill("balancer", () =>
            balancerDrill({
                floatingAddress: VIP,
                containers: [`${PREFIX}-balancer-1`, `${PREFIX}-balancer-2`],
                url: `https://${VIP}/probe/?action=node`,
                log,
            }),
        );
        await drill("webNode", () =>
            webNodeDrill({ base: `https://${VIP}`, statusUrl: outputs.statusUrls[0], container: `${PREFIX}-web-1`, server: "web-1", log }),
        );
        await drill("rollingUpdate", async () => {
            const [holder] = await holders([`${PREFIX}-balancer-1`, `${PREFIX}-balancer-2`], VIP);
            return rollingUpdateDrill({
                base: `https://${VIP}`,
                statusUrl: outputs.statusUrls[holder?.endsWith("-2") ? 1 : 0],
                webs: [`${PREFIX}-web-1`, `${PREFIX}-web-2`],
                setting: ["memory_limit", "384M"],
                log,
                update: async () => {
                    await pulumi(["config", "set", "phpMemoryLimitMb", "384"]);
                    return pulumi(["up", "--yes", "--skip-preview"]);
                },
            });
        });
        await drill("nfs", () => nfsDrill({ base: `https://${VIP}`, webs: [`${PREFIX}-web-1`, `${PREFIX}-web-2`], log }));
        await drill("redisMaster", async () => redisMasterDrill({ base: `https://${VIP}`, master: await findRedisMaster(PREFIX, 3), log }));
        await drill("dbMaster", () => dbMasterDrill({ base: `https://${VIP}`, prefix: PREFIX, replicas: 1, log }));
    } finally {
        log("benchmark: destroy");
        await pulumi(["destroy", "--yes", "--skip-preview"]).catch((e) => log(String(e)));
        execFileSync("pulumi", ["stack", "rm", "bench", "--yes", "--force", "--non-interactive"], { cwd: ROOT, env: env(), stdio: "pipe" });
        fs.rmSync(dir, { recursive: true, force: true });
    }
    if (peer && results.coldUpS !== undefined && results.noopUpS !== undefined) {
        // After the destroy: the copy takes the stack's names, subnet, addresses and ports.
        const { coldUpS, noopUpS } = results;
        results.peers = { ...results.peers };
        results.peers.provisioning = await provisioningPeer({
            ...peer,
            project: PREFIX,
            pulumi: { coldUpS, noopUpS, coldWaitS: peer.coldWaitS },
            log,
        }).catch((e: Error) => ({ error: e.message.split("\n")[0], pass: false as const }));
        peer = undefined;
    }
    fs.mkdirSync(path.dirname(out), { recursive: true });
    clearInterval(sampler);
    const sorted = [...loads].sort((a, b) => a - b);
    results.loadAverage = {
        median: round2(sorted[Math.floor(sorted.length / 2)]),
        max: round2(sorted[sorted.length - 1]),
        samples: loads.length,
    };
    fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    console.log(table(results));
    console.log(machineLine(results));
    log(`benchmark: figures in ${out}`);
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The line under the table: the machine and how busy it was. */
export function machineLine(r: Pick<BenchmarkResults, "date" | "machine" | "loadAverage">): string {
    const load = r.loadAverage
        ? `; 1-min load average median ${r.loadAverage.median}, max ${r.loadAverage.max} (${r.loadAverage.samples} samples)`
        : "";
    return `Run ${r.date} on ${r.machine}${load}.`;
}

export function table(r: Omit<BenchmarkResults, "date" | "machine">): string {
    // Drills that did not run or did not finish get no figure row (the latter get a row of their own below).
    const d = finished(r.drills ?? {});
    const mark = (pass: boolean) => (pass ? "met" : "**missed**");
    const t = r.throughput ?? {};
    const kill = d.balancer?.[0];
    const stop = d.balancer?.[2];
    const rows = [
        `| figure | value | goal |`,
        `|---|---|---|`,
        r.coldUpS !== undefined ? `| cold \`pulumi up\` (new stack; image layers from the Docker cache) | ${r.coldUpS} s | |` : "",
        r.noopUpS !== undefined ? `| no-op \`pulumi up\` | ${r.noopUpS} s | |` : "",
        ...[2, 4, 8, 16].map((n) => (r.previewS?.[n] !== undefined ? `| \`pulumi preview\`, ${n} web nodes | ${r.previewS[n]} s | |` : "")),
        t.balancer
            ? `| through the balancer (HTTPS, 8 loops, new connection per request) | ${t.balancer?.reqPerS} req/s, p50 ${t.balancer?.p50Ms} ms, p99 ${t.balancer?.p99Ms} ms, ${t.balancer?.failed} failed | |`
            : "",
        t.directNode
            ? `| straight to web-1 (HTTP, same load) | ${t.directNode?.reqPerS} req/s, p50 ${t.directNode?.p50Ms} ms, p99 ${t.directNode?.p99Ms} ms, ${t.directNode?.failed} failed | |`
            : "",
        ...peerRows(r.peers),
        kill
            ? `| balancer drill: holder killed | takeover ${kill.takeoverS?.toFixed(2)} s, gap ${kill.gapS} s, ${kill.failed}/${kill.requests} failed (${kill.failedInFlight} in flight) | gap ≤ 3 s, in-flight only: ${mark(kill.pass)}; ${raisedGoal("gap", RAISED_GOALS.balancerGapS, kill.gapS)} |`
            : "",
        stop ? `| balancer drill: holder stopped | gap ${stop.gapS} s, ${stop.failed}/${stop.requests} failed | ${mark(stop.pass)} |` : "",
        d.webNode
            ? `| web-node drill: web-1 killed | ${d.webNode.failed}/${d.webNode.requests} failed, DOWN after ${d.webNode.ejectionS} s, session ${d.webNode.session.before} → ${d.webNode.session.after} | 0 failed, ≤ 15 s: ${mark(d.webNode.pass)}; ${raisedGoal("0 failed, DOWN", RAISED_GOALS.webNodeDownS, d.webNode.ejectionS, d.webNode.failed === 0)} |`
            : "",
        d.rollingUpdate
            ? `| rolling-update drill: PHP setting changed, \`pulumi up\` under load | ${d.rollingUpdate.updateS} s, ${d.rollingUpdate.failed}/${d.rollingUpdate.requests} failed, fewest nodes UP ${d.rollingUpdate.minUp}, ` +
              `out of rotation ${formatStretches(d.rollingUpdate.outOfRotation)} | 0 failed, one node at a time: ${mark(d.rollingUpdate.pass)} |`
            : "",
        d.nfs
            ? `| nfs drill: storage stops answering | health 503 after ${Object.values(d.nfs.unhealthyS).join(" / ")} s (slowest answer ${d.nfs.slowestHealthS} s), balancer 503 after ${d.nfs.balancer503S} s, busiest ${d.nfs.busyWorkers}/${d.nfs.maxChildren} workers, healthy ${d.nfs.recoveredS} s after return | 503 ≤ 12 s, answer < 0.5 s: ${mark(d.nfs.pass)} |`
            : "",
        d.redisMaster
            ? `| redis-master drill: master killed | sessions back ${d.redisMaster.sessions.backS} s, cache back ${d.redisMaster.cache.backS} s, ${d.redisMaster.lost}/${d.redisMaster.users} sessions lost; ` +
              `same-session requests back ${d.redisMaster.locks.backS} s, longest ${d.redisMaster.locks.longestS} s | ≤ 10 s, 0 lost: ${mark(d.redisMaster.pass)}; ${raisedGoal("0 lost, back", RAISED_GOALS.redisBackS, Math.max(d.redisMaster.sessions.backS, d.redisMaster.cache.backS), d.redisMaster.lost === 0)} |`
            : "",
        d.dbMaster
            ? `| db-master drill: master killed | writes back ${d.dbMaster.writesBackS} s, ${d.dbMaster.acknowledged} acknowledged, ${d.dbMaster.lost} lost, old master rejoined in ${d.dbMaster.rejoinS} s | ≤ 30 s, 0 lost: ${mark(d.dbMaster.pass)}; ${raisedGoal("0 lost, writes back", RAISED_GOALS.dbWritesBackS, d.dbMaster.writesBackS, d.dbMaster.lost === 0)} |`
            : "",
    ];
    if (r.peers?.provisioning) rows.push(...provisioningRows(r.peers.provisioning));
    const failed = Object.entries(r.drills ?? {}).flatMap(([k, v]) =>
        failedDrill(v) ? [`| ${k} drill | did not finish: ${v.error} | **missed** |`] : [],
    );
    return [...rows.filter(Boolean), ...failed].join("\n");
}

if (require.main === module) {
    main(process.argv.slice(2)).catch((e) => {
        process.stderr.write(`${(e as Error).message}\n`);
        process.exit(1);
    });
}
