/** Test certificates made with openssl: the daemon, pre-flight and pebble tests each need a server certificate. */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export interface TestCert {
    certPath: string;
    keyPath: string;
    /** PEM text of the certificate. */
    cert: string;
}

/**
 * A self-signed ECDSA P-256 certificate valid `days` days, written to `<dir>/<name>.crt` and `<dir>/<name>.key`.
 * `subjectAltName` as openssl takes it, e.g. "DNS:portal.test" or "IP:127.0.0.1".
 */
export function selfSignedCert(dir: string, name: string, opts: { days: number; cn: string; subjectAltName: string }): TestCert {
    const certPath = path.join(dir, `${name}.crt`);
    const keyPath = path.join(dir, `${name}.key`);
    execFileSync(
        "openssl",
        [
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            String(opts.days),
            "-subj",
            `/CN=${opts.cn}`,
        ].concat(["-addext", `subjectAltName=${opts.subjectAltName}`, "-keyout", keyPath, "-out", certPath]),
        { stdio: "ignore" },
    );
    return { certPath, keyPath, cert: fs.readFileSync(certPath, "utf8") };
}
