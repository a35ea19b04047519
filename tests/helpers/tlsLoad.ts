/**
 * Steady HTTPS load for certificate-swap tests: `workers` loops, each sending one request at a time, half of them on
 * a fresh TLS connection (which shows the certificate served at that moment), half on a kept-alive connection (which
 * shows an open connection survives the swap). Counts every request and every failure, with its time and cause.
 */
import * as https from "node:https";
import * as tls from "node:tls";

export interface LoadResult {
    requests: number;
    failures: Array<{ at: string; error: string }>;
    /** Fingerprints (SHA-256) of the certificates fresh connections were served, with when each was first and last seen. */
    certificates: Array<{ fingerprint: string; subject: string; first: string; last: string; count: number }>;
    /** Requests sent on a connection that was opened before the last certificate was first seen. */
    reusedAcrossSwap: number;
}

export interface LoadTarget {
    host: string;
    port: number;
    /** SNI and Host header. */
    servername: string;
    path?: string;
    /** Roots to verify against; without them the certificate is not verified (recorded only). */
    ca?: string;
}

export function startTlsLoad(target: LoadTarget, workers = 4): { count: () => number; stop: () => Promise<LoadResult> } {
    let running = true;
    const result: LoadResult = { requests: 0, failures: [], certificates: [], reusedAcrossSwap: 0 };
    const socketsOpenedAt = new WeakMap<tls.TLSSocket, number>();
    const seen = (cert: tls.PeerCertificate) => {
        const now = new Date().toISOString();
        let c = result.certificates.find((x) => x.fingerprint === cert.fingerprint256);
        if (!c) {
            c = { fingerprint: cert.fingerprint256, subject: String(cert.subject?.CN ?? ""), first: now, last: now, count: 0 };
            result.certificates.push(c);
        }
        c.last = now;
        c.count++;
    };
    const one = (agent: https.Agent | false): Promise<void> =>
        new Promise((resolve) => {
            const req = https.request(
                {
                    host: target.host,
                    port: target.port,
                    servername: target.servername,
                    path: target.path ?? "/",
                    agent,
                    headers: { host: target.servername },
                    rejectUnauthorized: target.ca !== undefined,
                    ca: target.ca,
                    timeout: 5000,
                },
                (res) => {
                    res.resume();
                    res.on("end", () => {
                        result.requests++;
                        if ((res.statusCode ?? 0) >= 500)
                            result.failures.push({ at: new Date().toISOString(), error: `HTTP ${res.statusCode}` });
                        resolve();
                    });
                },
            );
            req.on("socket", (s) => {
                const socket = s as tls.TLSSocket;
                const opened = socketsOpenedAt.get(socket);
                if (opened === undefined) {
                    socketsOpenedAt.set(socket, Date.now());
                    socket.once("secureConnect", () => seen(socket.getPeerCertificate()));
                } else if (
                    result.certificates.length > 1 &&
                    opened < Date.parse(result.certificates[result.certificates.length - 1].first)
                ) {
                    result.reusedAcrossSwap++;
                }
            });
            req.on("timeout", () => req.destroy(new Error("timeout")));
            req.on("error", (e) => {
                result.requests++;
                result.failures.push({ at: new Date().toISOString(), error: e.message });
                resolve();
            });
            req.end();
        });
    const loops = Array.from({ length: workers }, async (_, i) => {
        const agent = i % 2 === 0 ? false : new https.Agent({ keepAlive: true, maxSockets: 1 });
        while (running) {
            await one(agent);
            await new Promise((r) => setTimeout(r, 10));
        }
        if (agent) agent.destroy();
    });
    return {
        /** Requests finished so far (answered or failed): tests wait on it rather than on a fixed time, which a loaded machine stretches. */
        count: () => result.requests,
        stop: async () => {
            running = false;
            await Promise.all(loops);
            return result;
        },
    };
}
