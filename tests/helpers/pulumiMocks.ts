/**
 * Pulumi mocks for resource-graph tests: every registered resource is recorded with its type, name and inputs,
 * and given outputs shaped like the real providers' (image digests, ids, random results).
 */
import * as pulumi from "@pulumi/pulumi";
import { testHostKey } from "./hostKeys";

export interface RecordedResource {
    type: string;
    name: string;
    inputs: Record<string, any>;
}

export const recorded: RecordedResource[] = [];

/**
 * Installs the mocks; call before importing any module that creates resources. `secretKeys` are the config keys
 * set with `--secret` (the SDK's PULUMI_CONFIG_SECRET_KEYS); the others count as set in plain text.
 */
export function installMocks(config: Record<string, string> = {}, stack = "test", secretKeys: string[] = []): void {
    const full = (k: string) => (k.includes(":") ? k : `bitrix-cluster:${k}`);
    const namespaced: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) namespaced[full(k)] = v;
    pulumi.runtime.setAllConfig(namespaced, secretKeys.map(full));
    void pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs) {
                recorded.push({ type: args.type, name: args.name, inputs: args.inputs });
                const state: Record<string, any> = { ...args.inputs };
                if (args.type === "random:index/randomPassword:RandomPassword") state.result = `mock-${args.name}`;
                // The push key reaches a JSON file that allows letters and digits only, as the provider's special: false gives.
                if (args.type === "random:index/randomPassword:RandomPassword" && args.name.endsWith("-push-security-key"))
                    state.result = `mock${args.name.replace(/[^A-Za-z0-9]/g, "")}`;
                if (args.type === "docker:index/image:Image") state.repoDigest = `sha256:${args.name}`;
                if (args.type === "docker:index/remoteImage:RemoteImage") state.imageId = `sha256:${args.name}`;
                // The stack's self-signed pair (openssl through a local command): what the command would print.
                if (args.type === "command:local:Command" && /openssl req -x509/.test(String(args.inputs.create))) {
                    const cn = /\/CN=([^']+)'/.exec(String(args.inputs.create))?.[1];
                    state.stdout = `-----BEGIN PRIVATE KEY-----\nmock-key\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nmock-for-${cn}\n-----END CERTIFICATE-----\n`;
                }
                // The hosts placement's push key (made on the pushing host): its public half, as ssh-keygen's .pub prints it.
                if (args.type === "command:remote:Command" && /ssh-keygen -q -t ed25519/.test(String(args.inputs.create)))
                    state.stdout = `${testHostKey(`push-${args.name}`)}\n`;
                return { id: `${args.name}-id`, state };
            },
            call(args: pulumi.runtime.MockCallArgs) {
                return args.inputs;
            },
        },
        "bitrix-cluster",
        stack,
        false,
    );
}

/** The value of an Output (for assertions). */
export function valueOf<T>(output: pulumi.Input<T>): Promise<T> {
    return new Promise((resolve) =>
        pulumi.output(output).apply((v) => {
            resolve(v as T);
            return v;
        }),
    );
}

/** Whether an Output is marked secret. */
export function secretOf(output: pulumi.Input<unknown>): Promise<boolean> {
    return pulumi.isSecret(pulumi.output(output));
}

/** Resolves after the mock engine has seen every resource registered so far. */
export function settle(ms = 50): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Resolves once no resource has been registered for `quietMs` (at most `maxMs`): a graph whose resources wait on
 * others (a host's firewall waits for all its services) takes several turns of the event loop to appear.
 */
export async function settleAll(quietMs = 200, maxMs = 10_000): Promise<void> {
    const start = Date.now();
    let seen = -1;
    while (seen !== recorded.length && Date.now() - start < maxMs) {
        seen = recorded.length;
        await settle(quietMs);
    }
}

export function ofType(type: string): RecordedResource[] {
    return recorded.filter((r) => r.type === type);
}

/** The inputs of the remote command named `name` (fails listing the commands there are when none has that name). */
export function commandInputs(name: string): Record<string, any> {
    const commands = ofType("command:remote:Command");
    const c = commands.find((r) => r.name === name);
    if (!c) throw new Error(`no command ${name}; have ${commands.map((r) => r.name).join(", ")}`);
    return c.inputs;
}
