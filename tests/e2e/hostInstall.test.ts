/**
 * The hosts path on a real systemd machine (a container running systemd as PID 1 with an SSH server, standing in
 * for a user's Debian 12 host), driven over SSH: the generated install script for
 * every role, then a generated unit started and waited for through its health command.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { installScript } from "../../components/placement/hostPackages";
import { environmentFile, envFile, serviceUnit, startScript, unitName } from "../../components/placement/systemdUnit";
import { waitFor } from "../helpers/daemons";
import { runOverSsh, SshServer, startSshServer } from "../helpers/sshServer";

let host: SshServer;
const onHost = (cmd: string) => host.exec(cmd);

const ssh = (script: string, stdin?: string): Promise<string> => runOverSsh(host.connection, script, stdin);

/** Writes a file on the host from stdin (the way a secret file travels: never on a command line). */
const put = (file: string, content: string, mode = "0644") => ssh(`install -D -m ${mode} /dev/stdin ${file}`, content);

describe("hosts: install script and units on a systemd host over SSH", { timeout: 15 * 60_000 }, () => {
    before(async () => {
        // systemd as PID 1 in a container (machine facts): SYS_ADMIN, the cgroup tree read-only, tmpfs /run.
        host = startSshServer({
            name: "bx-test-host-1",
            fixture: "host",
            port: 18223,
            runArgs: ["--cap-add", "SYS_ADMIN", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro", "--tmpfs", "/run", "--tmpfs", "/run/lock"],
        });
        await waitFor(
            "systemd and sshd",
            () =>
                ssh("systemctl is-system-running --wait").then(
                    (s) => s === "running",
                    () => false,
                ),
            60_000,
            1000,
        );
    });

    after(() => host.remove());

    it("installs every role's packages without starting a daemon and masks the distribution's units", async () => {
        const script = installScript(["balancer", "web", "nfs", "db", "redis"], "mariadb");
        assert.equal(await ssh(script), "installed: balancer, web, nfs, db, redis");
        const states = onHost(
            "for u in haproxy nginx php8.2-fpm mariadb redis-server redis-sentinel nfs-ganesha supervisor; do " +
                'echo "$u $(systemctl is-enabled $u 2>/dev/null) $(systemctl is-active $u 2>/dev/null)"; done',
        );
        for (const line of states.split("\n")) assert.match(line, /^\S+ masked inactive$/, line);
        onHost("dpkg-query -W haproxy nginx php8.2-fpm php8.2-redis mariadb-server redis-server redis-sentinel nfs-ganesha-vfs supervisor");
        assert.equal(onHost("test -e /usr/sbin/policy-rc.d && echo left || echo removed"), "removed");
        // The package initialised /var/lib/mysql on install; it did not exist before, so the cluster's first start
        // must initialise it with the generated SQL: the install step left it empty.
        assert.equal(onHost("ls -A /var/lib/mysql | wc -l"), "0");
        onHost("command -v nft && test -f /etc/logrotate.d/bitrix-cluster && test -d /var/log/bitrix-cluster");
    });

    it("does nothing on a second run (packages present)", async () => {
        const script = installScript(["balancer", "web", "nfs", "db", "redis"], "mariadb");
        const before = onHost("stat -c %Y /var/lib/dpkg/status");
        assert.equal(await ssh(script), "installed: balancer, web, nfs, db, redis");
        assert.equal(onHost("stat -c %Y /var/lib/dpkg/status"), before);
    });

    it("runs a generated unit with the image's entrypoint, its environment file, and waits for health", async () => {
        await put(
            "/usr/local/bin/demo-entrypoint",
            '#!/bin/sh\n# stand-in entrypoint: checks its environment, then runs the command\n[ "$DEMO_TOKEN" = \'s3cr"t x\' ] || exit 3\nexec "$@"\n',
            "0755",
        );
        await put(
            "/etc/haproxy/demo.cfg",
            "global\n  log stdout format raw local0\ndefaults\n  mode http\n  timeout client 5s\n  timeout connect 1s\n  timeout server 5s\nlisten status\n  bind 127.0.0.1:18404\n  stats enable\n  stats uri /\n",
        );
        await put(envFile("demo-1"), environmentFile({ DEMO_TOKEN: 's3cr"t x' }), "0600");
        await put(
            `/etc/systemd/system/${unitName("demo-1")}`,
            serviceUnit({
                service: "demo-1",
                entrypoint: ["/usr/local/bin/demo-entrypoint"],
                command: ["haproxy", "-W", "-db", "-f", "/etc/haproxy/demo.cfg"],
                stopGraceS: 5,
            }),
        );
        const health = { command: "curl -fsS -o /dev/null http://127.0.0.1:18404/", intervalS: 1, retries: 3, startPeriodS: 2 };
        await ssh(startScript("demo-1", health, { restartDigest: "d1" }));
        assert.equal(onHost(`systemctl is-active ${unitName("demo-1")}; systemctl is-enabled ${unitName("demo-1")}`), "active\nenabled");
        assert.equal(onHost("stat -c %a /etc/bitrix-cluster/demo-1.env"), "600");
        // Its output goes to the unit's log file (HAProxy logs to stdout).
        await waitFor("a log line", () => /Loading success|New worker/.test(onHost("cat /var/log/bitrix-cluster/demo-1.log")), 10_000, 500);
        // A unit that never turns healthy fails the step, with the unit's log in the error.
        await assert.rejects(ssh(startScript("demo-1", { ...health, command: "false" }, { restartDigest: "d1" })), /demo-1 not healthy/);
    });
});
