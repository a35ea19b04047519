/** The docker CLI for tests; throws with its stderr on failure. */
import { execFileSync } from "node:child_process";

export function docker(...args: string[]): string {
    return execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}
