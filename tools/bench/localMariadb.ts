/**
 * Debian's mariadbd on loopback from the project's generated config (components/database/serverConfig.ts), started
 * through images/mariadb/entrypoint.sh as the daemon tests do (tests/helpers/stack.ts), for the backup benchmark.
 * Needs root (the entrypoint hands the data directory to the mysql user).
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { dbServerConfig } from "../../components/database/serverConfig";

const ENTRYPOINT = path.join(__dirname, "..", "..", "..", "images", "mariadb", "entrypoint.sh");

export interface LocalMariadb {
    name: string;
    dir: string;
    datadir: string;
    socket: string;
    port: number;
    proc: ChildProcess;
    /** The server's last output lines (for failure messages). */
    log: string[];
}

export interface LocalMariadbOptions {
    serverId: number;
    port: number;
    bufferPoolMb: number;
    /** First-start SQL (ignored when the data directory is already initialised, as after a copy-back). */
    initSql: string;
    /** @default 256 */
    redoLogMb?: number;
}

export function writeFile(file: string, content: string, mode = 0o644): string {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { mode });
    fs.chmodSync(file, mode);
    return file;
}

function portOpen(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect({ port, host: "127.0.0.1" });
        s.once("connect", () => {
            s.destroy();
            resolve(true);
        });
        s.once("error", () => resolve(false));
        s.setTimeout(500, () => {
            s.destroy();
            resolve(false);
        });
    });
}

/**
 * A master-role server (binlog on, GTIDs) under `root/<name>`, listening on 127.0.0.1 only (the command line's
 * --bind-address overrides the generated 0.0.0.0); resolves once it listens.
 */
/**
 * The option file of a server on loopback (here and in the daemon tests): its paths under `dir`, then the generated
 * config. Each server has its own tmpdir: mariadbd deletes every "#sql*" file in its tmpdir when it starts (checked
 * with mariadb-install-db 10.11 here), so servers sharing /tmp delete each other's temporary tables: a bootstrap
 * running beside another one's start failed with "Unknown table 'mysql.tmp_user_sys'" (CI, 2026-12-03).
 */
export function loopbackDefaults(dir: string, datadir: string, socket: string, generated: string): string {
    return [
        "[mariadbd]",
        `datadir = ${datadir}`,
        `socket = ${socket}`,
        `pid_file = ${dir}/run/mysqld.pid`,
        `tmpdir = ${dir}/run`,
        `!include ${generated}`,
        "",
    ].join("\n");
}

export async function startLocalMariadb(root: string, name: string, o: LocalMariadbOptions): Promise<LocalMariadb> {
    fs.chmodSync(root, 0o755);
    const dir = path.join(root, name);
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    const datadir = path.join(dir, "data");
    const socket = path.join(dir, "run", "mysqld.sock");
    const generated = writeFile(
        path.join(dir, "90-bitrix.cnf"),
        dbServerConfig({
            engine: "mariadb",
            role: "master",
            serverId: o.serverId,
            reportHost: "127.0.0.1",
            port: o.port,
            redoLogMb: o.redoLogMb ?? 256,
            bufferPoolMb: o.bufferPoolMb,
            semiSyncTimeoutMs: 1000,
        }),
    );
    const defaults = writeFile(path.join(dir, "my.cnf"), loopbackDefaults(dir, datadir, socket, generated));
    const initdb = path.join(dir, "initdb");
    if (!fs.existsSync(initdb)) writeFile(path.join(initdb, "10-bitrix-master.sql"), o.initSql);
    const proc = spawn("bash", [ENTRYPOINT, "mariadbd", `--defaults-file=${defaults}`, "--user=mysql", "--bind-address=127.0.0.1"], {
        env: {
            ...process.env,
            MARIADB_ROOT_PASSWORD: "bench root pw",
            MARIADB_DATADIR: datadir,
            MARIADB_RUN_DIR: path.join(dir, "run"),
            MARIADB_INITDB_DIR: initdb,
            MARIADB_DEFAULTS_FILE: defaults,
        },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
    });
    const log: string[] = [];
    const keep = (b: Buffer) => {
        log.push(b.toString());
        if (log.length > 100) log.shift();
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
    const node: LocalMariadb = { name, dir, datadir, socket, port: o.port, proc, log };
    const deadline = Date.now() + 180_000;
    while (!(await portOpen(o.port))) {
        if (proc.exitCode !== null || Date.now() > deadline)
            throw new Error(`backup-scale: ${name} did not start on port ${o.port}:\n${log.join("").slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 250));
    }
    return node;
}

/** Stops a server (SIGTERM: clean shutdown; SIGKILL: a crash) and waits for its process group to end. */
export function stopLocalMariadb(node: LocalMariadb, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const { proc } = node;
    if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
        const timer = setTimeout(() => {
            try {
                process.kill(-proc.pid!, "SIGKILL");
            } catch {
                /* gone */
            }
        }, 120_000);
        proc.once("exit", () => {
            clearTimeout(timer);
            resolve();
        });
        try {
            process.kill(-proc.pid!, signal);
        } catch {
            clearTimeout(timer);
            resolve();
        }
    });
}

/** One query as root over the socket, tab-separated without column names. */
export function sql(node: LocalMariadb, query: string): string {
    try {
        return execFileSync("mariadb", ["--socket", node.socket, "-N", "-B", "-e", query], {
            encoding: "utf8",
            maxBuffer: 64 << 20,
            stdio: ["ignore", "pipe", "pipe"],
        }).trim();
    } catch (err) {
        const e = err as { status?: number | null; stderr?: string };
        throw new Error(`backup-scale: query on ${node.name} failed (${e.status}): ${query.slice(0, 200)}\n${e.stderr ?? ""}`);
    }
}
