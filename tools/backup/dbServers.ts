/**
 * The database layer's servers and failover manager as a physical restore handles them: stopped, refilled, started,
 * waited for. One implementation per placement: Docker containers (`docker stop|start`, the copy-back in a one-off
 * container on the data volume) and systemd units on the machines over SSH (`systemctl`, the copy-back on the
 * machine). physicalRun.ts drives either the same way.
 */
import { randomBytes } from "crypto";
import { unitName, logFile } from "../../components/placement/systemdUnit";
import { copyBackScript, perconaCopyBackCommand } from "./physicalDocker";
import type { Engine } from "./plan";
import type { StackAccess } from "./access";
import { dbRootScript, readTreeScript, Target } from "./remote";
import { hasContainer, q, sh } from "./shell";

/** One database server: where it runs and its service ("db-master", "db-replica-1", …). */
export interface DbServer {
    target: Target;
    service: string;
}

export interface DbLayer {
    servers: DbServer[];
    /** The failover manager's name, for messages. */
    managerName: string;
    hasManager(): boolean;
    stopManager(): void;
    startManager(): void;
    /** Stops these servers (InnoDB flushes: up to 120 s each). */
    stop(servers: DbServer[]): void;
    start(servers: DbServer[]): void;
    running(s: DbServer): boolean;
    /** Streams the prepared copy in `copyDir` (on this machine) into the stopped server's data directory. */
    copyBack(s: DbServer, copyDir: string): void;
    /** Waits until the server answers, or fails with its last log lines. */
    waitUp(s: DbServer): void;
    /** Runs a client argv as root on the server; returns stdout. */
    client(s: DbServer, argv: string[]): string;
}

/**
 * The server's admin client pinging it: `mysqladmin` for Percona (its image and packages have no mariadb-admin).
 * Over TCP to 127.0.0.1 as the stack's own health check does (components/database/database.ts). Its exit status is 0
 * whenever the server answers, an "Access denied" included (MySQL 8.0 manual, mysqladmin.html, `ping`), so no
 * password is needed.
 */
export function pingCommand(engine: Engine): string {
    return engine === "percona"
        ? "mysqladmin --connect-timeout=2 --protocol=tcp -h 127.0.0.1 ping --silent"
        : "mariadb-admin --connect-timeout=2 ping --silent";
}

/**
 * Docker: containers `<name>` of the servers and `<prefix>-db-failover`. MariaDB's copy-back runs in a one-off
 * container of the server's own image, Percona's in one of `xtrabackupImage` (the Percona image has no xtrabackup).
 */
export function dockerDbLayer(engine: Engine, servers: DbServer[], manager: string, xtrabackupImage?: string): DbLayer {
    const name = (s: DbServer) => s.target.name;
    const client = (s: DbServer, argv: string[]) => sh(`docker exec ${q(name(s))} sh -c ${q(dbRootScript(s.target, argv))}`);
    return {
        servers,
        managerName: manager,
        hasManager: () => hasContainer(manager),
        stopManager: () => void sh(`docker stop -t 30 ${q(manager)} >/dev/null`),
        startManager: () => void sh(`docker start ${q(manager)} >/dev/null`),
        // One command: Docker stops them side by side.
        stop: (list) => void sh(`docker stop -t 120 ${list.map((s) => q(name(s))).join(" ")} >/dev/null`),
        start: (list) => void sh(`docker start ${list.map((s) => q(name(s))).join(" ")} >/dev/null`),
        running: (s) => sh(`docker inspect -f '{{.State.Running}}' ${q(name(s))} 2>/dev/null || true`).trim() === "true",
        copyBack: (s, copyDir) => {
            if (engine === "percona") {
                if (!xtrabackupImage) throw new Error("restore: no perconaXtrabackupImage for a Percona stack on Docker");
                sh(`${readTreeScript(copyDir)} | ${perconaCopyBackCommand(name(s), xtrabackupImage)}`);
                return;
            }
            const image = sh(`docker inspect -f '{{.Config.Image}}' ${q(name(s))}`).trim();
            sh(
                `${readTreeScript(copyDir)} | docker run --rm -i --network none --user 0 --volumes-from ${q(name(s))} --entrypoint bash ${q(image)} -c ${q(copyBackScript(engine))}`,
            );
        },
        waitUp: (s) =>
            void sh(
                `for _ in $(seq 1 240); do docker exec ${q(name(s))} ${pingCommand(engine)} >/dev/null 2>&1 && exit 0; ` +
                    `docker inspect -f '{{.State.Running}}' ${q(name(s))} | grep -q true || { docker logs --tail 30 ${q(name(s))} >&2; exit 1; }; sleep 0.5; done; exit 1`,
            ),
        client,
    };
}

/**
 * The script that waits on a machine for its server's unit to answer, or prints why not.
 * @default engine "mariadb"
 */
export function hostWaitScript(service: string, engine: Engine = "mariadb"): string {
    const unit = q(unitName(service));
    return (
        `for _ in $(seq 1 240); do ${pingCommand(engine)} >/dev/null 2>&1 && exit 0; ` +
        `systemctl is-active --quiet ${unit} || { echo "${unitName(service)} is not running:" >&2; tail -n 30 ${q(logFile(service))} >&2; exit 1; }; sleep 0.5; done; ` +
        `echo "${unitName(service)} does not answer after 120 s" >&2; exit 1`
    );
}

/**
 * Hosts: the units `bitrix-<service>.service` on the machines, the failover manager's on its host. The copy is
 * unpacked on each machine into a new directory of a random name (copyBackScript's exclusive mode), removed after.
 */
export function hostsDbLayer(engine: Engine, access: StackAccess, servers: DbServer[], manager: DbServer): DbLayer {
    const run = (t: Target, script: string) => access.run(t, script);
    const unit = (s: DbServer) => q(unitName(s.service));
    return {
        servers,
        managerName: `${unitName(manager.service)} on ${manager.target.name}`,
        hasManager: () => run(manager.target, `systemctl cat ${unit(manager)} >/dev/null 2>&1 && echo yes || echo no`).trim() === "yes",
        stopManager: () => void run(manager.target, `systemctl stop ${unit(manager)}`),
        startManager: () => void run(manager.target, `systemctl start ${unit(manager)}`),
        stop: (list) => {
            for (const s of list) run(s.target, `systemctl stop ${unit(s)}`);
        },
        start: (list) => {
            for (const s of list) run(s.target, `systemctl start ${unit(s)}`);
        },
        running: (s) => run(s.target, `systemctl is-active ${unit(s)} || true`).trim() === "active",
        copyBack: (s, copyDir) => {
            const copy = `/var/tmp/bitrix-cluster-copy-${randomBytes(8).toString("hex")}`;
            sh(
                `${readTreeScript(copyDir)} | ${access.command(s.target, `exec bash -c ${q(copyBackScript(engine, copy, { exclusive: true }))}`)}`,
            );
        },
        waitUp: (s) => void run(s.target, hostWaitScript(s.service, engine)),
        client: (s, argv) => run(s.target, dbRootScript(s.target, argv)),
    };
}
