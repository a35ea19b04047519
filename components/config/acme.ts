/**
 * ACME settings: the directory presets, what an issuable name is, and the pre-flight GET of the directory that
 * `pulumi up` makes before any resource exists (never `pulumi preview`: a PR's preview must not need the CA).
 */
import * as https from "https";
import { isHostname } from "./checks";

/** Directory URLs by preset name (RFC 8555 directories); any other https URL is taken as is. */
export const ACME_PRESETS: Record<string, string> = {
    letsencrypt: "https://acme-v02.api.letsencrypt.org/directory",
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
};

/** The directory URL of a preset name or URL; undefined when it is neither a preset nor an https URL. */
export function acmeDirectoryUrl(v: string): string | undefined {
    if (v in ACME_PRESETS) return ACME_PRESETS[v];
    let url: URL;
    try {
        url = new URL(v);
    } catch {
        return undefined;
    }
    // No credentials in the URL (they would reach logs and state), no whitespace or quotes (it goes into a shell file).
    return url.protocol === "https:" && url.username === "" && url.password === "" && !/[\s'"\\`$]/.test(v) ? v : undefined;
}

/**
 * A name an ACME CA can validate over HTTP-01: a DNS name of two or more labels with a letter in its last label
 * (no IP address, no wildcard: wildcards need DNS-01, single labels are not public names).
 */
export function isAcmeName(v: string): boolean {
    return typeof v === "string" && isHostname(v) && v.includes(".") && /[a-z]/i.test(v.split(".").pop()!);
}

/** What a directory must list (RFC 8555 §7.1.1). */
const DIRECTORY_FIELDS = ["newNonce", "newAccount", "newOrder"];

/**
 * GETs the ACME directory and returns why it is unusable (undefined: fine). `ca` is extra PEM roots to trust (a
 * private CA's directory, Pebble's); the message names the URL and the cause, never a secret.
 */
export function acmeDirectoryProblem(url: string, opts: { ca?: string; timeoutMs?: number } = {}): Promise<string | undefined> {
    return new Promise((resolve) => {
        const done = (why: string | undefined) => resolve(why === undefined ? undefined : `the ACME directory ${url} ${why}`);
        const req = https.get(url, { timeout: opts.timeoutMs ?? 10_000, ...(opts.ca ? { ca: opts.ca } : {}) }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => {
                if (body.length < 1_000_000) body += chunk;
            });
            res.on("end", () => {
                if (res.statusCode !== 200) return done(`answered HTTP ${res.statusCode}, not 200`);
                let dir: unknown;
                try {
                    dir = JSON.parse(body);
                } catch {
                    return done("did not answer JSON (is this an ACME directory URL?)");
                }
                const missing = DIRECTORY_FIELDS.filter((f) => typeof (dir as Record<string, unknown>)?.[f] !== "string");
                done(missing.length ? `lacks ${missing.join(", ")} (is this an ACME directory URL?)` : undefined);
            });
            res.on("error", (e) => done(`could not be read: ${e.message}`));
        });
        req.on("timeout", () => req.destroy(new Error(`no answer within ${(opts.timeoutMs ?? 10_000) / 1000} s`)));
        req.on("error", (e) => done(`is unreachable from here: ${e.message}`));
    });
}

/**
 * The pre-flight of `pulumi up` in ACME mode: the directory must answer from where the program runs, before any
 * resource exists. Skipped in previews (`dryRun`), so a PR's `pulumi preview` needs no network to the CA.
 */
export async function acmePreflight(
    acme: { directory: string; directoryCa: string } | undefined,
    opts: { dryRun: boolean; namespace: string; timeoutMs?: number },
): Promise<string | undefined> {
    if (!acme || opts.dryRun) return undefined;
    const why = await acmeDirectoryProblem(acme.directory, { ca: acme.directoryCa || undefined, timeoutMs: opts.timeoutMs });
    return (
        why &&
        `${opts.namespace}:acmeDirectory: ${why}; check the URL, that the machine running pulumi reaches it, and for a private CA its roots in ${opts.namespace}:acmeDirectoryCa (previews skip this check)`
    );
}
