/**
 * Where a container's output goes on Docker. Every balancer logs one line per request and Docker's default driver
 * (`json-file` without options) never rotates, so a busy portal fills the engine's disk. By default each container
 * gets Docker's `local` driver (rotated, compressed, still read by `docker logs`) with a size cap of its own; a
 * stack that ships logs centrally through the engine's own `daemon.json` setting keeps that with "daemon".
 */

/** How containers log. */
export type ContainerLogs = { driver: "local"; maxMb: number } | { driver: "daemon" };

/** Files the `local` driver keeps per container (the newest is written, the older ones compressed). */
export const LOG_FILES = 5;

/** The docker provider's `logDriver` and `logOpts` for a container, or nothing for the engine's own default. */
export function containerLogOptions(logs: ContainerLogs): { logDriver?: string; logOpts?: Record<string, string> } {
    if (logs.driver === "daemon") return {};
    if (!Number.isInteger(logs.maxMb) || logs.maxMb < LOG_FILES)
        throw new Error(`containerLogOptions: maxMb must be an integer of at least ${LOG_FILES} (one MB per file), got ${logs.maxMb}`);
    return {
        logDriver: "local",
        logOpts: { "max-size": `${Math.floor(logs.maxMb / LOG_FILES)}m`, "max-file": String(LOG_FILES) },
    };
}
