/**
 * The web-node drill (seed 002's first row) on a Docker stack: under steady load through the floating address, a user
 * pinned to one web node (affinity cookie) has a session; that node is killed (SIGKILL); the drill measures the
 * failed requests, the time until the balancer marks the node DOWN, and whether the user's session continues on
 * another node; then it starts the node again and waits until the balancer has it UP. Goal: 0 failed requests.
 */
import * as http from "http";
import { docker, waitUntil } from "./docker";
import { webServerRows } from "../balancerStatus";
import { fetchOnce, interruption, Interruption, RequestRecord, startLoad } from "./load";

export interface WebNodeDrillInput {
    /** The portal's base URL (the floating address), e.g. https://172.28.20.5 */
    base: string;
    /** A balancer's status page (…:8404/), to see the node taken out and back. */
    statusUrl: string;
    /** Container of the node to kill and its server name at the balancer ("web-1"). */
    container: string;
    server: string;
    /** @default 4 */
    concurrency?: number;
    log?: (line: string) => void;
}

export interface WebNodeDrillResult extends Interruption {
    /** Seconds from asking for the kill until the balancer showed the node DOWN. */
    ejectionS: number;
    /** The pinned user's session counter before and after, and the node that answered after. */
    session: { before: number; after: number; nodeAfter: string };
    /** Seconds from the start until the balancer showed the node UP again. */
    backS: number;
    pass: boolean;
}

/** A balancer's status page as CSV (HAProxy's `;csv`). */
export function statusCsv(statusUrl: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
        const u = new URL(`${statusUrl.replace(/\/$/, "")}/;csv`);
        http.get(u, { timeout: 5000 }, (res) => {
            let body = "";
            res.on("data", (c) => (body += c));
            res.on("end", () => resolve(body));
        })
            .on("timeout", function (this: http.ClientRequest) {
                this.destroy(new Error("timeout"));
            })
            .on("error", reject);
    });
}

/** Every web server's state at the balancer ("UP", "DOWN", "MAINT", …), from its status page's CSV. */
export async function webStates(statusUrl: string): Promise<Record<string, string>> {
    const rows = webServerRows(await statusCsv(statusUrl));
    return Object.fromEntries(Object.entries(rows).map(([server, r]) => [server, r.status]));
}

async function serverState(statusUrl: string, server: string): Promise<string> {
    return (await webStates(statusUrl))[server] ?? "missing";
}

/** The probe's `?action=session` answer: the session's counter and the node that answered. */
interface ProbeSession {
    count: number;
    node: string;
}

export async function webNodeDrill(input: WebNodeDrillInput): Promise<WebNodeDrillResult> {
    const log = input.log ?? (() => undefined);
    if ((await serverState(input.statusUrl, input.server)) !== "UP")
        throw new Error(`drill web-node: ${input.server} is not UP at the balancer`);
    // A user pinned to the victim, with a session.
    const first = await fetchOnce(`${input.base}/probe/?action=session`, `BXSRV=${input.server}`);
    const firstBody = JSON.parse(first.body) as ProbeSession;
    const sid = first.setCookie.map((c) => /PHPSESSID=[^;]+/.exec(c)?.[0]).find(Boolean);
    if (first.status !== 200 || !sid || !firstBody.node.endsWith(input.server))
        throw new Error(`drill web-node: could not pin a session to ${input.server}: ${first.status} ${first.body}`);
    const cookie = `BXSRV=${input.server}; ${sid}`;
    const load = startLoad(`${input.base}/probe/?action=node`, { concurrency: input.concurrency ?? 4 });
    let records: RequestRecord[] = [];
    let ejectionS = 0;
    let backS = 0;
    let at = 0;
    let after: ProbeSession | undefined;
    try {
        await new Promise((r) => setTimeout(r, 1500));
        log(`drill: kill ${input.container}`);
        at = load.now();
        await docker(["kill", input.container]);
        // Counted from asking for the kill: the node can be DOWN (live traffic's errors) before `docker kill` returns.
        const killS = (load.now() - at) / 1000;
        ejectionS =
            killS +
            (await waitUntil(
                `${input.server} DOWN at the balancer`,
                async () => (await serverState(input.statusUrl, input.server)) === "DOWN",
                60_000,
            ));
        after = JSON.parse((await fetchOnce(`${input.base}/probe/?action=session`, cookie)).body) as ProbeSession;
        await new Promise((r) => setTimeout(r, 1000));
        log(`drill: start ${input.container} again`);
        const t0 = performance.now();
        await docker(["start", input.container]);
        await waitUntil(`${input.server} UP again`, async () => (await serverState(input.statusUrl, input.server)) === "UP", 120_000);
        backS = (performance.now() - t0) / 1000;
    } finally {
        records = await load.stop();
    }
    const seen = interruption(records, at, at - 1000, records[records.length - 1]?.end ?? at);
    const session = { before: firstBody.count, after: after?.count ?? 0, nodeAfter: after?.node ?? "" };
    return {
        ...seen,
        ejectionS: Math.round(ejectionS * 100) / 100,
        session,
        backS: Math.round(backS * 100) / 100,
        pass: seen.failed === 0 && session.after === session.before + 1 && !session.nodeAfter.endsWith(input.server),
    };
}
