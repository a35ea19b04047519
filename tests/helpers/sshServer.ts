/**
 * Containers with an SSH server for the tests that drive hosts over SSH (tests/fixtures/<fixture>/Dockerfile),
 * published on 127.0.0.1 with a fresh key authorized for root.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "ssh2";
import { docker } from "./docker";
import { projectDir } from "./pulumiStack";

export interface SshServer {
    /** Connection inputs for command.remote resources. */
    connection: { host: string; port: number; privateKey: string; dialErrorLimit: number };
    /** The authorized public key (an authorized_keys line). */
    publicKey: string;
    /** Runs a shell command in the container (not over SSH). */
    exec(cmd: string): string;
    remove(): void;
}

export interface SshServerOptions {
    name: string;
    fixture: string;
    /** Port published on 127.0.0.1 for SSH; without it, SSH is reached at `address`:22 on the container's network. */
    port?: number;
    /** Docker network and fixed address of the container. */
    network?: { name: string; address: string };
    runArgs?: string[];
    /** Build arguments of the fixture (its image is tagged with a digest of them). */
    buildArgs?: Record<string, string>;
    /** Authorize the key of this earlier server instead of making a new one (several hosts, one key). */
    sameKeyAs?: SshServer;
}

/** Builds a fixture's image (once per set of build arguments) and returns its tag. */
export function fixtureImage(fixture: string, buildArgs: Record<string, string> = {}): string {
    const args = Object.entries(buildArgs).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]);
    const tag = `bx-test-${fixture}:${Object.keys(buildArgs).length ? createHash("sha256").update(JSON.stringify(buildArgs)).digest("hex").slice(0, 12) : "latest"}`;
    docker("build", "-q", "-t", tag, ...args, path.join(projectDir(), "tests", "fixtures", fixture));
    return tag;
}

export function startSshServer(opts: SshServerOptions): SshServer {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${opts.name}-`));
    const image = fixtureImage(opts.fixture, opts.buildArgs);
    if (opts.sameKeyAs) {
        fs.writeFileSync(path.join(dir, "id"), opts.sameKeyAs.connection.privateKey, { mode: 0o600 });
        fs.writeFileSync(path.join(dir, "id.pub"), opts.sameKeyAs.publicKey);
    } else {
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "id")]);
    }
    docker("rm", "-f", opts.name);
    const where = opts.network
        ? ["--network", opts.network.name, "--ip", opts.network.address, "--hostname", opts.name]
        : ["-p", `127.0.0.1:${opts.port}:22`];
    docker("run", "-d", "--name", opts.name, ...(opts.runArgs ?? []), ...where, image);
    docker("cp", path.join(dir, "id.pub"), `${opts.name}:/root/.ssh/authorized_keys`);
    const exec = (cmd: string) => docker("exec", opts.name, "sh", "-c", cmd);
    exec("chown root:root /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys");
    return {
        connection: {
            host: opts.network?.address ?? "127.0.0.1",
            port: opts.network ? 22 : opts.port!,
            privateKey: fs.readFileSync(path.join(dir, "id"), "utf8"),
            dialErrorLimit: 30,
        },
        publicKey: fs.readFileSync(path.join(dir, "id.pub"), "utf8"),
        exec,
        remove: () => {
            docker("rm", "-f", opts.name);
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

/**
 * Runs a script over SSH the way the hosts placement's remote commands do (`bash -c`-free: the server's login shell),
 * with optional stdin; resolves with its trimmed stdout, rejects with its exit code and stderr.
 */
export function runOverSsh(connection: SshServer["connection"], script: string, stdin?: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const client = new Client();
        client
            .on("error", reject)
            .on("ready", () => {
                client.exec(script, (err, stream) => {
                    if (err) return reject(err);
                    let out = "";
                    let errOut = "";
                    stream.on("data", (d: Buffer) => (out += d.toString())).stderr.on("data", (d: Buffer) => (errOut += d.toString()));
                    stream.on("close", (code: number) => {
                        client.end();
                        if (code === 0) resolve(out.trim());
                        else reject(new Error(`exit ${code}: ${errOut.trim()}`));
                    });
                    stream.end(stdin ?? "");
                });
            })
            .connect({
                host: connection.host,
                port: connection.port,
                username: "root",
                privateKey: connection.privateKey,
                readyTimeout: 20_000,
            });
    });
}
