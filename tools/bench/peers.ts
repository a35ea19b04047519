/**
 * The benchmark's peer rows (issue 23), measured in the same run on the bench stack's own network:
 * - balancer: our HAProxy (the floating address) against an nginx balancer with the seeds' config (nginxPeer.ts),
 *   in front of the same two web nodes with the same certificate. nginx is Debian's, from the stack's own web image
 *   (which installs it from Debian for the web nodes): no second image to build, the same package `apt-get install
 *   nginx` gives, started with its own config in place of the web node's processes.
 * - tls: our HAProxy with the stack's ECDSA P-256 certificate (the floating address) against a twin started from the
 *   stack's balancer image with the stack's generated haproxy.cfg and no certificate, for which the image's
 *   entrypoint makes an RSA 2048 one (a new connection per request: the handshake is what differs).
 * Runs are paired (ours, peer, ours, peer, …). Both containers are removed afterwards, also on failure.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { docker, waitUntil } from "../drill/docker";
import { fetchOnce } from "../drill/load";
import { nginxPeerConfig } from "./nginxPeer";
import { runFullHandshake } from "./fullHandshake";
import { Comparison, compare, Mode, pairedRuns, RunFigures } from "./paired";
import { runWrk } from "./wrk";

export interface PeerBenchInput {
    /** The stack's name prefix: its network `<prefix>-net`, images `<prefix>-<role>:latest`, containers `<prefix>-…`. */
    prefix: string;
    /** Our balancer's address (the floating address). */
    ours: string;
    /** Free addresses on the stack's network for the nginx peer and the RSA twin. */
    addresses: { nginx: string; rsa: string };
    /** The web nodes (host names on the stack's network). */
    webs: Array<{ host: string; port: number }>;
    /** @default "/probe/?action=node" */
    path?: string;
    /** @default 3 */
    pairs?: number;
    /** @default 10 */
    seconds?: number;
    /** @default 8 */
    connections?: number;
    log: (line: string) => void;
}

interface Failed {
    error: string;
}

export interface PeerResults {
    /** Ours vs nginx with the seeds' config. */
    balancer?: { keepAlive: Comparison; newConnection: Comparison; fullHandshake: Comparison } | Failed;
    /** At our balancer: ECDSA P-256 (ours) vs RSA 2048 (peer), a full TLS handshake per request. */
    tls?: { fullHandshake: Comparison; keys: { ours: string; peer: string } } | Failed;
}

export const isFailed = (v: unknown): v is Failed => typeof v === "object" && v !== null && "error" in v;

/** Memory limit of both peers: our balancers' (components/balancer/balancer.ts). */
const MEMORY = "256m";
const NGINX_CONF = "/etc/nginx/peer.conf";
const NGINX_PEM = "/etc/nginx/site.pem";
const BALANCER_PEM = "/etc/haproxy/certs/site.pem";
const HAPROXY_CFG = "/etc/haproxy/haproxy.cfg";

/** `docker cp <from> - | docker cp - <to>`: a file from one container into another, never on the host's disk. */
function copyBetween(from: string, toContainer: string, toDir: string): Promise<void> {
    return new Promise((resolve, reject) => {
        const out = spawn("docker", ["cp", from, "-"], { stdio: ["ignore", "pipe", "pipe"] });
        const into = spawn("docker", ["cp", "-", `${toContainer}:${toDir}`], { stdio: ["pipe", "ignore", "pipe"] });
        out.stdout.pipe(into.stdin);
        let err = "";
        out.stderr.on("data", (d) => (err += d));
        into.stderr.on("data", (d) => (err += d));
        let left = 2;
        let failed = false;
        const done = (code: number | null) => {
            if (code !== 0) failed = true;
            if (--left > 0) return;
            if (failed) reject(new Error(`docker cp ${from} → ${toContainer}:${toDir} failed: ${err}`));
            else resolve();
        };
        out.on("close", done);
        into.on("close", done);
    });
}

/** The certificate's key, as openssl names it ("id-ecPublicKey 256 bit", "rsaEncryption 2048 bit"). */
async function keyOf(container: string, pem: string): Promise<string> {
    const text = await docker(["exec", container, "openssl", "x509", "-in", pem, "-noout", "-text"]);
    const alg = /Public Key Algorithm: (\S+)/.exec(text)?.[1] ?? "?";
    const bits = /Public-Key: \((\d+) bit\)/.exec(text)?.[1] ?? "?";
    return `${alg} ${bits} bit`;
}

async function answers(url: string): Promise<boolean> {
    try {
        return (await fetchOnce(url)).status === 200;
    } catch {
        return false;
    }
}

const createArgs = (prefix: string, name: string, address: string) => [
    "create",
    "--name",
    name,
    "--network",
    `${prefix}-net`,
    "--ip",
    address,
    "--memory",
    MEMORY,
    "--memory-swap",
    MEMORY,
    "--label",
    "bitrix-cluster.bench-peer=true",
];

