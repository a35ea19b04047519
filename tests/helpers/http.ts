/**
 * Small HTTP(S) client for the tests: one request, no connection reuse, self-signed certificates accepted; and
 * `listening`, which starts a stand-in server and says when its port is taken.
 */
import * as http from "node:http";
import * as https from "node:https";

export interface Response {
    status: number;
    headers: http.IncomingHttpHeaders;
    body: string;
}

/** `rawPath` is sent exactly as given (URL parsing would normalise dot segments away). */
export function request(
    url: string,
    opts: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number; rawPath?: string } = {},
): Promise<Response> {
    const u = new URL(url);
    const lib = u.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
        const req = lib.request(
            {
                protocol: u.protocol,
                hostname: u.hostname,
                port: u.port,
                path: opts.rawPath ?? `${u.pathname}${u.search}`,
                method: opts.method ?? "GET",
                headers: opts.headers,
                rejectUnauthorized: false,
                agent: false,
                timeout: opts.timeoutMs ?? 5000,
            },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
                // A response cut off mid-body settles too (an error), instead of leaving the caller waiting.
                res.on("error", reject);
                res.on("aborted", () => reject(new Error(`response aborted: ${url}`)));
            },
        );
        req.on("timeout", () => req.destroy(new Error(`timeout after ${opts.timeoutMs ?? 5000} ms: ${url}`)));
        req.on("error", reject);
        if (opts.body !== undefined) req.write(opts.body);
        req.end();
    });
}

/** Starts `server` on host:port; rejects (EADDRINUSE and the like) instead of failing later as an uncaught error. */
export function listening<S extends http.Server>(server: S, port: number, host = "127.0.0.1"): Promise<S> {
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
            server.off("error", reject);
            resolve(server);
        });
    });
}
