import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { validateClusterConfig } from "../../../components/config/validate";
import { dockerParts, factsFrom, hostsParts, rawConfigFromCli, xtrabackupImageFrom } from "../../../tools/backup/stackTargets";

const KEY = (n: number) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOj2Su5zRwYC/bXDXkjA0jL3dbo5b0fXLl4p8lOS+Hn${n}`;
/** `pulumi config --json --show-secrets` of a hosts stack: objects as JSON text, secrets in plain text. */
const cliJson = (storage: "nfs" | "external") =>
    JSON.stringify({
        "bitrix-cluster:placement": { value: "hosts", secret: false },
        "bitrix-cluster:adminAllowlist": { value: '["203.0.113.0/24"]', secret: false },
        "bitrix-cluster:sharedStorage": { value: storage, secret: false },
        "bitrix-cluster:sshPrivateKey": {
            value: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----",
            secret: true,
        },
        "bitrix-cluster:dbReplicas": { value: "2", secret: false },
        "bitrix-cluster:dbEngine": { value: "mariadb", secret: false },
        "bitrix-cluster:balancers": { value: "1", secret: false },
        "bitrix-cluster:redisReplicas": { value: "1", secret: false },
        "bitrix-cluster:hosts": {
            value: JSON.stringify([
                {
                    name: "a",
                    address: "10.0.0.1",
                    roles: ["balancer", "db-master", "redis", "sentinel", ...(storage === "nfs" ? ["nfs"] : [])],
                    hostKey: KEY(1),
                },
                { name: "b", address: "10.0.0.2", user: "deploy", roles: ["web", "db-replica", "sentinel", "monitoring"], hostKey: KEY(2) },
                { name: "d", address: "10.0.0.4", roles: ["redis"], hostKey: KEY(4) },
                { name: "c", address: "10.0.0.3", roles: ["web", "db-replica", "sentinel"], hostKey: KEY(3) },
            ]),
            secret: false,
        },
        "other-project:x": { value: "ignored", secret: false },
    });

describe("which container or machine each part of a backup touches", () => {
    it("reads pulumi's config JSON as the validator's input: types parsed, secrets as text, other namespaces left out", () => {
        const raw = rawConfigFromCli(cliJson("nfs"));
        assert.equal(raw.dbReplicas, 2);
        assert.equal(Array.isArray(raw.hosts), true);
        assert.match(String(raw.sshPrivateKey), /^-----BEGIN OPENSSH PRIVATE KEY-----/);
        assert.equal(raw.webNodes, undefined);
        assert.ok(!("x" in raw));
    });

    it("on hosts: the inventory's database hosts, the NFS host's exports or a web host's external mounts, the monitoring host", () => {
        const parts = (storage: "nfs" | "external") =>
            hostsParts(validateClusterConfig(rawConfigFromCli(cliJson(storage)), { namespace: "bitrix-cluster", stack: "prod" }), {
                sharedDirs: { upload: "/srv/nfs/upload", "bitrix-cache": "/srv/nfs/bitrix-cache" },
            });
        const nfs = parts("nfs");
        assert.deepEqual(
            nfs.servers.map((t) => t.name),
            ["a", "b", "c"],
        );
        assert.deepEqual(nfs.servers[1], { kind: "ssh", name: "b", alias: "bx-host-b", sudo: true }, "deploy goes through sudo -n");
        assert.equal(nfs.files?.name, "a");
        assert.deepEqual(nfs.sharedDirs, { upload: "/srv/nfs/upload", "bitrix-cache": "/srv/nfs/bitrix-cache" });
        assert.equal(nfs.monitoring?.name, "b");
        const ext = parts("external");
        assert.equal(ext.files?.name, "b", "web-1's mounts");
        assert.deepEqual(ext.sharedDirs, { upload: "/var/www/html/upload", "bitrix-cache": "/var/www/html/bitrix/cache" });
    });

    it("on Docker: the containers of the outputs", () => {
        const p = dockerParts({
            namePrefix: "bx-p",
            dbMaster: "bx-p-db-master:3306",
            dbReplicas: ["bx-p-db-replica-1:3306"],
            sharedDirs: { upload: "/srv/nfs/upload" },
        } as never);
        assert.deepEqual(
            p.servers.map((t) => t.name),
            ["bx-p-db-master", "bx-p-db-replica-1"],
        );
        assert.deepEqual([p.files?.name, p.monitoring?.name], ["bx-p-nfs", "bx-p-monitoring"]);
        assert.equal(dockerParts({ namePrefix: "bx-p", dbMaster: "m:1", sharedDirs: {} } as never).files, undefined);
    });

    it("loads into the writable server and dumps on a read-only one, wherever a failover put them", () => {
        const parts = dockerParts({ namePrefix: "p", dbMaster: "m:1", dbReplicas: ["r1:1", "r2:1"], sharedDirs: {} } as never);
        const out = { placement: "docker" as const, namePrefix: "p", dbEngine: "mariadb" as const, dbName: "bitrix" };
        const roles = (ro: string[]) => {
            const f = factsFrom("s", out, parts, ro);
            return [f.master.name, f.replica.name];
        };
        assert.deepEqual(roles(["0", "1", "1"]), ["m", "r1"]);
        assert.deepEqual(roles(["down", "0", "1"]), ["r1", "r2"], "after a failover to r1");
        assert.deepEqual(roles([]), ["m", "r1"], "no live answer: the configured roles");
    });

    it("reads a Percona stack's XtraBackup image from its config (the key's default when unset), refusing a bad one", () => {
        const json = (value?: string) =>
            JSON.stringify({
                "bitrix-cluster:dbEngine": { value: "percona", secret: false },
                "bitrix-cluster:dbRootPassword": { value: "[secret]", secret: true },
                ...(value !== undefined ? { "bitrix-cluster:perconaXtrabackupImage": { value, secret: false } } : {}),
            });
        assert.equal(xtrabackupImageFrom(json()), "percona/percona-xtrabackup:8.0.35-33");
        assert.equal(xtrabackupImageFrom(json("registry.example.com/pxb:8.0.35-34")), "registry.example.com/pxb:8.0.35-34");
        for (const bad of ["percona/percona-xtrabackup", "pxb:8.0.35-33 --privileged", "pxb:8.0.35-33;id", "$(id):1"])
            assert.throws(() => xtrabackupImageFrom(json(bad)), /perconaXtrabackupImage must be an image reference with a tag/);
        const parts = dockerParts({ namePrefix: "p", dbMaster: "m:1", dbReplicas: ["r1:1"], sharedDirs: {} } as never);
        const out = { placement: "docker" as const, namePrefix: "p", dbEngine: "percona" as const, dbName: "bitrix" };
        assert.equal(
            factsFrom("s", out, parts, [], undefined, "percona/percona-xtrabackup:8.0.35-33").xtrabackupImage,
            "percona/percona-xtrabackup:8.0.35-33",
        );
        assert.ok(!("xtrabackupImage" in factsFrom("s", out, parts, [])));
    });
});
