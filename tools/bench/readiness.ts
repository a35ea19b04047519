/** When a set of containers counts as up: every one running, and healthy where it has a health check. */
import { docker } from "../drill/docker";

/** Format of the `docker inspect` line `readyFromInspect` reads: name, state, health status (empty without a check). */
export const INSPECT_FORMAT = "{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}";

/**
 * Whether every expected container is up, from `docker inspect -f INSPECT_FORMAT` lines; the names not up yet
 * otherwise (a missing one too).
 */
export function readyFromInspect(lines: string, expected: string[]): { ready: boolean; pending: string[] } {
    const seen = new Map<string, { status: string; health: string }>();
    for (const line of lines.split("\n")) {
        const [name, status, health] = line.trim().split(/\s+/);
        if (name) seen.set(name.replace(/^\//, ""), { status, health: health ?? "" });
    }
    const pending = expected.filter((n) => {
        const s = seen.get(n);
        return !s || s.status !== "running" || (s.health !== "" && s.health !== "healthy");
    });
    return { ready: pending.length === 0, pending };
}

/** Polls every 250 ms until the named containers are up; returns the seconds it took, throws at the deadline. */
export async function untilReady(containers: string[], timeoutMs = 600_000): Promise<number> {
    const t0 = performance.now();
    let pending = containers;
    for (;;) {
        // One inspect for all; a container that does not exist yet fails the call, so ask for the existing ones only.
        const existing = (await docker(["ps", "-a", "--format", "{{.Names}}"])).split("\n").filter((n) => containers.includes(n));
        const state = existing.length
            ? readyFromInspect(await docker(["inspect", "-f", INSPECT_FORMAT, ...existing]), containers)
            : undefined;
        if (state?.ready) return Math.round(performance.now() - t0) / 1000;
        pending = state?.pending ?? containers;
        if (performance.now() - t0 > timeoutMs) throw new Error(`not up within ${timeoutMs / 1000} s: ${pending.join(", ")}`);
        await new Promise((r) => setTimeout(r, 250));
    }
}

/** The containers carrying a label (`key=value`), by name. */
export async function containersLabelled(label: string): Promise<string[]> {
    return (await docker(["ps", "-a", "--filter", `label=${label}`, "--format", "{{.Names}}"])).split("\n").filter(Boolean).sort();
}
