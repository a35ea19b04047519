import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { HostRole, installScript, rolePackages } from "../../../components/placement/hostPackages";

const ROOT = path.join(__dirname, "..", "..", "..", "..");
/** Roles whose services run from one of the project's images (push runs the user's server: no image here). */
const IMAGE_OF: Record<Exclude<HostRole, "push">, string> = {
    balancer: "balancer",
    web: "web",
    nfs: "nfs",
    db: "mariadb",
    redis: "redis",
    monitoring: "monitoring",
    acme: "acme",
};

/** The packages a Dockerfile's `apt-get install` lines name (without a version pin: hosts take Debian 12's). */
function dockerfilePackages(role: string): string[] {
    const text = fs.readFileSync(path.join(ROOT, "images", role, "Dockerfile"), "utf8").replace(/\\\n/g, " ");
    const install = text.match(/apt-get install [^&]*/)?.[0] ?? "";
    return install
        .split(/\s+/)
        .filter((w) => w && !w.startsWith("-") && !["apt-get", "install"].includes(w))
        .map((w) => w.replace(/=.*/, ""))
        .sort();
}

describe("host packages", () => {
    it("installs on Debian exactly what the role's image installs", () => {
        for (const role of Object.keys(IMAGE_OF) as Array<keyof typeof IMAGE_OF>) {
            assert.deepEqual([...rolePackages(role, "apt", "mariadb").packages].sort(), dockerfilePackages(IMAGE_OF[role]), role);
        }
    });

    it("maps the RHEL 9 family's names and repositories (EPEL, Remi PHP 8.2, Storage SIG ganesha, Percona)", () => {
        const web = rolePackages("web", "dnf");
        assert.ok(web.packages.includes("php-fpm") && web.packages.includes("php-pecl-redis6") && web.packages.includes("php-mysqlnd"));
        assert.ok(web.repos.some((r) => r.includes("php:remi-8.2")));
        assert.deepEqual(web.distroUnits, ["nginx", "php-fpm", "haproxy", "supervisord"]);
        assert.match(rolePackages("nfs", "dnf").repos[0], /centos-release-nfs-ganesha5/);
        assert.deepEqual(rolePackages("redis", "dnf").packages, ["redis"]);
        const percona = rolePackages("db", "dnf", "percona");
        assert.deepEqual(percona.packages, ["percona-server-server", "percona-xtrabackup-80"]);
        assert.match(percona.repos.join("\n"), /percona-release setup -y ps80/);
        assert.deepEqual(rolePackages("db", "apt", "percona").packages, ["percona-server-server", "percona-xtrabackup-80"]);
    });

    it("installs Percona XtraBackup 8.0 beside Percona Server from the tools repository, enabled after setup ps80", () => {
        for (const family of ["apt", "dnf"] as const) {
            const repos = rolePackages("db", family, "percona").repos;
            const setup = repos.findIndex((r) => r === "percona-release setup -y ps80");
            // setup turns every other Percona repository off: tools must be enabled after it, not before.
            const tools = repos.findIndex((r) => r.startsWith("percona-release enable tools release"));
            assert.ok(setup >= 0 && tools > setup, `${family}: ${repos.join(" / ")}`);
        }
        assert.match(rolePackages("db", "apt", "percona").repos.at(-1)!, /&& apt-get update -q$/);
        const script = installScript(["db"], "percona");
        execFileSync("sh", ["-n"], { input: script });
        assert.match(script, /for p in nftables logrotate util-linux percona-server-server percona-xtrabackup-80; do/);
        // MariaDB's db role is unchanged: mariadb-backup, no Percona repository.
        assert.ok(!installScript(["db"], "mariadb").includes("percona"));
    });

    it("writes one idempotent script per host: only missing packages, no daemon started, distro units masked", () => {
        const script = installScript(["web", "redis", "web"], "mariadb");
        execFileSync("sh", ["-n"], { input: script });
        assert.match(script, /roles web, redis \(engine mariadb\)/);
        assert.match(script, /for p in nftables logrotate util-linux nginx php8\.2-fpm .* redis-server redis-sentinel redis-tools; do/);
        assert.match(script, /dpkg-query -W/);
        assert.match(script, /exit 101/);
        assert.match(script, /for p in nftables logrotate util-linux nginx php-fpm .* redis; do\n\s+rpm -q/);
        assert.match(script, /units="nginx php8\.2-fpm haproxy supervisor redis-server redis-sentinel"/);
        assert.match(script, /systemctl mask "\$u\.service"/);
        assert.match(script, /unsupported distribution/);
        assert.equal((script.match(/epel-release/g) ?? []).length, 2, "EPEL enabled once for web and redis together");
    });

    it("gives push hosts Debian's Node.js (the server's own modules come in its tarball), the push Redis and curl, and their service user", () => {
        const apt = rolePackages("push", "apt");
        assert.deepEqual(apt.packages, ["nodejs", "redis-server", "redis-tools", "curl", "ca-certificates"]);
        assert.deepEqual(apt.distroUnits, ["redis-server"]);
        assert.deepEqual(apt.systemUsers, ["bitrix-push"]);
        assert.deepEqual(rolePackages("push", "dnf").packages, ["nodejs", "redis", "curl"]);
        const script = installScript(["push", "redis"], "mariadb");
        execFileSync("sh", ["-n"], { input: script });
        assert.match(
            script,
            /for p in nftables logrotate util-linux nodejs redis-server redis-tools curl ca-certificates redis-sentinel; do/,
        );
        // Made once, before any file the user's group must read is written (the files come after this step).
        assert.equal(
            (
                script.match(
                    /getent passwd bitrix-push >\/dev\/null \|\| useradd --system --user-group --no-create-home --home-dir \/nonexistent --shell \/usr\/sbin\/nologin bitrix-push\n/g,
                ) ?? []
            ).length,
            1,
        );
        assert.doesNotMatch(installScript(["web", "redis"], "mariadb"), /useradd/);
    });

    it("installs and starts the distribution's node-exporter on every host when the Monitoring layer is on", () => {
        const on = installScript(["redis"], "mariadb", { nodeExporter: true });
        execFileSync("sh", ["-n"], { input: on });
        assert.match(on, /for p in [^\n]*\bprometheus-node-exporter\b/);
        assert.match(on, /systemctl enable --now prometheus-node-exporter\.service/);
        assert.match(on, /golang-github-prometheus-node-exporter/);
        assert.doesNotMatch(installScript(["redis"], "mariadb"), /node-exporter|node_exporter/);
        // The monitoring host masks the other exporters' own units (supervisord runs them), never node-exporter's.
        assert.ok(!rolePackages("monitoring", "apt").distroUnits.some((u) => u.includes("node")));
    });
});
