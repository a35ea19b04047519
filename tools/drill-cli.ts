/**
 * `npm run drill -- balancer|web-node|nfs|redis-master|db-master|rolling-update|push --stack <name>`: runs a failure drill
 * against a live stack and prints a table and one JSON line with the figures; exits 1 when a step misses its goal.
 * rolling-update changes phpMemoryLimitMb by +64 MB with `pulumi up`, then puts the old value back the same way. Through scripts/drill.sh (builds, finds
 * pulumi). Drills act on the stack's Docker containers: placement docker only. push (a stack with a push layer): delivery
 * from each web node, a broadcast to 100 subscribers, a push service killed under 20 subscribers (docs/push.md). soak
 * [--minutes 10]: load and no kill, to show that no failure detector acts when nothing failed (no spurious failover).
 */
import { execFile, execFileSync } from "child_process";
import { promisify } from "util";
import { balancerDrill, drillTable, holders } from "./drill/balancerDrill";
import { dbMasterDrill } from "./drill/dbMasterDrill";
import { docker } from "./drill/docker";
import { nfsDrill } from "./drill/nfsDrill";
import { findRedisMaster, redisMasterDrill } from "./drill/redisMasterDrill";
import { formatStretches, rollingUpdateDrill } from "./drill/rollingUpdateDrill";
import { soakDrill } from "./drill/soakDrill";
import { webNodeDrill } from "./drill/webNodeDrill";
import { broadcastDrill, deliveryDrill, pushNodeDrill } from "./drill/pushDrill";
import { parseStackOutputs } from "./stackOutputs";

const DRILLS = ["balancer", "web-node", "nfs", "redis-master", "db-master", "rolling-update", "push", "soak"];

