/**
 * The offline docker plugin's resource types against the real local engine: the effects and the drift reports
 * that the end-to-end test relies on, each checked with the docker CLI. Objects are named bx-plugin-test-*.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { container } from "../../plugins/docker/container";
import { image } from "../../plugins/docker/image";
import { network } from "../../plugins/docker/network";
import { volume } from "../../plugins/docker/volume";
import { checked as inputs, docker } from "../helpers/plugin";

const P = "bx-plugin-test";

describe("offline docker plugin on the local engine", { timeout: 10 * 60_000 }, () => {
    after(() => {
        for (const [kind, flag] of [["container", "-f"], ["volume", "-f"], ["network", ""]]) {
            const ids = docker(kind, "ls", ...(kind === "container" ? ["-a"] : []), "-q", "--filter", `name=${P}`).split("\n").filter(Boolean);
            if (ids.length) docker(kind, "rm", ...(flag ? [flag] : []), ...ids);
        }
    });

    let imageId = "";
    it("builds an image from a context and reports the local image ID as repoDigest", async () => {
        const ctx = fs.mkdtempSync(path.join(os.tmpdir(), "bx-img-"));
        fs.writeFileSync(path.join(ctx, "Dockerfile"), "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY hello.txt /hello.txt\n");
        fs.writeFileSync(path.join(ctx, "hello.txt"), "hello\n");
        const i = inputs(image, { imageName: `${P}-img:latest`, skipPush: true, build: { context: ctx, args: { BASE_IMAGE: "debian:bookworm-slim" } } });
        const r = await image.create(i);
        assert.equal(r.id, `${P}-img:latest`);
        imageId = String(r.outs.repoDigest);
        assert.equal(imageId, docker("image", "inspect", "-f", "{{.Id}}", `${P}-img:latest`));
        fs.writeFileSync(path.join(ctx, "Dockerfile"), "FROM nonexistent-base-image-for-test\n");
        await assert.rejects(image.create({ ...i, build: { context: ctx } }), /building bx-plugin-test-img:latest .* failed/s);
    });

    let netId = "";
    it("creates a network with its IPAM settings and labels, and a volume", async () => {
        const n = await network.create(inputs(network, {
            name: `${P}-net`, ipamConfigs: [{ subnet: "172.28.99.0/24", gateway: "172.28.99.1", ipRange: "172.28.99.128/25" }],
            labels: [{ label: "bitrix-cluster.prefix", value: P }],
        }));
        netId = n.id;
        assert.equal(docker("network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).IPRange}} {{index .Labels \"bitrix-cluster.prefix\"}}", n.id),
            `172.28.99.0/24 172.28.99.128/25 ${P}`);
        const v = await volume.create(inputs(volume, { name: `${P}-vol` }));
        assert.equal(v.id, `${P}-vol`);
        assert.ok(await volume.read(v.id, {}));
    });

    let id = "";
    const spec = {
        name: `${P}-c`, image: "", command: ["sleep", "infinity"], envs: ["GREETING=hi"], restart: "unless-stopped", memory: 64,
        networksAdvanced: [{ name: `${P}-net`, aliases: ["svc"], ipv4Address: "172.28.99.10" }],
        volumes: [{ volumeName: `${P}-vol`, containerPath: "/data" }],
        ports: [{ internal: 80, external: 18999, ip: "127.0.0.1" }],
        uploads: [{ file: "/etc/bx/conf", content: "a=1\n" }, { file: "/usr/local/bin/check", content: "#!/bin/sh\ntest -f /hello.txt\n", executable: true }],
        healthcheck: { tests: ["CMD-SHELL", "/usr/local/bin/check"], interval: "1s", timeout: "1s", retries: 3, startPeriod: "0s" },
        labels: [{ label: "bitrix-cluster.prefix", value: P }],
        wait: true, waitTimeout: 30, destroyGraceSeconds: 1,
    };

    it("creates a container with its uploads in place before start, and waits until it is healthy", async () => {
        const r = await container.create(inputs(container, { ...spec, image: imageId }));
        id = r.id;
        assert.equal(docker("inspect", "-f", "{{.State.Health.Status}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.Memory}}", id), `healthy unless-stopped ${64 * 1024 * 1024}`);
        assert.equal(docker("exec", id, "cat", "/etc/bx/conf"), "a=1");
        assert.equal(docker("exec", id, "stat", "-c", "%a", "/usr/local/bin/check", "/etc/bx/conf"), "744\n644");
        assert.equal(docker("inspect", "-f", `{{(index .NetworkSettings.Networks "${P}-net").IPAddress}}`, id), "172.28.99.10");
        assert.deepEqual(r.outs.networkDatas, [{ networkName: `${P}-net`, ipAddress: "172.28.99.10", ipPrefixLength: 24, gateway: "172.28.99.1", macAddress: (r.outs.networkDatas as any)[0].macAddress }]);
        assert.equal(docker("port", id, "80/tcp"), "127.0.0.1:18999");
    });

    it("reports a stopped container as mustRun=false, and starts it again on update", async () => {
        docker("stop", "-t", "1", id);
        const state = await container.read(id, {});
        assert.equal(state?.mustRun, false);
        assert.equal(typeof state?.exitCode, "number");
        await container.update!(id, { ...spec, mustRun: false }, { ...spec, mustRun: true, start: true });
        assert.equal(docker("inspect", "-f", "{{.State.Running}}", id), "true");
    });

    it("changes restart policy and memory on the live container", async () => {
        await container.update!(id, { ...spec, mustRun: true }, { ...spec, mustRun: true, restart: "always", memory: 128 });
        assert.equal(docker("inspect", "-f", "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.Memory}}", id), `always ${128 * 1024 * 1024}`);
    });

    it("fails a create whose health check never passes, keeping the container's id for the engine", async () => {
        const bad = { ...spec, name: `${P}-bad`, networksAdvanced: [], ports: [], waitTimeout: 3, healthcheck: { ...spec.healthcheck, tests: ["CMD-SHELL", "false"] } };
        await assert.rejects(container.create(inputs(container, { ...bad, image: imageId })), (e: any) =>
            /failed to be in healthy state after 3 s/.test(e.message) && /^[0-9a-f]{64}$/.test(e.id));
        const noCheck = { ...bad, name: `${P}-nocheck`, healthcheck: undefined };
        await assert.rejects(container.create(inputs(container, { ...noCheck, image: imageId })), /does not have a healthcheck defined/);
        // Both stay until the engine deletes or replaces them (they are in its state as failed creates).
        const names = docker("ps", "-a", "--format", "{{.Names}}", "--filter", `name=${P}-`).split("\n");
        assert.ok(names.includes(`${P}-bad`) && names.includes(`${P}-nocheck`), names.join(", "));
        await container.delete(`${P}-bad`, {});
        await container.delete(`${P}-nocheck`, {});
    });

    it("deletes the container, then the volume and network, and reports each gone", async () => {
        await container.delete(id, { destroyGraceSeconds: 1 });
        assert.equal(await container.read(id, {}), undefined);
        await volume.delete(`${P}-vol`, {});
        assert.equal(await volume.read(`${P}-vol`, {}), undefined);
        await network.delete(netId, {});
        assert.equal(await network.read(netId, {}), undefined);
        await container.delete(id, {}); // already gone: not an error
    });
});
