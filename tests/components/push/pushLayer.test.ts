import { installMocks, ofType, settleAll } from "../../helpers/pulumiMocks";
installMocks();

import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { DockerPlacement } from "../../../components/placement/docker";
import { HostsPlacement } from "../../../components/placement/hosts";
import { parseInventory } from "../../../components/placement/hostsInventory";
import { Placement, ServiceSpec } from "../../../components/placement/types";
import { PushLayer } from "../../../components/push/pushLayer";
import { testHostKey } from "../../helpers/hostKeys";

const SHA = "0123456789abcdef".repeat(4);
const ARCHIVE = { path: "/srv/push/push-server.tar.gz", sha256: SHA };
const KEY = "k".repeat(40);

/** A placement that records the specs it is handed. */
function recordingPlacement(): Placement & { specs: ServiceSpec[] } {
    const specs: ServiceSpec[] = [];
    const resource = new pulumi.ComponentResource("test:Stub", `stub-${Math.random()}`);
    return {
        specs,
        kind: "recording",
        hostOf: (s) => `host-of-${s}`,
        addressOf: (s) => `address-of-${s}`,
        reach: (s, p) => ({ host: s, port: p.internal }),
        sourcesOf: () => [],
        deploy(_parent, spec) {
            specs.push(spec);
            return { host: `host-of-${spec.service}`, resource, ready: resource };
        },
    };
}

describe("push layer: the user's server as an image (Docker) or a tarball (hosts)", () => {
    it("runs a tarball from its unpacked directory as bitrix-push, with configs its group reads and a health check", () => {
        const placement = recordingPlacement();
        new PushLayer("p", { placement, count: 2, server: { archive: ARCHIVE }, key: KEY });
        const push = placement.specs.filter((s) => /^push-\d$/.test(s.service));
        assert.deepEqual(
            push.map((s) => s.service),
            ["push-1", "push-2"],
        );
        for (const s of push) {
            assert.deepEqual(s.image, { archive: { ...ARCHIVE, into: "/opt/bitrix-cluster/push-server" } });
            assert.deepEqual(s.command, ["runuser", "-u", "bitrix-push", "--", "/opt/bitrix-cluster/push-server/start"]);
            assert.deepEqual(
                s.files.map((f) => [f.path, f.secret, f.group]),
                [
                    ["/etc/push-server/push-server-sub-8010.json", true, "bitrix-push"],
                    ["/etc/push-server/push-server-pub-9010.json", true, "bitrix-push"],
                ],
            );
            assert.deepEqual(s.env, {
                PUSH_SUB_CONFIG: "/etc/push-server/push-server-sub-8010.json",
                PUSH_PUB_CONFIG: "/etc/push-server/push-server-pub-9010.json",
            });
            assert.match(s.health!.command, /curl -fsS -o \/dev\/null http:\/\/127\.0\.0\.1:9010\/server-stat\/ && /);
            assert.match(s.health!.command, /http:\/\/127\.0\.0\.1:8010\/bitrix\/subws\/\)" = 400 \]$/);
        }
        const redis = placement.specs.find((s) => s.service === "push-redis")!;
        assert.deepEqual(redis.listens, [{ port: 6380, from: "cluster" }]);
    });

    it("runs an image as it is: its own command, no group on the configs, no health command", () => {
        const placement = recordingPlacement();
        new PushLayer("p", { placement, count: 1, server: { image: "registry.example.com/push:2" }, key: KEY });
        const s = placement.specs.find((x) => x.service === "push-1")!;
        assert.deepEqual(s.image, { pull: "registry.example.com/push:2" });
        assert.equal(s.command, undefined);
        assert.equal(s.health, undefined);
        assert.ok(s.files.every((f) => f.secret && f.group === undefined));
    });

    it("on hosts: uploads the tarball to each push host once, unpacks it in the start step and removes it on delete", async () => {
        const inventory = parseInventory(
            [
                { name: "lb", address: "10.0.0.10", roles: ["balancer", "nfs", "db-master", "redis", "sentinel", "push"] },
                { name: "w", address: "10.0.0.11", user: "deploy", roles: ["web", "push"] },
            ].map((h) => ({ ...h, hostKey: testHostKey(h.name) })),
            { webNodes: 1, dbReplicas: 0, redisNodes: 1, sentinels: 1, push: 2 },
        );
        const placement = new HostsPlacement("h", { inventory, privateKey: pulumi.secret("KEY"), engine: "mariadb" });
        new PushLayer("h-push", { placement, count: 2, server: { archive: ARCHIVE }, key: KEY });
        await settleAll();
        const copies = ofType("command:remote:CopyToRemote");
        assert.deepEqual(
            copies.map((c) => [c.name, (c.inputs.connection.value ?? c.inputs.connection).host, c.inputs.remotePath]),
            [
                ["h-push-1-archive", "10.0.0.10", ".bitrix-cluster/push-server.tar.gz"],
                ["h-push-2-archive", "10.0.0.11", ".bitrix-cluster/push-server.tar.gz"],
            ],
        );
        // A file asset: Pulumi keeps its path and hash in the state, not its bytes.
        assert.equal(await copies[0].inputs.source.path, ARCHIVE.path);
        const commands = ofType("command:remote:Command");
        const start = commands.find((c) => c.name === "h-push-2-start")!.inputs;
        const create = String(start.create.value ?? start.create);
        // As root through sudo (deploy), from deploy's home, checked against the digest, then the unit restarted.
        assert.match(create, /^sudo -n sh -c /);
        assert.match(create, /getent passwd '\\''deploy'\\''/);
        assert.ok(create.indexOf(SHA) < create.indexOf("systemctl restart bitrix-push-2.service"));
        assert.ok(create.indexOf("sha256sum -c") < create.indexOf("tar -xzf"));
        const unit = commands.find((c) => c.name === "h-push-2-file-etc-systemd-system-bitrix-push-2-service")!.inputs;
        assert.match(String(unit.stdin), /^ExecStart=runuser -u bitrix-push -- \/opt\/bitrix-cluster\/push-server\/start$/m);
        const config = commands.find((c) => c.name === "h-push-1-file-etc-push-server-push-server-sub-8010-json")!.inputs;
        assert.match(
            String(config.create),
            /install -D -m 0640 -g bitrix-push \/dev\/stdin '\/etc\/push-server\/push-server-sub-8010\.json'/,
        );
        // Removed on delete (push-1: on lb as root).
        assert.match(
            String(commands.find((c) => c.name === "h-push-1-start")!.inputs.delete),
            /rm -rf -- '\/opt\/bitrix-cluster\/push-server'; rm -f -- "\$\(getent passwd 'root' \| cut -d: -f6\)"\/'\.bitrix-cluster\/push-server\.tar\.gz'/,
        );
        // Its firewall opens the listeners and the push Redis (on the first push host) to the cluster's hosts.
        const firewall = commands.find((c) => c.name === "h-lb-firewall")!.inputs;
        const rules = String(firewall.stdin.value ?? firewall.stdin);
        for (const port of [8010, 9010, 6380]) assert.match(rules, new RegExp(`\\b${port}\\b`), String(port));
    });

    it("refuses a tarball on Docker", () => {
        const docker = new DockerPlacement("d", { prefix: "d", subnet: "172.28.9.0/24" });
        assert.throws(
            () => new PushLayer("d-push", { placement: docker, count: 1, server: { archive: ARCHIVE }, key: KEY }),
            /\/srv\/push\/push-server\.tar\.gz: an archive runs on placement hosts only; on Docker give an image/,
        );
    });
});