async function startNginx(input: PeerBenchInput, name: string, tmp: string): Promise<void> {
    const conf = path.join(tmp, "peer.conf");
    fs.writeFileSync(conf, nginxPeerConfig({ upstreams: input.webs, listen: 443, pemPath: NGINX_PEM }));
    await docker([
        ...createArgs(input.prefix, name, input.addresses.nginx),
        "--entrypoint",
        "nginx",
        `${input.prefix}-web:latest`,
        "-c",
        NGINX_CONF,
        "-g",
        "daemon off;",
    ]);
    await docker(["cp", conf, `${name}:${NGINX_CONF}`]);
    // The same certificate and key as our balancer's.
    await copyBetween(`${input.prefix}-balancer-1:${BALANCER_PEM}`, name, "/etc/nginx/");
    await docker(["start", name]);
}

async function startRsaTwin(input: PeerBenchInput, name: string): Promise<void> {
    const serverName = (await docker(["inspect", "-f", "{{range .Config.Env}}{{println .}}{{end}}", `${input.prefix}-balancer-1`]))
        .split("\n")
        .find((l) => l.startsWith("SERVER_NAME="))
        ?.slice("SERVER_NAME=".length);
    // No certificate uploaded: the balancer image's entrypoint makes a self-signed RSA 2048 pair for SERVER_NAME.
    await docker([
        ...createArgs(input.prefix, name, input.addresses.rsa),
        "-e",
        `SERVER_NAME=${serverName ?? "localhost"}`,
        `${input.prefix}-balancer:latest`,
    ]);
    await copyBetween(`${input.prefix}-balancer-1:${HAPROXY_CFG}`, name, "/etc/haproxy/");
    await docker(["start", name]);
}

/** The peer rows' figures; a side that cannot start is recorded as an error, the other still runs. */
export async function peerBenchmark(input: PeerBenchInput): Promise<PeerResults> {
    const nginx = `${input.prefix}-peer-nginx`;
    const rsa = `${input.prefix}-peer-rsa`;
    const urlPath = input.path ?? "/probe/?action=node";
    const url = (host: string) => `https://${host}${urlPath}`;
    const seconds = input.seconds ?? 10;
    const connections = input.connections ?? 8;
    const pairs = input.pairs ?? 3;
    const load = (mode: Mode, host: string): Promise<RunFigures> =>
        mode === "full-handshake"
            ? runFullHandshake(url(host), { seconds, concurrency: connections })
            : runWrk(url(host), { mode, seconds, connections });
    const tool = (mode: Mode) =>
        `${mode === "full-handshake" ? `node load, ${connections} loops` : `wrk, 1 thread, ${connections} connections`}, ${seconds} s × ${pairs} pairs`;
    const measure = async (mode: Mode, ours: string, peer: string, label: string) => {
        input.log(`benchmark: peers: ${label}, ${mode}, ${pairs} pairs of ${seconds} s`);
        const runs = await pairedRuns(
            pairs,
            () => load(mode, ours),
            () => load(mode, peer),
        );
        return compare(tool(mode), mode, runs.ours, runs.peer);
    };
    const results: PeerResults = {};
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bx-peers-"));
    try {
        try {
            await startNginx(input, nginx, tmp);
            await waitUntil("the nginx peer answering", () => answers(url(input.addresses.nginx)), 30_000);
            results.balancer = {
                keepAlive: await measure("keep-alive", input.ours, input.addresses.nginx, "balancer vs nginx"),
                newConnection: await measure("new-connection", input.ours, input.addresses.nginx, "balancer vs nginx"),
                fullHandshake: await measure("full-handshake", input.ours, input.addresses.nginx, "balancer vs nginx"),
            };
        } catch (e) {
            results.balancer = { error: (e as Error).message.split("\n")[0] };
            input.log(`benchmark: peers: nginx: ${(e as Error).message}`);
        }
        await docker(["rm", "-f", nginx]).catch(() => "");
        try {
            await startRsaTwin(input, rsa);
            await waitUntil("the RSA twin answering", () => answers(url(input.addresses.rsa)), 30_000);
            results.tls = {
                keys: { ours: await keyOf(`${input.prefix}-balancer-1`, BALANCER_PEM), peer: await keyOf(rsa, BALANCER_PEM) },
                fullHandshake: await measure("full-handshake", input.ours, input.addresses.rsa, "ECDSA vs RSA"),
            };
        } catch (e) {
            results.tls = { error: (e as Error).message.split("\n")[0] };
            input.log(`benchmark: peers: RSA twin: ${(e as Error).message}`);
        }
    } finally {
        for (const c of [nginx, rsa]) await docker(["rm", "-f", c]).catch(() => "");
        fs.rmSync(tmp, { recursive: true, force: true });
        const left = (
            await docker(["ps", "-aq", "--filter", "label=bitrix-cluster.bench-peer=true", "--filter", `name=${input.prefix}-peer-`])
        ).trim();
        if (left) input.log(`benchmark: peers: containers left behind: ${left.replace(/\n/g, " ")}`);
    }
    return results;
}
