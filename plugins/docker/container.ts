/**
 * `docker.Container`, following terraform-provider-docker (which the official plugin bridges): create, copy the
 * uploads in, start, and with `wait` poll until it is healthy or `waitTimeout` passes. Nearly every argument forces
 * replacement; the few the engine can change on a live container update in place, some only in the state.
 */
import * as tar from "tar-stream";
import { CreatedButFailed, ResourceType } from "../provider";
import { isSecret } from "../values";
import { engine, ignoreNotFound, isNotFound, labelMap, labelsShape, sleep } from "./engine";

/** Arguments upstream changes on the live container (ContainerUpdate, or a start for `mustRun`)... */
const LIVE = ["restart", "maxRetryCount", "memory", "memorySwap", "cpuShares"];
/** ...or only records in state: a changed health check does not reach the running container (upstream v4.5.0). */
export const UPDATABLE = [...LIVE, "mustRun", "healthcheck", "wait", "waitTimeout", "destroyGraceSeconds", "start", "rm", "removeVolumes"];

const INPUTS = {
    name: "string", hostname: "string", image: "string", command: { array: "string" }, entrypoints: { array: "string" },
    envs: { array: "string" }, user: "string", workingDir: "string", labels: labelsShape,
    networksAdvanced: { array: { object: { name: "string", aliases: { array: "string" }, ipv4Address: "string" } } },
    volumes: { array: { object: { volumeName: "string", containerPath: "string", hostPath: "string", readOnly: "boolean" } } },
    ports: { array: { object: { internal: "integer", external: "integer", ip: "string", protocol: "string" } } },
    uploads: { array: { object: { file: "string", content: "string", contentBase64: "string", executable: "boolean" } } },
    healthcheck: { object: { tests: { array: "string" }, interval: "string", timeout: "string", retries: "integer", startPeriod: "string" } },
    capabilities: { object: { adds: { array: "string" }, drops: { array: "string" } } },
    memory: "integer", memorySwap: "integer", cpuShares: "integer", restart: "string", maxRetryCount: "integer",
    mustRun: "boolean", wait: "boolean", waitTimeout: "integer", destroyGraceSeconds: "integer", start: "boolean", rm: "boolean",
    removeVolumes: "boolean",
} as const;

