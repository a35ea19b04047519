/**
 * Let's Encrypt's test CA for the ACME end-to-end tests: Debian's pebble with real HTTP-01 validation (no
 * PEBBLE_VA_ALWAYS_VALID or PEBBLE_VA_NOSLEEP; authorizations never reused, so every renewal is validated again), and
 * pebble-challtestsrv answering DNS only (its own challenge responders off), every name resolving to `resolveTo`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Daemons, requireBinary, waitFor, write } from "./daemons";
import { selfSignedCert } from "./certs";
import { request } from "./http";

export interface PebbleOptions {
    /** Address pebble's directory is reached at (its certificate names it) and listens on (0.0.0.0). */
    host: string;
    ports: { acme: number; management: number; dns: number; challtestsrvManagement: number };
    /** The address every name resolves to (the stack's floating address: HTTP-01 is validated on its port 80). */
    resolveTo: string;
    validityS: number;
}

export interface Pebble {
    directory: string;
    /** pebble's own HTTPS certificate (the stack's acmeDirectoryCa). */
    directoryCa: string;
    /** The root its certificates chain to. */
    root: string;
}

export async function startPebble(daemons: Daemons, dir: string, o: PebbleOptions): Promise<Pebble> {
    selfSignedCert(dir, "pebble", { days: 2, cn: "pebble", subjectAltName: `IP:${o.host},IP:127.0.0.1` });
    write(
        path.join(dir, "pebble.json"),
        JSON.stringify({
            pebble: {
                listenAddress: `0.0.0.0:${o.ports.acme}`,
                managementListenAddress: `127.0.0.1:${o.ports.management}`,
                certificate: path.join(dir, "pebble.crt"),
                privateKey: path.join(dir, "pebble.key"),
                httpPort: 80,
                tlsPort: 443,
                ocspResponderURL: "",
                externalAccountBindingRequired: false,
                certificateValidityPeriod: o.validityS,
            },
        }),
    );
    daemons.start("challtestsrv", requireBinary("pebble-challtestsrv"), [
        "-dns01",
        `127.0.0.1:${o.ports.dns}`,
        "-http01",
        "",
        "-https01",
        "",
        "-tlsalpn01",
        "",
        "-management",
        `127.0.0.1:${o.ports.challtestsrvManagement}`,
        "-defaultIPv4",
        o.resolveTo,
        "-defaultIPv6",
        "",
    ]);
    daemons.start("pebble", requireBinary("pebble"), ["-config", path.join(dir, "pebble.json"), "-dnsserver", `127.0.0.1:${o.ports.dns}`], {
        PEBBLE_AUTHZREUSE: "0",
    });
    const directory = `https://${o.host}:${o.ports.acme}/dir`;
    await waitFor("pebble's directory", async () => (await request(directory)).status === 200, 30_000, 300);
    const root = (await request(`https://127.0.0.1:${o.ports.management}/roots/0`)).body;
    if (!/BEGIN CERTIFICATE/.test(root)) throw new Error(`pebble gave no root: ${root.slice(0, 200)}`);
    return { directory, directoryCa: fs.readFileSync(path.join(dir, "pebble.crt"), "utf8"), root };
}
