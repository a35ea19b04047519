import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as tar from "tar-stream";
import { checkInputs, diffResult } from "../../../plugins/provider";
import { container, createOptions, durationNs, uploadsArchive } from "../../../plugins/docker/container";

async function entries(archive: Buffer): Promise<Array<{ name: string; mode: number; body: string }>> {
    const extract = tar.extract();
    const out: Array<{ name: string; mode: number; body: string }> = [];
    const done = new Promise<void>((resolve, reject) => {
        extract.on("entry", (header, stream, next) => {
            const chunks: Buffer[] = [];
            stream.on("data", (c: Buffer) => chunks.push(c));
            stream.on("end", () => { out.push({ name: header.name, mode: header.mode ?? 0, body: Buffer.concat(chunks).toString() }); next(); });
        });
        extract.on("finish", resolve);
        extract.on("error", reject);
    });
    extract.end(archive);
    await done;
    return out;
}

const base = checkInputs(container, {
    name: "bx-web-1", image: "sha256:aaa", envs: ["A=1"], restart: "unless-stopped", memory: 512,
    uploads: [{ file: "/etc/x.conf", content: "x", executable: false }],
}).inputs;

describe("docker.Container stand-in", () => {
    it("parses Go durations into nanoseconds and rejects anything else", () => {
        assert.equal(durationNs("2s"), 2e9);
        assert.equal(durationNs("500ms"), 5e8);
        assert.equal(durationNs("1m30s"), 90e9);
        assert.throws(() => durationNs("2 seconds"), /not a duration/);
        assert.match(checkInputs(container, { name: "a", image: "i", healthcheck: { interval: "2sec" } }).failures![0].property, /healthcheck.interval/);
    });

    it("packs uploads as file entries only, with upstream's modes (0644, 0744 executable)", async () => {
        const archive = await uploadsArchive([
            { file: "/etc/haproxy/haproxy.cfg", content: "global\n" },
            { file: "/usr/local/bin/start.sh", content: "#!/bin/sh\n", executable: true },
            { file: "/b64", contentBase64: Buffer.from("bin").toString("base64") },
        ]);
        assert.deepEqual(await entries(archive), [
            { name: "etc/haproxy/haproxy.cfg", mode: 0o644, body: "global\n" },
            { name: "usr/local/bin/start.sh", mode: 0o744, body: "#!/bin/sh\n" },
            { name: "b64", mode: 0o644, body: "bin" },
        ]);
    });

    it("maps ports, volumes, health check, capabilities, memory and the network endpoint to the engine's API", () => {
        const o = createOptions({
            name: "c", image: "img", restart: "unless-stopped", memory: 256,
            ports: [{ internal: 443, external: 8443, ip: "127.0.0.1" }, { internal: 53, protocol: "udp" }],
            volumes: [{ volumeName: "data", containerPath: "/var/lib/mysql" }, { volumeName: "ro", containerPath: "/ro", readOnly: true }],
            healthcheck: { tests: ["CMD-SHELL", "true"], interval: "2s", timeout: "500ms", retries: 3, startPeriod: "1m" },
            capabilities: { adds: ["SYS_ADMIN"] },
            networksAdvanced: [{ name: "net", aliases: ["web"], ipv4Address: "10.0.0.10" }, { name: "other" }],
        });
        assert.deepEqual(o.ExposedPorts, { "443/tcp": {}, "53/udp": {} });
        assert.deepEqual(o.HostConfig.PortBindings, { "443/tcp": [{ HostIp: "127.0.0.1", HostPort: "8443" }], "53/udp": [{ HostIp: "0.0.0.0", HostPort: "" }] });
        assert.deepEqual(o.HostConfig.Binds, ["data:/var/lib/mysql", "ro:/ro:ro"]);
        assert.deepEqual(o.Healthcheck, { Test: ["CMD-SHELL", "true"], Interval: 2e9, Timeout: 5e8, Retries: 3, StartPeriod: 60e9 });
        assert.deepEqual(o.HostConfig.CapAdd, ["SYS_ADMIN"]);
        assert.equal(o.HostConfig.Memory, 256 * 1024 * 1024);
        assert.deepEqual(o.HostConfig.RestartPolicy, { Name: "unless-stopped", MaximumRetryCount: undefined });
        assert.equal(o.HostConfig.NetworkMode, "net");
        assert.deepEqual(o.NetworkingConfig.EndpointsConfig.net, { Aliases: ["web"], IPAMConfig: { IPv4Address: "10.0.0.10" } });
        assert.deepEqual(o.others, [{ name: "other" }]);
    });

    it("replaces the container when its image, environment or an uploaded file changes", () => {
        for (const change of [{ image: "sha256:bbb" }, { envs: ["A=2"] }, { uploads: [{ file: "/etc/x.conf", content: "y", executable: false }] }]) {
            const d = diffResult(container, base, { ...base, ...change });
            assert.deepEqual(d.replaces, Object.keys(change), JSON.stringify(change));
        }
    });

    it("updates restart policy and memory in place, and knows upstream's defaults", () => {
        assert.deepEqual(diffResult(container, base, { ...base, restart: "always", memory: 1024 }), { changes: true, replaces: [] });
        assert.equal(base.restart, "unless-stopped");
        const d = checkInputs(container, { name: "c", image: "i" }).inputs;
        assert.deepEqual([d.restart, d.mustRun, d.wait, d.waitTimeout, d.start], ["no", true, false, 60, true]);
    });

    it("fails loudly on a container property it does not implement", () => {
        const r = checkInputs(container, { name: "c", image: "i", privileged: true, ports: [{ internal: 80, ipv6: true }] });
        assert.deepEqual(r.failures!.map((f) => f.property), ["privileged", "ports[0].ipv6"]);
    });
});
