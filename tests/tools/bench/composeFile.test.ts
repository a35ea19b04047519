import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { composeCopy } from "../../../tools/bench/composeFile";

/** A hand-made `pulumi stack export --show-secrets` of a small Docker stack (db-1, web-1/2 with a rotation gate, balancer-1). */
const fixture = () =>
    JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "..", "..", "tests", "fixtures", "bench", "stack-export.json"), "utf8"));

describe("compose copy of a stack export", () => {
    const copy = composeCopy(fixture());
    const { services, networks, volumes } = copy.file;

    it("has one service per container, named as the container, with its image, hostname and command", () => {
        assert.deepEqual(Object.keys(services).sort(), ["bx-fx-balancer-1", "bx-fx-db-1", "bx-fx-web-1", "bx-fx-web-2"]);
        const db = services["bx-fx-db-1"];
        assert.equal(db.container_name, "bx-fx-db-1");
        assert.equal(db.hostname, "bx-fx-db-1");
        assert.equal(db.image, "sha256:2222222222222222222222222222222222222222222222222222222222222222");
        assert.deepEqual(db.command, ["mariadbd", "--defaults-file=/etc/mysql/bitrix.cnf"]);
        assert.equal(db.restart, "unless-stopped");
        assert.equal(db.stop_grace_period, "60s");
        assert.equal(db.mem_limit, "768m");
        assert.equal(db.memswap_limit, "768m");
        // The same rotated log driver as the stack's container (components/placement/containerLogs.ts).
        assert.deepEqual(db.logging, { driver: "local", options: { "max-size": "20m", "max-file": "5" } });
        assert.equal(services["bx-fx-web-1"].logging, undefined, "a container without a log driver keeps the engine's default");
        assert.deepEqual(db.labels, { "bitrix-cluster.prefix": "bx-fx", "bitrix-cluster.service": "db-1" });
    });

    it("keeps the network's name, subnet, gateway and dynamic range, the aliases and the pinned addresses", () => {
        assert.deepEqual(networks["bx-fx-net"], {
            name: "bx-fx-net",
            driver: "bridge",
            ipam: { config: [{ subnet: "172.28.42.0/24", gateway: "172.28.42.1", ip_range: "172.28.42.128/25" }] },
            labels: { "bitrix-cluster.prefix": "bx-fx" },
        });
        assert.deepEqual(services["bx-fx-balancer-1"].networks, { "bx-fx-net": { aliases: ["balancer-1"], ipv4_address: "172.28.42.11" } });
        assert.deepEqual(services["bx-fx-web-1"].networks, { "bx-fx-net": { aliases: ["web-1"] } });
    });

    it("keeps the named volumes and mounts them at the same paths", () => {
        assert.deepEqual(Object.keys(volumes).sort(), ["bx-fx-db-1-data", "bx-fx-shared-upload"]);
        assert.equal(volumes["bx-fx-shared-upload"].name, "bx-fx-shared-upload");
        assert.equal(volumes["bx-fx-shared-upload"].driver, "local");
        assert.ok(services["bx-fx-db-1"].volumes?.includes("bx-fx-db-1-data:/var/lib/mysql"));
        assert.ok(services["bx-fx-web-1"].volumes?.includes("bx-fx-shared-upload:/var/www/upload"));
    });

    it("writes every upload with its mode and bind-mounts it read-only, writable only where the entrypoint applies a group", () => {
        const byPath = new Map(copy.uploads.map((u) => [u.path, u]));
        assert.equal(byPath.get("uploads/bx-fx-db-1/etc/mysql/bitrix.cnf")?.content.toString(), "[mysqld]\nserver_id=1\n");
        assert.equal(byPath.get("uploads/bx-fx-db-1/etc/mysql/bitrix.cnf")?.mode, 0o644);
        assert.equal(byPath.get("uploads/bx-fx-db-1/docker-entrypoint-initdb.d/10-users.sql")?.content.toString(), "CREATE USER repl;\n");
        assert.equal(byPath.get("uploads/bx-fx-db-1/docker-entrypoint-initdb.d/10-users.sql")?.mode, 0o600);
        assert.equal(byPath.get("uploads/bx-fx-web-1/etc/bitrix/db.php")?.mode, 0o640);
        assert.equal(byPath.get("uploads/bx-fx-web-1/usr/local/bin/warm.sh")?.content.toString(), "#!/bin/sh\nexit 0\n");
        assert.equal(byPath.get("uploads/bx-fx-web-1/usr/local/bin/warm.sh")?.mode, 0o755);
        assert.ok(services["bx-fx-db-1"].volumes?.includes("./uploads/bx-fx-db-1/etc/mysql/bitrix.cnf:/etc/mysql/bitrix.cnf:ro"));
        assert.ok(services["bx-fx-web-1"].volumes?.includes("./uploads/bx-fx-web-1/usr/local/bin/warm.sh:/usr/local/bin/warm.sh:ro"));
        assert.ok(services["bx-fx-web-1"].volumes?.includes("./uploads/bx-fx-web-1/etc/bitrix/db.php:/etc/bitrix/db.php"));
    });

    it("passes the environment and health check with secrets revealed and every $ doubled for compose", () => {
        assert.deepEqual(services["bx-fx-db-1"].environment, [
            "MARIADB_DEFAULTS_FILE=/etc/mysql/bitrix.cnf",
            "MARIADB_ROOT_PASSWORD=pa$$$$word",
        ]);
        assert.deepEqual(services["bx-fx-db-1"].healthcheck, {
            test: ["CMD-SHELL", 'mariadb-admin ping --silent -uroot -p"$$MARIADB_ROOT_PASSWORD"'],
            interval: "2s",
            timeout: "500ms",
            retries: 30,
            start_period: "1m0s",
        });
        assert.equal(services["bx-fx-web-2"].healthcheck, undefined);
    });

    it("keeps capabilities and published ports with their host address and protocol", () => {
        assert.deepEqual(services["bx-fx-balancer-1"].cap_add, ["NET_ADMIN", "NET_RAW"]);
        assert.deepEqual(services["bx-fx-balancer-1"].ports, ["127.0.0.1:28180:80", "127.0.0.1:28181:514/udp"]);
        assert.equal(services["bx-fx-web-1"].cap_add, undefined);
    });

    it("turns Pulumi's ordering into depends_on, through components and rotation gates, until healthy where there is a check", () => {
        assert.equal(services["bx-fx-db-1"].depends_on, undefined);
        assert.deepEqual(services["bx-fx-web-1"].depends_on, { "bx-fx-db-1": { condition: "service_healthy" } });
        assert.deepEqual(services["bx-fx-web-2"].depends_on, { "bx-fx-web-1": { condition: "service_healthy" } });
        assert.deepEqual(services["bx-fx-balancer-1"].depends_on, {
            "bx-fx-web-1": { condition: "service_healthy" },
            "bx-fx-web-2": { condition: "service_started" },
        });
    });

    it("lists what has no compose equivalent, and the text is the file as JSON", () => {
        assert.deepEqual(copy.leftOut, ["command:local:Command × 1", "random:index/randomPassword:RandomPassword × 1"]);
        assert.equal(copy.file.version, "2.4");
        assert.deepEqual(JSON.parse(copy.text), JSON.parse(JSON.stringify(copy.file)));
    });

    it("refuses an export with encrypted secrets without printing them", () => {
        const exported = fixture();
        const db = exported.deployment.resources.find((r: any) => r.urn.endsWith("::db-1"));
        db.inputs.envs[1] = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "v1:c2VjcmV0" };
        assert.throws(
            () => composeCopy(exported),
            (e: Error) => /encrypted secret; export the stack with --show-secrets/.test(e.message) && !/c2VjcmV0/.test(e.message),
        );
    });

    it("refuses a container input it cannot translate, and paths compose's volume syntax cannot carry", () => {
        const privileged = fixture();
        privileged.deployment.resources.find((r: any) => r.urn.endsWith("::web-2")).inputs.devices = [{ hostPath: "/dev/fuse" }];
        assert.throws(() => composeCopy(privileged), /bx-fx-web-2.* sets "devices", which the compose copy does not translate/s);
        const colon = fixture();
        colon.deployment.resources.find((r: any) => r.urn.endsWith("::web-2")).inputs.uploads = [{ file: "/etc/a:b", content: "" }];
        assert.throws(() => composeCopy(colon), /"\/etc\/a:b" is not a plain absolute path/);
    });
});
