/** The docker CLI for tests; throws with its stderr on failure. */
import { execFileSync } from "node:child_process";

export function docker(...args: string[]): string {
    return execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** The containers, networks and volumes a stack's prefix labels (`bitrix-cluster.prefix`), by id. */
export function dockerObjects(prefix: string): { containers: string[]; networks: string[]; volumes: string[] } {
    const list = (kind: string) =>
        docker(kind, "ls", ...(kind === "container" ? ["-a"] : []), "-q", "--filter", `label=bitrix-cluster.prefix=${prefix}`)
            .split("\n")
            .filter(Boolean);
    return { containers: list("container"), networks: list("network"), volumes: list("volume") };
}
