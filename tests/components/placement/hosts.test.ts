import { commandInputs, installMocks, ofType, recorded, settle, settleAll, valueOf } from "../../helpers/pulumiMocks";
installMocks();

import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { BitrixCluster } from "../../../components/cluster";
import { validateClusterConfig } from "../../../components/config/validate";
import { asRoot, HostsPlacement, packageRoles } from "../../../components/placement/hosts";
import { parseInventory } from "../../../components/placement/hostsInventory";
import { testHostKey } from "../../helpers/hostKeys";

// Settings only (the placement below is built by hand): a subnet that holds the hosts' floating address.
const config = validateClusterConfig(
    {
        adminAllowlist: ["127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
        namePrefix: "bx-h",
        dbEngine: "mariadb",
        dockerSubnet: "10.0.0.0/24",
        floatingAddress: "10.0.0.50",
        monitoring: false,
    },
    { namespace: "bitrix-cluster", stack: "hosts" },
);
const counts = { webNodes: 2, dbReplicas: 1, redisNodes: 3, sentinels: 3, balancers: 2 };
const inventory = parseInventory(
    [
        { name: "lb", address: "10.0.0.10", roles: ["balancer", "nfs", "sentinel"] },
        { name: "web-a", address: "10.0.0.11", roles: ["web", "sentinel"] },
        { name: "web-b", address: "10.0.0.12", roles: ["web", "sentinel"] },
        { name: "db-a", address: "10.0.0.21", roles: ["db-master", "redis"] },
        { name: "db-b", address: "10.0.0.22", port: 2222, roles: ["db-replica", "redis"] },
        { name: "cache", address: "10.0.0.23", roles: ["redis"] },
        { name: "lb2", address: "10.0.0.31", roles: ["balancer"] },
    ].map((h) => ({ ...h, hostKey: testHostKey(h.name) })),
    counts,
);
const bastion = { host: "203.0.113.10", user: "jump", hostKey: testHostKey("bastion") };
const placement = new HostsPlacement("bx-h-hosts", {
    inventory,
    privateKey: pulumi.secret("KEY"),
    bastion,
    engine: "mariadb",
    adminAllowlist: config.balancer.adminAllowlist,
});
/** A mocked input's plain value (secret inputs arrive wrapped). */
const plain = (v: any): string => v?.value ?? v;
new BitrixCluster("bx-h", { config, placement });

const commands = () => ofType("command:remote:Command");
const named = commandInputs;

describe("HostsPlacement (under mocks)", () => {
    it("installs each host's packages once, for all the roles it carries", async () => {
        await settleAll();
        const installs = commands()
            .filter((c) => c.name.endsWith("-install"))
            .map((c) => c.name)
            .sort();
        assert.deepEqual(installs, [
            "bx-h-hosts-cache-install",
            "bx-h-hosts-db-a-install",
            "bx-h-hosts-db-b-install",
            "bx-h-hosts-lb-install",
            "bx-h-hosts-lb2-install",
            "bx-h-hosts-web-a-install",
            "bx-h-hosts-web-b-install",
        ]);
        assert.match(named("bx-h-hosts-db-a-install").create, /roles db, redis \(engine mariadb\)/);
        assert.match(named("bx-h-hosts-web-a-install").create, /roles web, redis \(engine mariadb\)/);
        assert.deepEqual(packageRoles(["db-master", "redis", "sentinel"]), ["db", "redis"]);
    });

    it("puts services where the inventory says and gives their addresses to the generated config", () => {
        assert.equal(placement.hostOf("db-master"), "10.0.0.21");
        assert.equal(placement.addressOf("nfs"), "10.0.0.10");
        const conn = named("bx-h-db-replica-1-start").connection;
        assert.equal(conn.host ?? conn.value?.host, "10.0.0.22");
    });

    it("writes every file from stdin with its mode: entrypoint, generated files, 0600 environment, unit", async () => {
        const files = commands()
            .filter((c) => c.name.startsWith("bx-h-db-master-file-"))
            .map((c) => c.inputs.create as string)
            .sort();
        assert.ok(files.includes("install -D -m 0755 /dev/stdin '/usr/local/bin/mariadb-entrypoint'"), files.join("\n"));
        assert.ok(files.includes("install -D -m 0600 /dev/stdin '/etc/bitrix-cluster/db-master.env'"));
        assert.ok(files.includes("install -D -m 0644 /dev/stdin '/etc/systemd/system/bitrix-db-master.service'"));
        assert.ok(files.some((f) => f.includes("/etc/mysql/mariadb.conf.d/90-bitrix.cnf")));
        for (const f of files) assert.doesNotMatch(f, /MARIADB_ROOT_PASSWORD|mock-/, "no secret on a command line");
        const env = named("bx-h-db-master-file-etc-bitrix-cluster-db-master-env").stdin;
        assert.match(await valueOf(env.value ?? env), /^MARIADB_ROOT_PASSWORD="/m);
    });

    it("writes the stack's one self-signed pair to both balancer hosts, root's only, from stdin, and the image's cert-watch", async () => {
        const creates = (prefix: string) =>
            commands()
                .filter((c) => c.name.startsWith(prefix))
                .map((c) => c.inputs.create as string);
        for (const b of ["bx-h-balancer-1-haproxy-file-", "bx-h-balancer-2-haproxy-file-"]) {
            assert.ok(creates(b).includes("install -D -m 0600 /dev/stdin '/etc/haproxy/certs/site.pem'"), creates(b).join("\n"));
        }
        assert.ok(commands().some((c) => c.inputs.create === "install -D -m 0755 /dev/stdin '/usr/local/bin/balancer-cert-watch'"));
        const pem = (n: number) => named(`bx-h-balancer-${n}-haproxy-file-etc-haproxy-certs-site-pem`).stdin;
        const [a, b] = [await valueOf(plain(pem(1))), await valueOf(plain(pem(2)))];
        assert.equal(a, b);
        assert.match(a, /^-----BEGIN CERTIFICATE-----\nmock-for-localhost\n/);
    });

    it("gives web hosts the image's supervisord.conf", () => {
        assert.ok(
            commands().some(
                (c) =>
                    c.name.startsWith("bx-h-web-1-node-file-") &&
                    c.inputs.create === "install -D -m 0644 /dev/stdin '/etc/supervisor/supervisord.conf'",
            ),
        );
    });

    it("lets a Redis node and a sentinel share a host: each mode has its own config and environment file", () => {
        const paths = (prefix: string) =>
            commands()
                .filter((c) => c.name.startsWith(prefix))
                .map((c) => c.inputs.create as string);
        assert.ok(paths("bx-h-redis-redis-1-file-").some((c) => c.endsWith("'/etc/redis/bitrix/redis.env'")));
        assert.ok(paths("bx-h-redis-sentinel-1-file-").some((c) => c.endsWith("'/etc/redis/bitrix/sentinel.env'")));
    });

    it("refuses two services writing one path on a host", () => {
        const spec = (service: string) => ({
            resourceName: `dup-${service}`,
            service,
            image: { role: "redis" as const },
            files: [{ path: "/etc/same.conf", content: "x" }],
        });
        const other = new HostsPlacement("bx-x-hosts", { inventory, privateKey: pulumi.secret("KEY"), engine: "mariadb" });
        const parent = new pulumi.ComponentResource("test:x", "dup-parent");
        other.deploy(parent, spec("redis-1"));
        assert.throws(
            () => other.deploy(parent, spec("db-master")),
            /db-master and redis-1 both write \/etc\/same\.conf on host db-a; put these roles on different hosts/,
        );
    });

    it("writes secret files for root only, .settings.php for root and www-data, the rest world-readable", () => {
        const create = (name: string) => named(name).create as string;
        assert.equal(
            create("bx-h-redis-redis-1-file-etc-redis-bitrix-redis-conf"),
            "install -D -m 0600 /dev/stdin '/etc/redis/bitrix/redis.conf'",
        );
        assert.equal(
            create("bx-h-web-1-node-file-var-www-html-bitrix-settings-php"),
            "install -D -m 0640 -g www-data /dev/stdin '/var/www/html/bitrix/.settings.php'",
        );
        assert.equal(
            create("bx-h-web-1-node-file-etc-nginx-sites-enabled-bitrix-conf"),
            "install -D -m 0644 /dev/stdin '/etc/nginx/sites-enabled/bitrix.conf'",
        );
        assert.equal(
            create("bx-h-db-replica-1-file-docker-entrypoint-initdb-d-10-bitrix-replica-sql"),
            "install -D -m 0600 /dev/stdin '/docker-entrypoint-initdb.d/10-bitrix-replica.sql'",
        );
        // The writer route's login: root and HAProxy's group (its check runs as the haproxy user).
        assert.equal(
            create("bx-h-web-1-node-file-etc-haproxy-db-writer-json"),
            "install -D -m 0640 -g haproxy /dev/stdin '/etc/haproxy/db-writer.json'",
        );
    });

    it("has the web hosts' nginx trust X-Forwarded-For from the balancer hosts' addresses only", async () => {
        const site = await valueOf(named("bx-h-web-1-node-file-etc-nginx-sites-enabled-bitrix-conf").stdin);
        assert.deepEqual(
            site.match(/^\s*set_real_ip_from .*$/gm)?.map((l: string) => l.trim()),
            ["set_real_ip_from 10.0.0.10;", "set_real_ip_from 10.0.0.31;"],
        );
    });

    it("puts up each host's firewall after its packages and before any of its files", async () => {
        const fw = commands().find((c) => c.name === "bx-h-hosts-lb-firewall")!;
        const rules = await valueOf(fw.inputs.stdin);
        assert.match(
            rules,
            /elements = \{ 10\.0\.0\.10, 10\.0\.0\.11, 10\.0\.0\.12, 10\.0\.0\.21, 10\.0\.0\.22, 10\.0\.0\.23, 10\.0\.0\.31 \}/,
        );
        // lb carries balancer, nfs and sentinel: 2049 and 26379 for the cluster only, the status page for admins only.
        assert.match(rules, /tcp dport \{ 2049, 26379 \} ip saddr @cluster4 accept/);
        assert.match(
            rules,
            /tcp dport \{ 8404 \} ip saddr \{ 127\.0\.0\.0\/8, 10\.0\.0\.0\/8, 172\.16\.0\.0\/12, 192\.168\.0\.0\/16 \} accept/,
        );
        assert.doesNotMatch(rules, /dport \{[^}]*\b(80|443)\b/, "the balancer's HTTP(S) stays open to everyone");
        assert.match(fw.inputs.create, /nft -c -f \/etc\/bitrix-cluster\/firewall\.nft\.new/);
        assert.match(fw.inputs.delete, /systemctl disable --now bitrix-firewall\.service/);
    });

    it("opens on each host the ports its services say they listen on (ServiceSpec.listens), and no others", async () => {
        const rulesOf = async (host: string) => valueOf(commands().find((c) => c.name === `bx-h-hosts-${host}-firewall`)!.inputs.stdin);
        // Monitoring is off here: the web nodes serve no FPM metrics, so only nginx's port is there.
        assert.match(await rulesOf("web-a"), /tcp dport \{ 80, 26379 \} ip saddr @cluster4 accept/);
        assert.match(await rulesOf("db-b"), /tcp dport \{ 3306, 6379 \} ip saddr @cluster4 accept/);
        assert.match(await rulesOf("cache"), /tcp dport \{ 6379 \} ip saddr @cluster4 accept/);
        // lb2 carries only a balancer: its status page is the one port the cluster's hosts get.
        assert.deepEqual((await rulesOf("lb2")).match(/tcp dport \{[^}]*\} ip saddr @cluster4 accept/g), [
            "tcp dport { 8404 } ip saddr @cluster4 accept",
        ]);
    });

    it("refuses a service handed over after the host firewalls were written", async () => {
        await settle(10);
        const parent = new pulumi.ComponentResource("test:late", "late");
        assert.throws(
            () =>
                placement.deploy(parent, {
                    resourceName: "late-redis",
                    service: "redis-3",
                    image: { role: "redis" },
                    files: [],
                    listens: [{ port: 6379, from: "cluster" }],
                }),
            /redis-3: handed to the hosts placement after the host firewalls were written/,
        );
    });

    it("reloads the balancer on a config change (HAProxy keeps its connections) and restarts the others", () => {
        const lb = plain(named("bx-h-balancer-1-haproxy-start").create);
        assert.match(
            lb,
            /if systemctl is-active -q bitrix-balancer-1\.service && \[ "\$\(cat \/etc\/bitrix-cluster\/balancer-1\.restart-digest/,
        );
        const unit = plain(named("bx-h-balancer-1-haproxy-file-etc-systemd-system-bitrix-balancer-1-service").stdin);
        assert.match(unit, /^ExecReload=\/bin\/kill -USR2 \$MAINPID$/m);
        assert.match(plain(named("bx-h-web-1-node-start").create), /^if false; then$/m);
    });

    it("mounts the NFS exports on web hosts with systemd mount units the web unit requires", () => {
        const mount = plain(named("bx-h-web-1-node-file-etc-systemd-system-var-www-html-upload-mount").stdin);
        assert.match(mount, /^What=10\.0\.0\.10:\/bitrix\/upload$/m);
        assert.match(mount, /^Type=nfs4$/m);
        assert.match(mount, /^Options=.*\bsoft\b/m);
        assert.match(
            plain(named("bx-h-web-1-node-file-etc-systemd-system-bitrix-web-1-service").stdin),
            /^RequiresMountsFor=\/var\/www\/html\/upload \/var\/www\/html\/bitrix\/cache$/m,
        );
        assert.match(plain(named("bx-h-web-1-node-start").create), /systemctl start 'var-www-html-upload\.mount'/);
        // Removed with the service, in its delete step (one SSH session), not by a step per file.
        assert.equal(named("bx-h-web-1-node-file-etc-systemd-system-var-www-html-upload-mount").delete, undefined);
        assert.match(named("bx-h-web-1-node-start").delete, /systemctl disable --now 'var-www-html-upload\.mount'/);
    });

    it("runs every command as root: directly for root, through sudo -n for another SSH user", () => {
        assert.equal(asRoot("root", "echo 'x'"), "echo 'x'");
        assert.equal(asRoot("deploy", "echo 'x'"), `sudo -n sh -c 'echo '\\''x'\\'''`);
    });

    it("pins every remote command to its host's SSH key, and the bastion hop to the bastion's", () => {
        const hostKeys = Object.fromEntries(inventory.hosts.map((h) => [h.address, h.hostKey]));
        assert.equal(new Set(Object.values(hostKeys)).size, 7, "each host has its own key");
        // The stack's own commands (other tests here make placements without a bastion).
        const stack = commands().filter((c) => c.name.startsWith("bx-h-"));
        assert.ok(stack.length > 50, `only ${stack.length} commands`);
        for (const c of stack) {
            const conn = c.inputs.connection.value ?? c.inputs.connection;
            assert.equal(conn.hostKey, hostKeys[conn.host], `${c.name} (host ${conn.host})`);
            const proxy = conn.proxy.value ?? conn.proxy;
            assert.deepEqual(
                { host: proxy.host, port: proxy.port, user: proxy.user, hostKey: proxy.hostKey },
                { host: "203.0.113.10", port: 22, user: "jump", hostKey: testHostKey("bastion") },
                c.name,
            );
        }
    });

    it("refuses a host or bastion without a pinned key before any resource exists, unless host keys are ignored", async () => {
        await settle(100);
        const before = commands().length;
        const { hostKey: _, ...bare } = inventory.hosts[1];
        const unpinned = { ...inventory, hosts: [inventory.hosts[0], bare, ...inventory.hosts.slice(2)] };
        assert.throws(
            () => new HostsPlacement("bx-u-hosts", { inventory: unpinned, privateKey: pulumi.secret("KEY"), engine: "mariadb" }),
            /bx-u-hosts: no SSH host key pinned for host web-a; set hostKey/,
        );
        assert.throws(
            () =>
                new HostsPlacement("bx-v-hosts", {
                    inventory,
                    bastion: { host: "203.0.113.10" },
                    privateKey: pulumi.secret("KEY"),
                    engine: "mariadb",
                }),
            /no SSH host key pinned for the bastion/,
        );
        // The lab's escape hatch works, and says which hosts go unchecked; a pinned stack says nothing.
        const warned: string[] = [];
        const warn = console.warn;
        console.warn = (m: string) => warned.push(m);
        try {
            new HostsPlacement("bx-w-hosts", {
                inventory: unpinned,
                privateKey: pulumi.secret("KEY"),
                engine: "mariadb",
                insecureIgnoreHostKeys: true,
            });
            new HostsPlacement("bx-p-hosts", {
                inventory,
                bastion,
                privateKey: pulumi.secret("KEY"),
                engine: "mariadb",
                insecureIgnoreHostKeys: true,
            });
        } finally {
            console.warn = warn;
        }
        assert.deepEqual(warned, [
            "warning: [runtime] SSH host keys NOT checked for web-a (sshInsecureIgnoreHostKeys): whoever answers there receives every secret",
        ]);
        await settle(100);
        assert.equal(commands().length, before);
        assert.deepEqual(
            recorded.filter((r) => /^bx-[uvw]-hosts/.test(r.name)).map((r) => `${r.type} ${r.name}`),
            ["bitrix:placement:Hosts bx-w-hosts"],
            "only the lab placement registered",
        );
    });

    it("starts each service through its unit and removes it on delete", () => {
        const start = named("bx-h-web-2-node-start");
        assert.match(start.create.value ?? start.create, /systemctl restart bitrix-web-2\.service/);
        assert.match(start.delete, /systemctl disable --now bitrix-web-2\.service/);
        // Its files go with it (the secrets among them), and its records; the image's shared files stay.
        assert.match(start.delete, /rm -f -- .*'\/var\/www\/html\/bitrix\/\.settings\.php'.*'\/etc\/bitrix-cluster\/web-2\.files'/);
        assert.doesNotMatch(start.delete, /usr\/local\/bin\/web-entrypoint/);
        // The start step records what the service owns and removes what it owned before and no longer does.
        assert.match(start.create.value ?? start.create, /grep -vxFf "\$new" \/etc\/bitrix-cluster\/web-2\.files/);
        assert.ok(
            commands()
                .filter((c) => c.name.startsWith("bx-h-web-2-node-file-"))
                .every((c) => c.inputs.delete === undefined),
        );
    });
});

describe("HostsPlacement file steps", () => {
    it("writes (and deletes) a service's files one after the other: sshd refuses bursts of new connections", async () => {
        const seen: Array<{ name: string; deps: number }> = [];
        const record: pulumi.ResourceTransformation = (a) => {
            if (a.type === "command:remote:Command" && a.name.includes("-file-"))
                seen.push({ name: a.name, deps: ((a.opts.dependsOn ?? []) as pulumi.Resource[]).length });
            return undefined;
        };
        const chained = new HostsPlacement("bx-c-hosts", {
            inventory,
            privateKey: pulumi.secret("KEY"),
            bastion,
            engine: "mariadb",
            adminAllowlist: config.balancer.adminAllowlist,
        });
        new BitrixCluster("bx-c", { config, placement: chained }, { transformations: [record] });
        await settleAll();
        const web = seen.filter((s) => s.name.startsWith("bx-c-web-1-node-file-"));
        assert.ok(web.length >= 10, web.map((s) => s.name).join(", "));
        // Two chains at most (the image's own files, written once per host, and the service's): the head of each waits
        // for the host to be ready, every later file also for the one before it.
        assert.ok(web.filter((s) => s.deps === 1).length <= 2, JSON.stringify(web));
        assert.ok(
            web.every((s) => s.deps === 1 || s.deps === 2),
            JSON.stringify(web),
        );
    });
});
