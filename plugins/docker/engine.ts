/** The local Docker engine, through its API (dockerode honours DOCKER_HOST like the docker CLI does). */
import Docker from "dockerode";

export const engine = new Docker();

export function isNotFound(e: unknown): boolean {
    return (e as { statusCode?: number }).statusCode === 404;
}

/** Runs `fn`, treating "no such object" as done (deleting something already gone is not an error). */
export async function ignoreNotFound<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
        return await fn();
    } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
    }
}

/** `[{label, value}]` as the provider takes labels, to the engine's map. */
export function labelMap(labels: Array<{ label: string; value: string }> | undefined): Record<string, string> {
    return Object.fromEntries((labels ?? []).map((l) => [l.label, l.value]));
}

export const labelsShape = { array: { object: { label: "string", value: "string" } } } as const;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Removes an object, retrying for up to 30 s while the engine answers 409 "in use" / "has active endpoints"
 * (containers removed in the same update can hold it for a moment), as upstream does. Gone already is done.
 */
export async function removeWhenFree(remove: () => Promise<unknown>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
        try {
            await ignoreNotFound(remove);
            return;
        } catch (e) {
            const status = (e as { statusCode?: number }).statusCode;
            if ((status !== 409 && status !== 403) || attempt >= 60) throw e;
            await sleep(500);
        }
    }
}
