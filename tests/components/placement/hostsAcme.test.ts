import { commandInputs, installMocks, ofType, settleAll, valueOf } from "../../helpers/pulumiMocks";
installMocks();

import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { BitrixCluster } from "../../../components/cluster";
import { validateClusterConfig } from "../../../components/config/validate";
import { HostsPlacement } from "../../../components/placement/hosts";
import { testHostKey } from "../../helpers/hostKeys";

// tlsMode acme on hosts, as the validator builds it: the ACME service beside balancer-1 (lb), lb2 reached as deploy.
const config = validateClusterConfig(
    {
        placement: "hosts",
        adminAllowlist: ["192.0.2.0/24"],
        namePrefix: "bx-a",
        dbEngine: "mariadb",
        floatingAddress: "10.0.0.50",
        monitoring: true,
        sharedStorage: "external",
        redisReplicas: 1,
        serverName: "portal.example.com",
        tlsMode: "acme",
        acmeEmail: "ops@example.com",
        sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
        hosts: [
            { name: "lb", address: "10.0.0.10", roles: ["balancer", "sentinel", "db-master", "redis"] },
            { name: "web-a", address: "10.0.0.11", roles: ["web", "sentinel"] },
            { name: "web-b", address: "10.0.0.12", roles: ["web", "sentinel", "db-replica"] },
            { name: "lb2", address: "10.0.0.31", port: 2222, user: "deploy", roles: ["balancer", "monitoring", "redis"] },
        ].map((h) => ({ ...h, hostKey: testHostKey(h.name) })),
    },
    { namespace: "bitrix-cluster", stack: "acme" },
);
const placement = new HostsPlacement("bx-a-hosts", {
    inventory: config.hosts!.inventory,
    privateKey: pulumi.secret("KEY"),
    engine: "mariadb",
    adminAllowlist: config.balancer.adminAllowlist,
    nodeExporter: true,
});
new BitrixCluster("bx-a", { config, placement });

const commands = () => ofType("command:remote:Command");
const named = commandInputs;
const host = (inputs: Record<string, any>) => (inputs.connection.value ?? inputs.connection).host;
const text = async (v: any) => String(await valueOf(v?.value ?? v));

describe("tlsMode acme on hosts (under mocks)", () => {
    it("runs the ACME service on the first balancer's host, with lego installed there only", async () => {
        await settleAll();
        assert.equal(placement.hostOf("acme"), "10.0.0.10");
        assert.equal(host(named("bx-a-balancer-acme-start")), "10.0.0.10");
        assert.match(named("bx-a-hosts-lb-install").create, /roles balancer, redis, db, acme \(engine mariadb\)/);
        const aptPackages = (h: string) =>
            /for p in ([^;]*); do\n\s*dpkg-query/.exec(named(`bx-a-hosts-${h}-install`).create)![1].split(" ");
        for (const p of ["lego", "busybox", "openssh-client", "openssl"]) assert.ok(aptPackages("lb").includes(p), p);
        assert.ok(!aptPackages("lb2").includes("lego"));
        // Both balancers' HAProxy send challenges to that host's lego.
        for (const n of [1, 2])
            assert.match(
                await text(named(`bx-a-balancer-${n}-haproxy-file-etc-haproxy-haproxy-cfg`).stdin),
                /server acme 10\.0\.0\.10:8888/,
            );
    });

    it("opens the challenge and metrics ports to the cluster on that host", async () => {
        const rules = await text(named("bx-a-hosts-lb-firewall").stdin);
        assert.match(rules, /tcp dport \{ [^}]*\b8888\b[^}]*\b9466\b[^}]* \} ip saddr @cluster4 accept/);
        assert.doesNotMatch(await text(named("bx-a-hosts-lb2-firewall").stdin), /8888|9466/);
    });

    it("makes the push key on the ACME host and authorizes it on the other balancer host only, for the receiver through sudo", async () => {
        const keygen = named("bx-a-balancer-acme-push-key");
        assert.equal(host(keygen), "10.0.0.10");
        assert.match(keygen.create, /ssh-keygen -q -t ed25519/);
        assert.equal(keygen.stdin, undefined, "nothing is sent to the key step");
        assert.deepEqual(
            commands()
                .filter((c) => /push-authorize/.test(c.name))
                .map((c) => c.name),
            ["bx-a-balancer-acme-push-authorize-lb2"],
        );
        const auth = named("bx-a-balancer-acme-push-authorize-lb2");
        assert.equal(host(auth), "10.0.0.31");
        assert.match(auth.create, /^sudo -n sh -c /);
        assert.match(auth.delete, /awk -v m=.*bitrix-cluster-push:bx-a-hosts:acme/);
        const line = await text(auth.stdin);
        assert.equal(
            line,
            `restrict,from="10.0.0.10",command="sudo -n /usr/local/sbin/bitrix-tls-receive",no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty ${testHostKey("push-bx-a-balancer-acme-push-key")} bitrix-cluster-push:bx-a-hosts:acme\n`,
        );
    });

    it("gives the ACME service its peers and their pinned host keys, and starts it after the key is authorized", async () => {
        assert.equal(
            await text(named("bx-a-balancer-acme-file-etc-bitrix-cluster-push-acme-peers").stdin),
            "# Generated by bitrix-cluster: hosts the published file is pushed to (name user address port)\nlb2 deploy 10.0.0.31 2222\n",
        );
        assert.equal(
            await text(named("bx-a-balancer-acme-file-etc-bitrix-cluster-push-acme-known-hosts").stdin),
            `[10.0.0.31]:2222 ${testHostKey("lb2")}\n`,
        );
        assert.match(
            await text(named("bx-a-balancer-acme-file-etc-bitrix-cluster-acme-env").stdin),
            /^BITRIX_PUSH_DIR="\/etc\/bitrix-cluster\/push\/acme"$/m,
        );
        // Both balancers read the TLS directory; the receiver is on every balancer host with the image's files.
        for (const n of [1, 2])
            assert.match(
                await text(named(`bx-a-balancer-${n}-haproxy-file-etc-bitrix-cluster-balancer-${n}-env`).stdin),
                /TLS_SOURCE="\/var\/lib\/bitrix-tls\/site.pem"/,
            );
        assert.ok(commands().some((c) => c.name === "bx-a-balancer-2-haproxy-file-usr-local-sbin-bitrix-tls-receive"));
    });

    it("scrapes the ACME service's metrics on its host", async () => {
        assert.match(
            await text(named("bx-a-monitoring-prometheus-file-etc-bitrix-monitoring-prometheus-yml").stdin),
            /job_name: acme[\s\S]*?10\.0\.0\.10:9466/,
        );
    });
});