function arg(argv: string[], name: string): string | undefined {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]): Promise<number> {
    const [drill] = argv;
    const stack = arg(argv, "stack");
    if (!stack || !DRILLS.includes(drill)) throw new Error(`usage: drill ${DRILLS.join("|")} --stack <name>`);
    const outputs = parseStackOutputs(execFileSync("pulumi", ["stack", "output", "--json", "--stack", stack], { encoding: "utf8" }));
    if (outputs.placement !== "docker")
        throw new Error(
            `drill: stack ${stack} has placement ${outputs.placement}; the drills stop and start Docker containers, so they need placement docker`,
        );
    const base = String(outputs.url ?? "").replace(/\/$/, "");
    const report = (line: string, r: { pass: boolean }) => {
        console.log(`${line}: ${r.pass ? "pass" : "FAIL"}`);
        console.log(JSON.stringify({ drill, stack, ...r }));
        return r.pass ? 0 : 1;
    };
    const log = (line: string) => process.stderr.write(`${line}\n`);
    if (drill === "nfs") {
        // Web nodes that mount upload/ over NFS (sharedStorage nfs): stop the server; a shared Docker volume: the FIFO.
        const volume = (
            await docker([
                "inspect",
                "-f",
                '{{range .Mounts}}{{if eq .Destination "/var/www/html/upload"}}{{.Name}}{{end}}{{end}}',
                outputs.webNodes[0],
            ])
        ).trim();
        const overNfs =
            volume !== "" &&
            (await docker(["volume", "inspect", "-f", '{{index .Options "type"}}', volume]).catch(() => "")).trim() === "nfs";
        const r = await nfsDrill({ base, webs: outputs.webNodes, nfsContainer: overNfs ? `${outputs.namePrefix}-nfs` : undefined, log });
        return report(
            `health 503 after ${JSON.stringify(r.unhealthyS)} s (slowest answer ${r.slowestHealthS} s), balancer 503 after ${r.balancer503S} s, ` +
                `busiest node ${r.busyWorkers}/${r.maxChildren} PHP workers, healthy again ${r.recoveredS} s after the storage returned`,
            r,
        );
    }
    if (drill === "push") {
        if (!outputs.floatingAddress || !(outputs.pushServers ?? []).length)
            throw new Error(`drill push: stack ${stack} needs two balancers and pushServers ≥ 1`);
        const key = JSON.parse(
            execFileSync("pulumi", ["stack", "output", "pushSecurityKey", "--show-secrets", "--json", "--stack", stack], {
                encoding: "utf8",
            }),
        ) as string;
        const balancers = outputs.statusUrls.map((_, i) => `${outputs.namePrefix}-balancer-${i + 1}`);
        const holder = (await holders(balancers, outputs.floatingAddress))[0];
        const target = {
            base,
            key,
            webs: outputs.webNodes,
            pushContainers: outputs.pushServers,
            statusUrl: outputs.statusUrls[Math.max(0, balancers.indexOf(holder))],
            log,
        };
        const delivery = await deliveryDrill(target);
        const broadcast = await broadcastDrill(target, 100);
        const node = await pushNodeDrill(target, 20);
        return report(
            `delivery ${JSON.stringify(delivery.latencyMs)} ms; broadcast ${broadcast.received}/${broadcast.subscribers} (slowest ${broadcast.maxLatencyMs} ms, ` +
                `spread ${JSON.stringify(broadcast.spread)}); ${node.killed} killed: ${node.disconnected}/${node.subscribers} cut, back after ${node.backS.min}–${node.backS.max} s, ` +
                `${node.lost}/${node.published} lost`,
            { pass: delivery.pass && broadcast.pass && node.pass, delivery, broadcast, node } as { pass: boolean },
        );
    }
    if (drill === "redis-master") {
        const r = await redisMasterDrill({
            base,
            master: await findRedisMaster(outputs.namePrefix, (outputs.redisNodes ?? []).length),
            log,
        });
        return report(
            `sessions back after ${r.sessions.backS} s, cache back after ${r.cache.backS} s, ${r.lost}/${r.users} sessions lost; ` +
                `same-session requests: longest ${r.locks.longestS} s, back after ${r.locks.backS} s, ${r.locks.lostWrites} acknowledged increments lost`,
            r,
        );
    }
    if (drill === "soak") {
        const minutes = Number(arg(argv, "minutes") ?? 10);
        if (!Number.isInteger(minutes) || minutes < 1 || minutes > 120)
            throw new Error("drill soak: --minutes must be an integer from 1 to 120");
        const r = await soakDrill({
            base,
            prefix: outputs.namePrefix,
            statusUrls: outputs.statusUrls,
            floatingAddress: outputs.floatingAddress,
            redisNodes: (outputs.redisNodes ?? []).length,
            sentinels: (outputs.sentinels ?? []).length,
            dbReplicas: (outputs.dbReplicas ?? []).length,
            minutes,
            log,
        });
        return report(
            `${r.minutes} min of load, nothing killed: ${r.failed}/${r.requests} failed, p99 ${r.p99S} s, slowest ${r.slowestS} s; ` +
                `Sentinel failover events ${r.sentinelEvents.length} (one sentinel alone saw something down: ${r.sentinelNearMisses.length} lines), database manager events ${r.dbManagerEvents.length}, web servers marked DOWN ${r.webDowns}; ` +
                `Redis master ${r.before.redisMaster} → ${r.after.redisMaster}, database master ${r.before.dbMaster} → ${r.after.dbMaster}, ` +
                `address ${r.before.addressHolder || "-"} → ${r.after.addressHolder || "-"}`,
            r,
        );
    }
    if (drill === "db-master") {
        const r = await dbMasterDrill({
            base,
            prefix: outputs.namePrefix,
            replicas: (outputs.dbReplicas ?? []).length,
            database: outputs.dbName,
            log,
        });
        return report(
            `${r.promoted} promoted, writes back after ${r.writesBackS} s, ${r.acknowledged} acknowledged rows, ${r.lost} lost, old master rejoined in ${r.rejoinS} s`,
            r,
        );
    }
    if (drill === "rolling-update") {
        const balancers = outputs.statusUrls.map((_, i) => `${outputs.namePrefix}-balancer-${i + 1}`);
        const holder = outputs.floatingAddress ? (await holders(balancers, outputs.floatingAddress))[0] : balancers[0];
        const statusUrl = outputs.statusUrls[Math.max(0, balancers.indexOf(holder))];
        // Asynchronous: the load and the status watcher run in this process while pulumi runs.
        const pulumi = async (args: string[]) =>
            (await promisify(execFile)("pulumi", [...args, "--stack", stack], { maxBuffer: 64 << 20 })).stdout.trim();
        let old = 512; // the default, when the stack does not set it
        try {
            old = Number(await pulumi(["config", "get", "phpMemoryLimitMb"])) || 512;
        } catch {
            /* not set */
        }
        const results = [];
        const setAndUp = async (mb: number) => {
            const t0 = performance.now();
            await pulumi(["config", "set", "phpMemoryLimitMb", String(mb)]);
            await pulumi(["up", "--yes", "--skip-preview"]);
            return Math.round(performance.now() - t0) / 1000;
        };
        try {
            // There and back: the stack ends with the value it had.
            for (const mb of [old + 64, old]) {
                const r = await rollingUpdateDrill({
                    base,
                    statusUrl,
                    webs: outputs.webNodes,
                    setting: ["memory_limit", `${mb}M`],
                    log,
                    update: () => setAndUp(mb),
                });
                console.log(
                    `phpMemoryLimitMb ${mb}: pulumi up ${r.updateS} s, ${r.failed}/${r.requests} failed, fewest UP ${r.minUp}/${outputs.webNodes.length}, ` +
                        `out of rotation ${formatStretches(r.outOfRotation)}: ${r.pass ? "pass" : "FAIL"}`,
                );
                results.push({ phpMemoryLimitMb: mb, ...r });
            }
        } finally {
            // A drill that stopped half-way still leaves the stack with its old value.
            if (results.length < 2)
                await setAndUp(old).catch((e) => log(`drill: could not put phpMemoryLimitMb ${old} back: ${(e as Error).message}`));
        }
        console.log(JSON.stringify({ drill, stack, results }));
        return results.every((r) => r.pass) ? 0 : 1;
    }
    if (drill === "web-node") {
        const base = outputs.url.replace(/\/$/, "");
        const r = await webNodeDrill({
            base,
            statusUrl: outputs.statusUrls[0],
            container: `${outputs.namePrefix}-web-1`,
            server: "web-1",
            log: (line) => process.stderr.write(`${line}\n`),
        });
        console.log(
            `web-1 killed: ${r.failed}/${r.requests} failed (${r.failedInFlight} in flight), gap ${r.gapS} s, DOWN at the balancer after ${r.ejectionS} s, ` +
                `pinned session ${r.session.before} → ${r.session.after} on ${r.session.nodeAfter}, UP again ${r.backS} s after start: ${r.pass ? "pass" : "FAIL"}`,
        );
        console.log(JSON.stringify({ drill, stack, ...r }));
        return r.pass ? 0 : 1;
    }
    if (!outputs.floatingAddress) throw new Error(`drill balancer: stack ${stack} has one balancer; set balancers to 2 or more`);
    const containers = outputs.statusUrls.map((_, i) => `${outputs.namePrefix}-balancer-${i + 1}`);
    const steps = await balancerDrill({
        floatingAddress: outputs.floatingAddress,
        containers,
        url: `https://${outputs.floatingAddress}/probe/?action=node`,
        log: (line) => process.stderr.write(`${line}\n`),
    });
    console.log(drillTable(steps));
    console.log(JSON.stringify({ drill, stack, steps }));
    return steps.every((s) => s.pass) ? 0 : 1;
}

main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
        process.stderr.write(`${(e as Error).message}\n`);
        process.exit(2);
    },
);
