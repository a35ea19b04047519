/**
 * The push drills on a Docker stack with a push layer (docs/push.md), all through the floating address:
 * - delivery: a websocket subscriber gets a message published from each web node; latency per node (goal ≤ 1 s);
 * - broadcast: `subscribers` websockets on one channel, spread over the push services, all get one message;
 * - push-node: with subscribers connected and a message published every `publishEveryMs`, one push service is killed
 *   (SIGKILL); its subscribers reconnect through the balancer with their last message id. Reported: how long each was
 *   without a connection (the loss window), messages never delivered, failed publishes; goal: none lost, every
 *   subscriber back within 10 s and receiving the next message;
 * - balancer: the same with the floating address's holder killed; websockets reconnect to the other balancer.
 * Each kill is undone (docker start) and the drill waits until the service is back in rotation.
 */
import { docker, healthy, waitUntil } from "./docker";
import { holders } from "./balancerDrill";
import { channelId, latencyMs, Published, publishFromWeb, seqOf, subscribe, Subscriber, until, wallMs } from "./pushClient";

export const PUSH_GOAL = { deliveryMs: 1000, backS: 10 };

export interface PushTarget {
    /** https://<floating address> */
    base: string;
    key: string;
    /** Web node containers (publishers). */
    webs: string[];
    /** Push service containers. */
    pushContainers: string[];
    /** A balancer's status page (CSV at `;csv`), to see where subscribers landed. */
    statusUrl: string;
    log?: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Current sessions of each push server at a balancer. */
export async function pushSessions(statusUrl: string): Promise<Record<string, { status: string; sessions: number }>> {
    const res = await fetch(`${statusUrl.replace(/\/$/, "")}/;csv`);
    const rows = (await res.text())
        .split("\n")
        .filter((l) => l.startsWith("push,") && !l.startsWith("push,BACKEND") && !l.startsWith("push,FRONTEND"));
    return Object.fromEntries(rows.map((l) => l.split(",")).map((f) => [f[1], { status: f[17], sessions: Number(f[4]) }]));
}

async function connectAll(base: string, channel: string, key: string, n: number): Promise<Subscriber[]> {
    const subs: Subscriber[] = [];
    for (let i = 0; i < n; i++) subs.push(subscribe(base, channel, key));
    const ok = await Promise.race([Promise.all(subs.map((s) => s.ready)).then(() => true), sleep(20_000).then(() => false)]);
    if (!ok) {
        subs.forEach((s) => s.close());
        throw new Error(`drill push: ${subs.filter((s) => s.opened.length === 0).length}/${n} subscribers could not connect`);
    }
    return subs;
}

export interface DeliveryResult {
    /** Latency in ms of the message from each web node (undefined: not received within 5 s). */
    latencyMs: Record<string, number | undefined>;
    pass: boolean;
}

/** One subscriber; a message from each web node in turn. */
export async function deliveryDrill(t: PushTarget): Promise<DeliveryResult> {
    const channel = channelId();
    const [sub] = await connectAll(t.base, channel, t.key, 1);
    const latency: Record<string, number | undefined> = {};
    try {
        for (const [i, web] of t.webs.entries()) {
            const p = await publishFromWeb(web, [channel], i + 1);
            if (p.status !== "200") throw new Error(`drill push: publishing from ${web} answered ${p.status}`);
            await until(() => latencyMs(sub, p) !== undefined, 5000);
            const l = latencyMs(sub, p);
            latency[web] = l === undefined ? undefined : round(l, 1);
        }
    } finally {
        sub.close();
    }
    return { latencyMs: latency, pass: Object.values(latency).every((l) => l !== undefined && l <= PUSH_GOAL.deliveryMs) };
}

export interface BroadcastResult {
    subscribers: number;
    received: number;
    /** Sessions per push server while connected. */
    spread: Record<string, number>;
    maxLatencyMs: number;
    pass: boolean;
}

/** `n` websocket subscribers on one channel; one message from a web node. */
export async function broadcastDrill(t: PushTarget, n = 100): Promise<BroadcastResult> {
    const channel = channelId();
    const subs = await connectAll(t.base, channel, t.key, n);
    try {
        const spread = Object.fromEntries(Object.entries(await pushSessions(t.statusUrl)).map(([k, v]) => [k, v.sessions]));
        const p = await publishFromWeb(t.webs[t.webs.length - 1], [channel], 1);
        if (p.status !== "200") throw new Error(`drill push: publishing answered ${p.status}`);
        await until(() => subs.every((s) => latencyMs(s, p) !== undefined), 5000);
        const latencies = subs.map((s) => latencyMs(s, p)).filter((l): l is number => l !== undefined);
        return {
            subscribers: n,
            received: latencies.length,
            spread,
            maxLatencyMs: round(Math.max(0, ...latencies), 1),
            pass: latencies.length === n && Object.values(spread).filter((c) => c > 0).length === Object.keys(spread).length,
        };
    } finally {
        subs.forEach((s) => s.close());
    }
}

export interface FailoverResult {
    /** The container killed. */
    killed: string;
    subscribers: number;
    /** Subscribers whose connection was lost. */
    disconnected: number;
    /** Per lost subscriber, seconds from the kill until it was connected again (the loss window). */
    backS: { min: number; max: number };
    /** Published messages (answered 200) some subscriber never got. */
    lost: number;
    published: number;
    failedPublishes: number;
    /** Subscribers that got a message published after they reconnected. */
    nextMessage: number;
    /** Seconds until the killed service was back in rotation after its restart. */
    restoredS: number;
    pass: boolean;
}

interface Victim {
    /** Chooses the container to kill, once the subscribers are connected. */
    pick: () => Promise<string>;
    /** Starts it again; resolves with the seconds until it is back in service. */
    restore: (container: string) => Promise<number>;
}

async function failover(t: PushTarget, victim: Victim, n: number, publishEveryMs: number): Promise<FailoverResult> {
    const log = t.log ?? (() => undefined);
    const channel = channelId();
    const subs = await connectAll(t.base, channel, t.key, n);
    const published: Published[] = [];
    let publishing = true;
    let seq = 0;
    const publisher = (async () => {
        while (publishing) {
            const started = Date.now();
            const next = ++seq;
            published.push(await publishFromWeb(t.webs[0], [channel], next).catch(() => ({ seq: next, sentAt: wallMs(), status: "000" })));
            await sleep(Math.max(0, publishEveryMs - (Date.now() - started)));
        }
    })();
    let container = "";
    let killedAt = 0;
    try {
        await sleep(2000);
        container = await victim.pick();
        log(`drill push: kill ${container}`);
        killedAt = wallMs();
        await docker(["kill", container]);
        await sleep(10_000);
    } finally {
        publishing = false;
        await publisher;
    }
    // Messages in flight arrive; then everything is counted.
    const ok = published.filter((p) => p.status === "200");
    await until(() => subs.every((s) => ok.every((p) => latencyMs(s, p) !== undefined)), 5000);
    const lostSubs = subs.filter((s) => s.lost.some((at) => at >= killedAt - 1000));
    const back = lostSubs.map((s) => {
        const reopened = s.opened.find((at) => at > killedAt);
        return reopened === undefined ? Infinity : (reopened - killedAt) / 1000;
    });
    const missing = new Set<number>();
    for (const s of subs) for (const p of ok) if (!s.messages.some((m) => seqOf(m) === p.seq)) missing.add(p.seq);
    const nextMessage = lostSubs.filter((s) => {
        const reopened = s.opened[s.opened.length - 1];
        return ok.some((p) => p.sentAt > reopened && latencyMs(s, p) !== undefined);
    }).length;
    subs.forEach((s) => s.close());
    log(`drill push: start ${container} again`);
    const restoredS = await victim.restore(container);
    const result = {
        killed: container,
        subscribers: n,
        disconnected: lostSubs.length,
        backS: { min: back.length ? round(Math.min(...back)) : 0, max: back.length ? round(Math.max(...back)) : 0 },
        lost: missing.size,
        published: ok.length,
        failedPublishes: published.length - ok.length,
        nextMessage,
        restoredS: round(restoredS, 1),
    };
    return {
        ...result,
        pass:
            result.disconnected > 0 &&
            result.lost === 0 &&
            back.every((b) => b <= PUSH_GOAL.backS) &&
            result.nextMessage === result.disconnected,
    };
}

/** Kills the push service with the most subscribers (SIGKILL), then starts it again. */
export function pushNodeDrill(t: PushTarget, n = 20, publishEveryMs = 250): Promise<FailoverResult> {
    return failover(
        t,
        {
            pick: async () => {
                const sessions = await pushSessions(t.statusUrl);
                const busiest = Object.entries(sessions).sort((a, b) => b[1].sessions - a[1].sessions)[0][0];
                const container = t.pushContainers.find((c) => c.endsWith(`-${busiest}`));
                if (!container) throw new Error(`drill push: no container for ${busiest} among ${t.pushContainers.join(", ")}`);
                return container;
            },
            restore: async (container) => {
                const server = container.replace(/^.*-(push-\d+)$/, "$1");
                const t0 = performance.now();
                await docker(["start", container]);
                await waitUntil(
                    `${server} UP at the balancer`,
                    async () => (await pushSessions(t.statusUrl).catch(() => undefined))?.[server]?.status === "UP",
                    60_000,
                );
                return (performance.now() - t0) / 1000;
            },
        },
        n,
        publishEveryMs,
    );
}

/** Kills the balancer holding the floating address under connected websockets, then starts it again. */
export function pushBalancerDrill(
    t: PushTarget & { balancers: string[]; floatingAddress: string },
    n = 10,
    publishEveryMs = 250,
): Promise<FailoverResult> {
    return failover(
        t,
        {
            pick: async () => {
                const h = await holders(t.balancers, t.floatingAddress);
                if (h.length !== 1) throw new Error(`drill push: ${h.length} balancers hold ${t.floatingAddress}`);
                return h[0];
            },
            restore: async (container) => {
                const t0 = performance.now();
                await docker(["start", container]);
                await waitUntil(`${container} healthy again`, () => healthy(container), 60_000);
                return (performance.now() - t0) / 1000;
            },
        },
        n,
        publishEveryMs,
    );
}
