/**
 * tlsMode "self-signed": one self-signed certificate for every balancer, made once by `pulumi up` and kept in the
 * stack's state (a secret), so a failover never changes the certificate clients see and a second `up` changes
 * nothing. Made by the openssl CLI where Pulumi runs, through the command provider's `local.Command` (its create runs
 * once; a new pair only when serverName or the validity changes). Node's crypto cannot write a certificate, and the
 * `@pulumi/tls` provider is a plugin this project cannot fetch.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { shellQuote } from "../shared/shell";

/** Days a self-signed pair is valid (the image's old per-balancer default). */
export const SELF_SIGNED_DAYS = 825;

/** The shell command that prints a new P-256 key and a certificate for `serverName` (CN and SAN), both PEM. */
export function selfSignedCommand(serverName: string, days = SELF_SIGNED_DAYS): string {
    // Files in a private temporary directory, not /dev/stdout (which cannot be opened when stdout is a socket).
    return (
        `umask 077 && d=$(mktemp -d) && trap 'rm -rf "$d"' EXIT && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days ${days} ` +
        `-subj ${shellQuote(`/CN=${serverName}`)} -addext ${shellQuote(`subjectAltName=DNS:${serverName}`)} -keyout "$d/key.pem" -out "$d/cert.pem" 2>/dev/null && cat "$d/cert.pem" "$d/key.pem"`
    );
}

/** The certificate and the key in what the command printed (each one PEM block). */
export function splitPair(stdout: string): { certificate: string; key: string } {
    const certificate = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(stdout)?.[0];
    const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n?/.exec(stdout)?.[0];
    if (!certificate || !key)
        throw new Error(`tlsMode "self-signed": openssl printed no certificate and key (is openssl installed where pulumi runs?)`);
    return { certificate, key };
}

/** The stack's self-signed pair, both secret (the command's output is). */
export function selfSignedPair(
    name: string,
    serverName: string,
    parent: pulumi.Resource,
): { certificate: pulumi.Output<string>; key: pulumi.Output<string> } {
    const made = new command.local.Command(
        name,
        {
            create: selfSignedCommand(serverName),
            // The key must not reach the engine's log; the output is kept as a secret.
            logging: "none",
        },
        { parent, additionalSecretOutputs: ["stdout"] },
    );
    const pair = made.stdout.apply(splitPair);
    return { certificate: pulumi.secret(pair.certificate), key: pulumi.secret(pair.key) };
}
