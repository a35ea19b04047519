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
