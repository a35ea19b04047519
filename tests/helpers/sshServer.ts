/**
 * Containers with an SSH server for the tests that drive the command plugin (tests/fixtures/<fixture>/Dockerfile),
 * published on 127.0.0.1 with a fresh key authorized for root.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { docker } from "./plugin";
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

export function startSshServer(opts: { name: string; fixture: string; port: number; runArgs?: string[] }): SshServer {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${opts.name}-`));
    const image = `${opts.name}:latest`;
    docker("build", "-q", "-t", image, path.join(projectDir(), "tests", "fixtures", opts.fixture));
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "id")]);
    docker("rm", "-f", opts.name);
    docker("run", "-d", "--name", opts.name, ...(opts.runArgs ?? []), "-p", `127.0.0.1:${opts.port}:22`, image);
    docker("cp", path.join(dir, "id.pub"), `${opts.name}:/root/.ssh/authorized_keys`);
    const exec = (cmd: string) => docker("exec", opts.name, "sh", "-c", cmd);
    exec("chown root:root /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys");
    return {
        connection: { host: "127.0.0.1", port: opts.port, privateKey: fs.readFileSync(path.join(dir, "id"), "utf8"), dialErrorLimit: 30 },
        publicKey: fs.readFileSync(path.join(dir, "id.pub"), "utf8"),
        exec,
        remove: () => {
            docker("rm", "-f", opts.name);
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}
