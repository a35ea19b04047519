/**
 * The balancers' status pages (HAProxy's `;csv`), read by the drills and by restore: each web server's state and
 * last health check, and a wait until every balancer has every web node back in rotation.
 */

/** One web server's row on a balancer's status page: its state and its last health check. */
export interface WebServerRow {
    /** "UP", "UP 1/3" (failing, still in), "DOWN", "DOWN 1/2" (recovering), "MAINT", "DRAIN", … */
    status: string;
    /** The last check's status, code and time, e.g. "L7OK 200 9ms", "L7STS 503 4ms", "L7TOUT 501ms", "L4CON". */
    check: string;
    /** Times the server went DOWN since the balancer started. */
    chkdown: number;
}

/** Every web server's row from a balancer's status page CSV (columns found by the names in its header line). */
export function webServerRows(csv: string): Record<string, WebServerRow> {
    const lines = csv.split("\n");
    const header = (lines[0] ?? "").replace(/^# /, "").split(",");
    const col = (name: string): number => {
        const i = header.indexOf(name);
        if (i < 0) throw new Error(`status CSV: no ${name} column`);
        return i;
    };
    const [name, status, chkdown, checkStatus, checkCode, checkDuration] = [
        "svname",
        "status",
        "chkdown",
        "check_status",
        "check_code",
        "check_duration",
    ].map(col);
    const rows = lines.slice(1).map((l) => l.split(","));
    return Object.fromEntries(
        rows
            .filter((f) => f[0] === "web" && f[name] && f[name] !== "FRONTEND" && f[name] !== "BACKEND")
            .map((f) => {
                const check = [f[checkStatus], f[checkCode], f[checkDuration] ? `${f[checkDuration]}ms` : ""];
                return [f[name], { status: f[status], check: check.filter(Boolean).join(" "), chkdown: Number(f[chkdown] || 0) }];
            }),
    );
}

/** What is still out of rotation: "<status page> web-1 DOWN (L7STS 503 3ms)", or the page's own failure. */
export function notInRotation(url: string, csv: string | Error): string[] {
    if (csv instanceof Error) return [`${url}: ${csv.message.split("\n")[0]}`];
    const rows = Object.entries(webServerRows(csv));
    if (!rows.length) return [`${url}: no web server listed`];
    return rows.filter(([, r]) => r.status !== "UP").map(([s, r]) => `${url} ${s} ${r.status}${r.check ? ` (${r.check})` : ""}`);
}

export interface RotationWait {
    /** The balancers' status pages (the stack's `statusUrls` output). */
    statusUrls: string[];
    /** Reads a status page's CSV; throws when it does not answer. */
    fetchCsv(url: string): string;
    /** @default 90 */
    timeoutS?: number;
    /** Pause between looks. @default a 0.5 s sleep */
    pause?: () => void;
    /** @default Date.now */
    now?: () => number;
}

/**
 * Waits until every balancer reports every web node UP (after a restore the nodes' database check fails while the
 * database is reloaded, and the balancers need `rise` good checks to take them back). Returns the seconds waited;
 * at the deadline it throws, naming what is still out and the check that keeps it out.
 */
export function waitForRotation(w: RotationWait): number {
    const now = w.now ?? Date.now;
    const pause = w.pause ?? (() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500));
    const started = now();
    const deadline = started + (w.timeoutS ?? 90) * 1000;
    for (;;) {
        const out = w.statusUrls.flatMap((url) => {
            let csv: string | Error;
            try {
                csv = w.fetchCsv(url);
            } catch (e) {
                csv = e as Error;
            }
            return notInRotation(url, csv);
        });
        if (!out.length) return (now() - started) / 1000;
        if (now() >= deadline) throw new Error(`not every web node is back in rotation after ${w.timeoutS ?? 90} s: ${out.join("; ")}`);
        pause();
    }
}
