/**
 * Checks of the portal's TLS material with node's crypto: PEM blocks only (no text around them, which HAProxy
 * would reject or misread), each block parsable, the certificate not expired, the key the certificate's own.
 * Every message describes the problem, never the material.
 */
import { createPrivateKey, KeyObject, X509Certificate } from "crypto";

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]*?)-----END \1-----/g;

/** The PEM blocks of `text` with their labels, or undefined when anything but whitespace is outside them. */
function blocks(text: string): Array<{ label: string; pem: string }> | undefined {
    const found = [...text.matchAll(BLOCK)].map((m) => ({ label: m[1], pem: `${m[0]}\n` }));
    return text.replace(BLOCK, "").trim() === "" ? found : undefined;
}

const CERT_ALLOWED =
    "PEM certificates (the portal's first, then its chain) with nothing outside the -----BEGIN/END CERTIFICATE----- blocks";
const KEY_ALLOWED = "one unencrypted PEM private key with nothing outside its -----BEGIN/END ... PRIVATE KEY----- block";

/** Why a certificate chain is refused (undefined: fine). */
export function certificateProblem(text: string, now = new Date()): string | undefined {
    const found = typeof text === "string" ? blocks(text) : undefined;
    if (!found || found.length === 0 || found.some((b) => b.label !== "CERTIFICATE")) return CERT_ALLOWED;
    for (const [i, b] of found.entries()) {
        let cert: X509Certificate;
        try {
            cert = new X509Certificate(b.pem);
        } catch {
            return `${CERT_ALLOWED}; certificate ${i + 1} does not parse`;
        }
        if (i === 0 && new Date(cert.validTo).getTime() < now.getTime()) {
            return `a certificate that has not expired; the portal's certificate expired on ${new Date(cert.validTo).toISOString().slice(0, 10)}`;
        }
    }
    return undefined;
}

function parseKey(text: string): KeyObject | undefined {
    const found = blocks(text);
    if (!found || found.length !== 1 || !/PRIVATE KEY$/.test(found[0].label)) return undefined;
    return createPrivateKey(found[0].pem);
}

/** Why a private key is refused (undefined: fine). */
export function keyProblem(text: string): string | undefined {
    const found = typeof text === "string" ? blocks(text) : undefined;
    if (!found || found.length !== 1 || !/PRIVATE KEY$/.test(found[0].label) || found[0].label === "ENCRYPTED PRIVATE KEY")
        return KEY_ALLOWED;
    try {
        parseKey(text);
    } catch {
        return `${KEY_ALLOWED}; the key does not parse`;
    }
    return undefined;
}

/** Whether the key belongs to the chain's first certificate (both already passed their checks). */
export function keyMatchesCertificate(certificate: string, key: string): boolean {
    try {
        const first = blocks(certificate)![0].pem;
        return new X509Certificate(first).checkPrivateKey(parseKey(key)!);
    } catch {
        return false;
    }
}
