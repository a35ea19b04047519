/**
 * A Grafana dashboard (JSON model, schema 36) over the same metrics the alerts read, one row per layer, for users
 * who run Grafana: import it and pick the Prometheus data source. Shipped in the monitoring service at
 * /etc/bitrix-monitoring/grafana-dashboard.json and printed by `node build/tools/grafana-dashboard.js`.
 */

interface Panel {
    title: string;
    unit: string;
    /** PromQL and legend per series. */
    targets: Array<[string, string]>;
}

const ROWS: Array<[string, Panel[]]> = [
    [
        "Balancers",
        [
            {
                title: "Web nodes UP at each balancer",
                unit: "short",
                targets: [['sum by (instance) (haproxy_server_status{proxy="web",state="UP"})', "{{instance}}"]],
            },
            {
                title: "Requests per second",
                unit: "reqps",
                targets: [['sum by (instance) (rate(haproxy_frontend_http_requests_total{proxy="https"}[1m]))', "{{instance}}"]],
            },
        ],
    ],
    [
        "Web nodes",
        [
            { title: "PHP-FPM listen queue (alert > 10)", unit: "short", targets: [["phpfpm_listen_queue", "{{instance}}"]] },
            { title: "PHP-FPM active processes", unit: "short", targets: [["phpfpm_active_processes", "{{instance}}"]] },
            { title: "Health probe", unit: "bool", targets: [['probe_success{job="blackbox-web"}', "{{instance}}"]] },
            {
                title: "Memory used (alert > 85 %)",
                unit: "percent",
                targets: [["(1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) * 100", "{{instance}}"]],
            },
        ],
    ],
    [
        "Database",
        [
            { title: "Replication lag (alert > 30 s)", unit: "s", targets: [["mysql_slave_status_seconds_behind_master", "{{instance}}"]] },
            {
                title: "Replication threads running",
                unit: "short",
                targets: [
                    ["mysql_slave_status_slave_io_running", "IO {{instance}}"],
                    ["mysql_slave_status_slave_sql_running", "SQL {{instance}}"],
                ],
            },
            { title: "Queries per second", unit: "ops", targets: [["rate(mysql_global_status_queries[1m])", "{{instance}}"]] },
        ],
    ],
    [
        "Redis and Sentinel",
        [
            {
                title: "Hit rate (alert < 80 %)",
                unit: "percentunit",
                targets: [
                    [
                        "rate(redis_keyspace_hits_total[5m]) / (rate(redis_keyspace_hits_total[5m]) + rate(redis_keyspace_misses_total[5m]))",
                        "{{instance}}",
                    ],
                ],
            },
            { title: "Memory used", unit: "bytes", targets: [["redis_memory_used_bytes", "{{instance}}"]] },
            {
                title: "Sentinel: master address",
                unit: "short",
                targets: [["redis_sentinel_master_status", "{{instance}} → {{master_address}}"]],
            },
        ],
    ],
    [
        "Shared storage",
        [
            { title: "NFS server reachable", unit: "bool", targets: [['probe_success{job="blackbox-nfs"}', "{{instance}}"]] },
            {
                title: "NFS server disk await (alert > 20 ms)",
                unit: "ms",
                targets: [
                    [
                        '(rate(node_disk_read_time_seconds_total{nfs="true"}[5m]) + rate(node_disk_write_time_seconds_total{nfs="true"}[5m])) / (rate(node_disk_reads_completed_total{nfs="true"}[5m]) + rate(node_disk_writes_completed_total{nfs="true"}[5m])) * 1000',
                        "{{device}}",
                    ],
                ],
            },
        ],
    ],
    ["Scraping", [{ title: "Targets up", unit: "short", targets: [["sum by (job) (up)", "{{job}}"]] }]],
];

export function grafanaDashboard(): Record<string, unknown> {
    const panels: Array<Record<string, unknown>> = [];
    let id = 1;
    let y = 0;
    for (const [row, rowPanels] of ROWS) {
        panels.push({ id: id++, type: "row", title: row, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: y++ }, panels: [] });
        rowPanels.forEach((p, i) => {
            panels.push({
                id: id++,
                type: "timeseries",
                title: p.title,
                datasource: { type: "prometheus", uid: "${DS_PROMETHEUS}" },
                fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
                gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: y + Math.floor(i / 2) * 8 },
                targets: p.targets.map(([expr, legend], j) => ({
                    refId: String.fromCharCode(65 + j),
                    expr,
                    legendFormat: legend,
                    datasource: { type: "prometheus", uid: "${DS_PROMETHEUS}" },
                })),
            });
        });
        y += Math.ceil(rowPanels.length / 2) * 8;
    }
    return {
        __inputs: [{ name: "DS_PROMETHEUS", label: "Prometheus", type: "datasource", pluginId: "prometheus", pluginName: "Prometheus" }],
        title: "Bitrix cluster",
        uid: "bitrix-cluster",
        schemaVersion: 36,
        version: 1,
        editable: true,
        time: { from: "now-6h", to: "now" },
        refresh: "30s",
        tags: ["bitrix", "bitrix-cluster"],
        templating: { list: [] },
        panels,
    };
}

/** Every metric name the dashboard's queries read. */
export function dashboardMetrics(dashboard = grafanaDashboard()): string[] {
    const exprs = (dashboard.panels as Array<{ targets?: Array<{ expr: string }> }>).flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    const names = exprs.flatMap((e) => e.replace(/\{[^}]*\}/g, "").match(/[a-zA-Z_][a-zA-Z0-9_]*/g) ?? []);
    // Metric names here all contain "_"; PromQL words (sum, by, rate) and label names used (instance, job) do not.
    return [...new Set(names.filter((n) => n.includes("_")))].sort().concat(exprs.some((e) => /\bup\b/.test(e)) ? ["up"] : []);
}
