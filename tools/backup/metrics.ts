/**
 * What a backup or restore leaves for monitoring (pure, unit-tested): Prometheus text-format files for the
 * node-exporter textfile collector of the stack's monitoring service, which reads every `*.prom` file in Debian's
 * default directory (`prometheus-node-exporter --help` of Debian 12: `--collector.textfile.directory=
 * "/var/lib/prometheus/node-exporter"`, enabled by default). The alert rules BackupTooOld, BackupFailing and
 * RestoreFailing (components/monitoring/alertRules.ts) read them.
 *
 * Two files per kind, so a failed attempt never erases when the last one succeeded: `<kind>-attempt.prom`, written
 * after every attempt, and `<kind>-success.prom`, written only after a success.
 */

/** The textfile collector's directory in the monitoring service (Debian's default). */
export { TEXTFILE_DIR } from "../../components/monitoring/processes";

export interface RunRecord {
    kind: "backup" | "restore";
    stack: string;
    /** logical or physical. */
    method: string;
    success: boolean;
    /** When the run ended. */
    at: Date;
    seconds: number;
    /** What the snapshot holds (backups that succeeded). */
    bytes?: number;
}

/** A label value in the text format: backslash, double quote and line feed escaped (Prometheus exposition format). */
export function labelValue(value: string): string {
    return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

const gauge = (name: string, help: string, labels: Record<string, string>, value: number) => [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} gauge`,
    `${name}{${Object.entries(labels)
        .map(([k, v]) => `${k}=${labelValue(v)}`)
        .join(",")}} ${value}`,
];

/** The files a run writes: name → content. */
export function runMetricFiles(r: RunRecord): Record<string, string> {
    if (!Number.isFinite(r.seconds) || r.seconds < 0) throw new Error(`metrics: seconds must be a finite number ≥ 0, got ${r.seconds}`);
    const p = `bitrix_${r.kind}`;
    const at = Math.floor(r.at.getTime() / 1000);
    const stack = { stack: r.stack };
    const files: Record<string, string> = {
        [`bitrix-${r.kind}-attempt.prom`]: [
            ...gauge(`${p}_last_attempt_timestamp_seconds`, `When the last ${r.kind} attempt ended (Unix time).`, stack, at),
            ...gauge(`${p}_last_attempt_success`, `1 if the last ${r.kind} attempt succeeded, else 0.`, stack, r.success ? 1 : 0),
            "",
        ].join("\n"),
    };
    if (r.success) {
        const labels = { stack: r.stack, method: r.method };
        files[`bitrix-${r.kind}-success.prom`] = [
            ...gauge(`${p}_last_success_timestamp_seconds`, `When the last successful ${r.kind} ended (Unix time).`, labels, at),
            ...gauge(
                `${p}_last_duration_seconds`,
                `How long the last successful ${r.kind} took.`,
                labels,
                Math.round(r.seconds * 1000) / 1000,
            ),
            ...(r.bytes !== undefined
                ? gauge(`${p}_last_size_bytes`, `What the last successful ${r.kind}'s snapshot holds.`, labels, r.bytes)
                : []),
            "",
        ].join("\n");
    }
    return files;
}
