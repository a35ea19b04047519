/** The balancer config the daemon tests run in Debian's HAProxy: loopback ports in front of local stand-in nodes. */
import * as path from "node:path";
import { BalancerConfigInput } from "../../components/balancer/haproxyConfig";

export interface LoopbackPorts {
    http: number;
    https: number;
    status: number;
}

/**
 * Production's settings with fast checks (every 0.5 s, 0.2 s budget) on the given loopback ports; the certificate at
 * `<dir>/site.pem` and the admin socket at `<dir>/admin.sock` unless `overrides` says otherwise.
 */
export function loopbackBalancerInput(
    dir: string,
    ports: LoopbackPorts,
    upstreams: BalancerConfigInput["upstreams"],
    overrides: Partial<BalancerConfigInput> = {},
): BalancerConfigInput {
    return {
        upstreams,
        algorithm: "least_conn",
        stickyCookie: "BXSRV",
        healthPath: "/healthz.php",
        healthIntervalMs: 500,
        healthTimeoutMs: 200,
        maxFails: 3,
        failTimeoutS: 15,
        adminAllowlist: ["10.0.0.0/8"],
        serverName: "portal.test",
        hstsMaxAgeS: 31536000,
        certPath: path.join(dir, "site.pem"),
        listen: { http: ports.http, https: ports.https, status: ports.status },
        publicHttpsPort: ports.https,
        publicHttpPort: ports.http,
        adminSocket: path.join(dir, "admin.sock"),
        ...overrides,
    };
}
