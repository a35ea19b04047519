/**
 * The nfs drill (seed 002: "NFS failure → a clean error, no hung web workers") on a Docker stack. The shared storage
 * stops answering: with an NFS server container it is stopped; with `sharedStorage: docker-volume` (these machines have
 * no kernel NFS client) the watchdog's marker file on the shared volume is replaced by a FIFO, so the watchdog's
 * read blocks exactly as a read from a dead NFS server does, until its probe timeout kills it. The drill measures when
 * each node's health endpoint answers 503 (and how long it takes to answer), when the balancer answers with a clean
 * 503, that PHP-FPM keeps free workers, then restores the storage and measures when the nodes are back.
 */
import { docker, waitUntil } from "./docker";

export interface NfsDrillInput {
    /** e.g. https://172.28.20.5 */
    base: string;
    /** Web node containers. */
    webs: string[];
    /** The NFS server's container, or none when the shared trees are a Docker volume. */
    nfsContainer?: string;
    /** A shared directory inside the web nodes (the volume's mount point). @default "/var/www/html/upload" */
    sharedDir?: string;
    /** The health endpoint's stale-heartbeat budget plus one watchdog round. @default 12 */
    budgetS?: number;
    /** PHP-FPM's pm.max_children (config `fpmMaxChildren`). @default 16 */
    maxChildren?: number;
    log?: (line: string) => void;
}

export interface NfsDrillResult {
    /** Per node: seconds from the failure until its health endpoint said 503. */
    unhealthyS: Record<string, number>;
    /** Slowest health answer seen while the storage was gone, in seconds (seed 004: under 0.5 s). */
    slowestHealthS: number;
    /** Seconds until the balancer answered the portal with 503, and its slowest such answer. */
    balancer503S: number;
    balancerSlowestS: number;
    /** Most PHP-FPM workers busy at once on any node during the outage, of `maxChildren`. */
    busyWorkers: number;
    maxChildren: number;
    /** Seconds from restoring the storage until every node's health endpoint said 200 again. */
    recoveredS: number;
    pass: boolean;
}

const MARKER = ".bitrix-cluster-shared";

async function health(container: string): Promise<{ code: number; s: number }> {
    const out = await docker([
        "exec",
        container,
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "-m",
        "5",
        "-w",
        "%{http_code} %{time_total}",
        "http://127.0.0.1/healthz.php",
    ]).catch(() => "0 5");
    const [code, s] = out.trim().split(" ");
    return { code: Number(code), s: Number(s) };
}

/** Busy PHP-FPM workers (the status request itself is one of them). */
async function fpmActive(container: string): Promise<number> {
    const out = await docker(["exec", container, "curl", "-s", "-m", "5", "http://127.0.0.1/fpm-status?json"]).catch(() => "{}");
    try {
        return (JSON.parse(out) as { "active processes"?: number })["active processes"] ?? -1;
    } catch {
        return -1;
    }
}

async function portal(base: string): Promise<{ code: number; s: number }> {
    const { execFile } = await import("child_process");
    return new Promise((resolve) =>
        execFile(
            "curl",
            ["-ks", "-o", "/dev/null", "-m", "5", "-w", "%{http_code} %{time_total}", `${base}/probe/?action=node`],
            (_e, out) => {
                const [code, s] = String(out || "0 5")
                    .trim()
                    .split(" ");
                resolve({ code: Number(code), s: Number(s) });
            },
        ),
    );
}

export async function nfsDrill(input: NfsDrillInput): Promise<NfsDrillResult> {
    const log = input.log ?? (() => undefined);
    const dir = input.sharedDir ?? "/var/www/html/upload";
    const budget = input.budgetS ?? 12;
    for (const w of input.webs) if ((await health(w)).code !== 200) throw new Error(`drill nfs: ${w} is not healthy before the drill`);
    const fail = input.nfsContainer
        ? () => docker(["stop", input.nfsContainer!])
        : () => docker(["exec", input.webs[0], "sh", "-c", `mv ${dir}/${MARKER} ${dir}/${MARKER}.drill && mkfifo ${dir}/${MARKER}`]);
    const restore = input.nfsContainer
        ? () => docker(["start", input.nfsContainer!])
        : () => docker(["exec", input.webs[0], "sh", "-c", `rm -f ${dir}/${MARKER} && mv ${dir}/${MARKER}.drill ${dir}/${MARKER}`]);
    log(
        `drill: shared storage stops answering (${input.nfsContainer ? `stop ${input.nfsContainer}` : `FIFO in place of ${dir}/${MARKER}`})`,
    );
    const t0 = performance.now();
    const since = () => (performance.now() - t0) / 1000;
    await fail();
    const unhealthyS: Record<string, number> = {};
    let slowestHealthS = 0;
    let balancer503S = Infinity;
    let balancerSlowestS = 0;
    let busyWorkers = 0;
    const maxChildren = input.maxChildren ?? 16;
    try {
        while (
            since() < budget + 20 &&
            (Object.keys(unhealthyS).length < input.webs.length || balancer503S === Infinity || since() < budget + 6)
        ) {
            const checks = await Promise.all(input.webs.map(async (w) => ({ w, h: await health(w), f: await fpmActive(w) })));
            for (const { w, h, f } of checks) {
                if (h.code === 503 && unhealthyS[w] === undefined) unhealthyS[w] = Math.round(since() * 100) / 100;
                slowestHealthS = Math.max(slowestHealthS, h.s);
                busyWorkers = Math.max(busyWorkers, f);
            }
            const p = await portal(input.base);
            if (p.code === 503) {
                if (balancer503S === Infinity) balancer503S = Math.round(since() * 100) / 100;
                balancerSlowestS = Math.max(balancerSlowestS, p.s);
            }
            await new Promise((r) => setTimeout(r, 500));
        }
    } finally {
        log("drill: shared storage back");
        await restore();
    }
    const r0 = performance.now();
    await waitUntil(
        "every node healthy again",
        async () => (await Promise.all(input.webs.map(health))).every((h) => h.code === 200),
        60_000,
    );
    const recoveredS = Math.round((performance.now() - r0) / 10) / 100;
    await waitUntil("the portal answering again", async () => (await portal(input.base)).code === 200, 60_000);
    const pass =
        input.webs.every((w) => unhealthyS[w] !== undefined && unhealthyS[w] <= budget) &&
        slowestHealthS < 0.5 &&
        balancer503S !== Infinity &&
        busyWorkers > 0 &&
        busyWorkers < maxChildren;
    return { unhealthyS, slowestHealthS, balancer503S, balancerSlowestS, busyWorkers, maxChildren, recoveredS, pass };
}
