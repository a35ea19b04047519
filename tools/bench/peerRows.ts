/** The benchmark table's peer rows (issue 23): each a ratio with both sides' absolute figures and the tool. */
import { Comparison } from "./paired";
import { isFailed, PeerResults } from "./peers";

const mark = (pass: boolean) => (pass ? "met" : "**missed**");
const figures = (s: Comparison["ours"]) =>
    `${s.reqPerS} req/s, p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms${s.errors ? `, ${s.errors} errors` : ""}`;
const runs = (s: Comparison["ours"]) => s.runs.map((r) => r.reqPerS).join("/");
const MODE = {
    "keep-alive": "keep-alive",
    "new-connection": "new connection per request, TLS session resumed",
    "full-handshake": "new connection per request, full TLS handshake",
};

/** Ours ≥ the peer on req/s and on p99 (the issue's goal). */
export const goalMet = (c: Comparison) => c.ratio.reqPerS >= 1 && c.ratio.p99 >= 1;

function row(what: string, c: Comparison, names: [string, string], goal: boolean): string {
    return (
        `| ${what}, ${MODE[c.mode]} (${c.tool}) | ${names[0]} ${figures(c.ours)} (runs ${runs(c.ours)}); ${names[1]} ${figures(c.peer)} (runs ${runs(c.peer)}); ` +
        `ratio req/s ${c.ratio.reqPerS}×, p99 ${c.ratio.p99}× |${goal ? ` ≥ 1.0× each: ${mark(goalMet(c))} ` : " "}|`
    );
}

export function peerRows(peers: PeerResults | undefined): string[] {
    if (!peers) return [];
    const rows: string[] = [];
    const b = peers.balancer;
    if (isFailed(b)) rows.push(`| balancer vs nginx (seeds' config) | did not finish: ${b.error} | **missed** |`);
    else if (b) {
        rows.push(row("balancer vs nginx (seeds' config)", b.keepAlive, ["ours", "nginx"], true));
        rows.push(row("balancer vs nginx (seeds' config)", b.newConnection, ["ours", "nginx"], true));
        rows.push(row("balancer vs nginx (seeds' config)", b.fullHandshake, ["ours", "nginx"], true));
    }
    const t = peers.tls;
    if (isFailed(t)) rows.push(`| TLS at our balancer, ECDSA P-256 vs RSA 2048 | did not finish: ${t.error} | |`);
    else if (t)
        rows.push(
            row(`TLS at our balancer, ECDSA P-256 (${t.keys.ours}) vs RSA 2048 (${t.keys.peer})`, t.fullHandshake, ["ECDSA", "RSA"], false),
        );
    return rows;
}
