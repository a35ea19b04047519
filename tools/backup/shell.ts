/**
 * The shell the backup tools run their Docker and restic commands through, with secrets kept out of error text.
 */
import { execFileSync } from "child_process";
import { shellQuote } from "../../components/shared/shell";

/**
 * Runs a bash script; a failure's message (which carries the command's stderr) has the restic repository and
 * password taken out, since restic names its repository in most errors and the location can hold a login.
 */
export function sh(script: string, env?: NodeJS.ProcessEnv, input?: number): string {
    try {
        return execFileSync("bash", ["-c", `set -euo pipefail\n${script}`], {
            env,
            stdio: [input ?? "ignore", "pipe", "pipe"],
            maxBuffer: 1 << 30,
        }).toString();
    } catch (e) {
        throw new Error(redactSecrets(String((e as Error).message), env));
    }
}

/** The text with the environment's restic repository and password replaced by placeholders. */
export function redactSecrets(text: string, env: NodeJS.ProcessEnv = {}): string {
    let out = text;
    for (const [key, label] of [
        ["RESTIC_REPOSITORY", "<backupRepository>"],
        ["RESTIC_PASSWORD", "<restic password>"],
    ] as const) {
        const value = env[key];
        if (value && value.length >= 4) out = out.split(value).join(label);
    }
    return out;
}
/** One single-quoted shell word. */
export const q = shellQuote;
/** A client command as root inside a database container, the password from the container's own environment. */
export const asDbRoot = (container: string, argv: string[], interactive = false) =>
    `docker exec ${interactive ? "-i " : ""}${q(container)} sh -c 'MYSQL_PWD="\${MARIADB_ROOT_PASSWORD:-\${MYSQL_ROOT_PASSWORD:-}}" exec "$@"' sh ${argv.map(q).join(" ")} -uroot`;

/** Whether a container of that name exists (running or not). */
export const hasContainer = (name: string) => sh(`docker ps -a --format '{{.Names}}'`).split("\n").includes(name);
