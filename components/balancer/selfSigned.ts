/**
 * tlsMode "self-signed": one self-signed certificate for every balancer, made once by `pulumi up` and kept in the
 * stack's state (the key as a secret), so a failover never changes the certificate clients see and a second `up`
 * changes nothing. Made with the openssl CLI where Pulumi runs (node's crypto cannot write a certificate; the
 * `@pulumi/tls` provider is a plugin this project cannot fetch). A new certificate only when serverName changes.
 */
import * as pulumi from "@pulumi/pulumi";

export interface SelfSignedInputs {
    serverName: string;
    /** Validity in days. @default 825 (what browsers accepted for a self-signed leaf; the old per-balancer default) */
    days: number;
}

export interface SelfSignedOutputs extends SelfSignedInputs {
    certificate: string;
    key: string;
}

/** Makes the pair: a P-256 key and a certificate for `serverName` (CN and SAN). Throws with what to install. */
export function makeSelfSigned(inputs: SelfSignedInputs): SelfSignedOutputs {
    // Required here, not at the top: the dynamic provider is serialized with this function's body.
    const { execFileSync } = require("child_process") as typeof import("child_process");
    const fs = require("fs") as typeof import("fs");
    const os = require("os") as typeof import("os");
    const path = require("path") as typeof import("path");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bx-self-signed-"));
    try {
        const key = path.join(dir, "key.pem");
        const crt = path.join(dir, "cert.pem");
        try {
            execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", String(inputs.days),
                "-subj", `/CN=${inputs.serverName}`, "-addext", `subjectAltName=DNS:${inputs.serverName}`, "-keyout", key, "-out", crt],
            { stdio: ["ignore", "ignore", "pipe"], timeout: 30_000 });
        } catch (e) {
            throw new Error(`tlsMode "self-signed": openssl could not make the certificate (install openssl where pulumi runs, or use tlsMode "provided"): ${String((e as { stderr?: unknown }).stderr ?? e).trim().slice(0, 300)}`);
        }
        return { ...inputs, certificate: fs.readFileSync(crt, "utf8"), key: fs.readFileSync(key, "utf8") };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: SelfSignedInputs) {
        const outs = makeSelfSigned(inputs);
        return { id: `${inputs.serverName}-${Date.now()}`, outs };
    },
    async diff(_id: string, olds: SelfSignedOutputs, news: SelfSignedInputs) {
        const replaces = (["serverName", "days"] as const).filter((k) => olds[k] !== news[k]);
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
    },
};

/** The stack's self-signed pair; `key` is a secret output. */
export class SelfSignedCertificate extends pulumi.dynamic.Resource {
    declare readonly certificate: pulumi.Output<string>;
    declare readonly key: pulumi.Output<string>;

    constructor(name: string, args: { serverName: pulumi.Input<string>; days?: number }, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { serverName: args.serverName, days: args.days ?? 825, certificate: undefined, key: undefined },
            { ...opts, additionalSecretOutputs: ["key"] }, "bitrix-self-signed");
    }
}