/** Go duration ("1m30s", "500ms", "2s") to nanoseconds, as the engine's health check wants them. */
export function durationNs(d: string | undefined): number | undefined {
    if (!d) return undefined;
    const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
    const parts = [...d.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
    if (parts.map((p) => p[0]).join("") !== d) throw new Error(`"${d}" is not a duration such as "2s" or "1m30s"`);
    return Math.round(parts.reduce((sum, [, n, u]) => sum + Number(n) * units[u], 0));
}

/** One tar archive with every upload as a file entry, extracted at "/" (parents are created, never re-moded). */
export async function uploadsArchive(uploads: Array<{ file: string; content?: string; contentBase64?: string; executable?: boolean }>): Promise<Buffer> {
    const pack = tar.pack();
    for (const u of uploads) {
        const body = u.contentBase64 !== undefined ? Buffer.from(u.contentBase64, "base64") : Buffer.from(u.content ?? "");
        // Upstream's modes: 0644, or 0744 for executables.
        pack.entry({ name: u.file.replace(/^\/+/, ""), mode: u.executable ? 0o744 : 0o644, size: body.length }, body);
    }
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
}

/** The engine's create body for the inputs. */
export function createOptions(i: any): any {
    const ports = (i.ports ?? []).map((p: any) => ({ key: `${p.internal}/${p.protocol ?? "tcp"}`, ip: p.ip ?? "0.0.0.0", external: p.external }));
    const [first, ...others] = i.networksAdvanced ?? [];
    return {
        name: i.name,
        Hostname: i.hostname,
        Image: i.image,
        Cmd: i.command,
        Entrypoint: i.entrypoints,
        Env: i.envs,
        User: i.user,
        WorkingDir: i.workingDir,
        Labels: labelMap(i.labels),
        ExposedPorts: Object.fromEntries(ports.map((p: any) => [p.key, {}])),
        Healthcheck: i.healthcheck && {
            Test: i.healthcheck.tests,
            Interval: durationNs(i.healthcheck.interval),
            Timeout: durationNs(i.healthcheck.timeout),
            Retries: i.healthcheck.retries,
            StartPeriod: durationNs(i.healthcheck.startPeriod),
        },
        HostConfig: {
            Binds: (i.volumes ?? []).map((v: any) => `${v.volumeName ?? v.hostPath}:${v.containerPath}${v.readOnly ? ":ro" : ""}`),
            PortBindings: ports.reduce((acc: any, p: any) => {
                (acc[p.key] ??= []).push({ HostIp: p.ip, HostPort: p.external === undefined ? "" : String(p.external) });
                return acc;
            }, {}),
            CapAdd: i.capabilities?.adds,
            CapDrop: i.capabilities?.drops,
            Memory: i.memory ? i.memory * 1024 * 1024 : undefined,
            MemorySwap: i.memorySwap ? i.memorySwap * 1024 * 1024 : undefined,
            CpuShares: i.cpuShares,
            RestartPolicy: { Name: i.restart, MaximumRetryCount: i.restart === "on-failure" ? i.maxRetryCount : undefined },
            NetworkMode: first?.name,
        },
        NetworkingConfig: first && {
            EndpointsConfig: { [first.name]: endpoint(first) },
        },
        others,
    };
}

function endpoint(n: any): any {
    return { Aliases: n.aliases, IPAMConfig: n.ipv4Address ? { IPv4Address: n.ipv4Address } : undefined };
}

async function logsTail(id: string): Promise<string> {
    const buf = await engine.getContainer(id).logs({ stdout: true, stderr: true, tail: 20 }).catch(() => Buffer.from(""));
    // Multiplexed frames: 8-byte headers before each chunk.
    const text: string[] = [];
    for (let at = 0; at + 8 <= buf.length;) {
        const size = buf.readUInt32BE(at + 4);
        text.push(buf.subarray(at + 8, at + 8 + size).toString());
        at += 8 + size;
    }
    return text.join("").trim();
}

async function computed(id: string): Promise<Record<string, unknown> | undefined> {
    const info = await ignoreNotFound(() => engine.getContainer(id).inspect());
    if (!info) return undefined;
    return {
        networkDatas: Object.entries(info.NetworkSettings.Networks ?? {}).map(([name, n]) => ({
            networkName: name, ipAddress: n.IPAddress, ipPrefixLength: n.IPPrefixLen, gateway: n.Gateway, macAddress: n.MacAddress,
        })),
    };
}

/** Upstream's delete: stop with `destroyGraceSeconds` (0, i.e. kill at once, when unset), then force-remove. */
async function remove(id: string, graceSeconds = 0, removeVolumes = true): Promise<void> {
    const container = engine.getContainer(id);
    await ignoreNotFound(() => container.stop({ t: graceSeconds })).catch((e) => {
        if ((e as { statusCode?: number }).statusCode !== 304) throw e; // 304: already stopped
    });
    await ignoreNotFound(() => container.remove({ force: true, v: removeVolumes }));
}

export const container: ResourceType = {
    token: "docker:index/container:Container",
    inputs: INPUTS,
    replaceOn: Object.keys(INPUTS).filter((k) => !UPDATABLE.includes(k)),
    defaults: { restart: "no", mustRun: true, wait: false, waitTimeout: 60, start: true, rm: false, removeVolumes: true },
    normalize(news) {
        // Nested defaults upstream records at check time.
        const ports = Array.isArray(news.ports)
            ? news.ports.map((p: any) => (typeof p === "object" && p !== null && !isSecret(p) ? { ip: "0.0.0.0", protocol: "tcp", ...p } : p))
            : news.ports;
        return { ...news, ...(ports ? { ports } : {}) };
    },
    validate(i) {
        const failures = [];
        if (!i.name) failures.push({ property: "name", reason: "name is required" });
        if (!i.image) failures.push({ property: "image", reason: "image is required" });
        for (const [k, d] of Object.entries(i.healthcheck ?? {})) {
            if (typeof d === "string") {
                try { durationNs(d); } catch (e) { failures.push({ property: `healthcheck.${k}`, reason: (e as Error).message }); }
            }
        }
        return failures;
    },
    async create(i) {
        const { others, ...options } = createOptions(i);
        const created = await engine.createContainer(options);
        const id = created.id;
        const fail = async (message: string): Promise<never> => {
            const logs = await logsTail(id);
            throw new CreatedButFailed(`${message}${logs ? `; last log lines:\n${logs}` : ""}`, id, (await computed(id)) ?? {});
        };
        for (const n of others) await engine.getNetwork(n.name).connect({ Container: id, EndpointConfig: endpoint(n) });
        if (i.uploads?.length) await created.putArchive(await uploadsArchive(i.uploads), { path: "/" });
        if (i.start) {
            await created.start();
            if (i.wait) {
                // Upstream polls every second; "unhealthy" is not final (the check may still pass before the timeout).
                const deadline = Date.now() + i.waitTimeout * 1000;
                for (;;) {
                    const state = (await created.inspect()).State;
                    if (!state.Health) {
                        await fail("you have supplied a 'wait' argument, but the container does not have a healthcheck defined. " +
                            "Please remove the 'wait' argument or add a 'healthcheck' attribute");
                    }
                    if (state.Health?.Status === "healthy") break;
                    if (Date.now() > deadline) await fail(`container ${i.name} failed to be in healthy state after ${i.waitTimeout} s (${state.Running ? "running" : `exited ${state.ExitCode}`}, health ${state.Health?.Status})`);
                    await sleep(1000);
                }
            }
        }
        return { id, outs: (await computed(id)) ?? {} };
    },
    async read(id) {
        const info = await ignoreNotFound(() => engine.getContainer(id).inspect());
        if (!info) return undefined;
        // A stopped container: upstream records its exit code and mustRun=false, so the next update starts it again.
        return { ...(await computed(id)), ...(info.State.Running ? {} : { mustRun: false, exitCode: info.State.ExitCode }) };
    },
    async update(id, olds, news) {
        const changed = (k: string) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]);
        if (!olds.mustRun && news.mustRun && news.start) await engine.getContainer(id).start();
        if (LIVE.some(changed)) {
            await engine.getContainer(id).update({
                RestartPolicy: { Name: news.restart, MaximumRetryCount: news.restart === "on-failure" ? news.maxRetryCount : undefined },
                Memory: news.memory ? news.memory * 1024 * 1024 : undefined,
                MemorySwap: news.memorySwap ? news.memorySwap * 1024 * 1024 : undefined,
                CpuShares: news.cpuShares,
            });
        }
        return (await computed(id)) ?? {};
    },
    async delete(id, state) {
        try {
            await remove(id, state.destroyGraceSeconds, state.removeVolumes);
        } catch (e) {
            if (!isNotFound(e)) throw e;
        }
    },
};
