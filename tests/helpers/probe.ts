/** Client of the probe app (components/web/probeApp.ts) through a balancer, for the end-to-end tests. */
import assert from "node:assert/strict";
import { request } from "./http";

export interface ProbeOptions {
    node?: string;
    cookie?: string;
    method?: string;
    body?: string;
    query?: string;
}

export function probeClient(base: string) {
    /** One probe request; `node` pins it with the balancer's affinity cookie (BXSRV=<server name>). */
    async function probe(action: string, opts: ProbeOptions = {}) {
        const cookies = [opts.node && `BXSRV=${opts.node}`, opts.cookie].filter(Boolean).join("; ");
        const r = await request(`${base}/probe/?action=${action}${opts.query ?? ""}`, {
            method: opts.method,
            body: opts.body,
            headers: cookies ? { Cookie: cookies } : undefined,
            timeoutMs: 10_000,
        });
        assert.equal(r.status, 200, `probe ${action}: ${r.status} ${r.body}`);
        return { ...JSON.parse(r.body), setCookie: r.headers["set-cookie"] ?? [] };
    }
    /** The host names of the web nodes that answered `requests` unpinned requests. */
    async function nodesAnswering(requests: number): Promise<Set<string>> {
        const nodes = new Set<string>();
        for (let i = 0; i < requests; i++) nodes.add((await probe("node")).node);
        return nodes;
    }
    return { probe, nodesAnswering };
}
