/**
 * The cluster's alert rules: one table (the alert table in docs/operations.md is written from it) and the Prometheus rules file
 * made from it. Thresholds are the users' own, from the seeds; every rule has a `for:`, a severity and a runbook
 * line. Metric names are those of the Debian 12 exporters (mysqld-exporter 0.14, redis-exporter 1.45, node-exporter
 * 1.5, blackbox-exporter 0.23), HAProxy 2.6's built-in exporter and PHP-FPM 8.2's OpenMetrics status page.
 */
import * as YAML from "yaml";

export type Severity = "critical" | "warning";

export interface AlertRule {
    name: string;
    /** PromQL; the alert is pending while it returns series, firing after `for`. */
    expr: string;
    for: string;
    severity: Severity;
    summary: string;
    /** What to do, in one line. */
    runbook: string;
    /** The metric(s) and threshold, for the alert table in docs/operations.md. */
    threshold: string;
    /** Where the threshold comes from. */
    source: string;
    /** Only in stacks with this feature (its metrics exist nowhere else): `binlogStream` = config dbBinlogStream. @default every stack */
    only?: "binlogStream";
}

/** The rules of a stack: every rule, less those of features it does not run. */
export function alertsFor(features: { binlogStream?: boolean }): AlertRule[] {
    return ALERTS.filter((r) => r.only === undefined || features[r.only] === true);
}

const rate = (m: string) => `rate(${m}[5m])`;

/** Days before a served certificate's expiry that TlsCertificateExpiresSoon fires (ACME renews at a third left: 30 of 90 days). */
export const TLS_EXPIRY_ALERT_DAYS = 14;

/**
 * Hours after the last successful backup that BackupTooOld fires: a daily backup (the seeds back up daily, and before
 * every update) plus two hours for a slow run.
 */
export const BACKUP_MAX_AGE_HOURS = 26;

export const ALERTS: AlertRule[] = [
    {
        name: "MysqlReplicationLag",
        severity: "warning",
        for: "1m",
        expr: "mysql_slave_status_seconds_behind_master > 30",
        summary: "Replica {{ $labels.instance }} is {{ $value }} s behind the master",
        runbook:
            "Check the replica's load and long transactions on the master (SHOW PROCESSLIST); reads from this replica are stale until it catches up.",
        threshold: "`mysql_slave_status_seconds_behind_master` > 30 s",
        source: "seed 001, 002 (30 s lag alert)",
    },
    {
        name: "MysqlReplicaIoThreadStopped",
        severity: "critical",
        for: "30s",
        expr: "mysql_slave_status_slave_io_running == 0",
        summary: "Replica {{ $labels.instance }} does not receive the master's binlog",
        runbook:
            "SHOW SLAVE STATUS on the replica: Last_IO_Error names the cause (network, credentials, purged binlog); fix it and START SLAVE.",
        threshold: "`mysql_slave_status_slave_io_running` = 0",
        source: "issue 9",
    },
    {
        name: "MysqlReplicaSqlThreadStopped",
        severity: "critical",
        for: "30s",
        expr: "mysql_slave_status_slave_sql_running == 0",
        summary: "Replica {{ $labels.instance }} stopped applying the master's changes",
        runbook:
            "SHOW SLAVE STATUS on the replica: Last_SQL_Error names the failing event; never skip it blindly - rebuild the replica from a backup if the data differ.",
        threshold: "`mysql_slave_status_slave_sql_running` = 0",
        source: "issue 9",
    },
    {
        name: "HostMemoryHigh",
        severity: "warning",
        for: "5m",
        expr: "(1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) * 100 > 85",
        summary: "{{ $labels.instance }} uses {{ $value | humanize }} % of its memory",
        runbook:
            "Find the biggest consumers (PHP-FPM children × memory_limit first); lower fpmMaxChildren or phpMemoryLimitMb, or add memory or web nodes.",
        threshold: "RAM used > 85 % (`node_memory_MemAvailable_bytes` / `node_memory_MemTotal_bytes`)",
        source: "seed 001 (web nodes)",
    },
    {
        name: "PhpFpmListenQueue",
        severity: "warning",
        for: "1m",
        expr: "phpfpm_listen_queue > 10",
        summary: "{{ $value }} requests wait for a PHP worker on {{ $labels.instance }}",
        runbook:
            "All PHP-FPM children are busy: look for slow requests (slow log, database, Redis locks), then raise fpmMaxChildren if memory allows, or add web nodes.",
        threshold: "`phpfpm_listen_queue` > 10",
        source: "seed 001",
    },
    {
        name: "NfsDiskAwaitHigh",
        severity: "warning",
        for: "5m",
        expr:
            `(${rate('node_disk_read_time_seconds_total{nfs="true"}')} + ${rate('node_disk_write_time_seconds_total{nfs="true"}')})` +
            ` / (${rate('node_disk_reads_completed_total{nfs="true"}')} + ${rate('node_disk_writes_completed_total{nfs="true"}')}) * 1000 > 20`,
        summary: "Disk {{ $labels.device }} of the NFS server answers in {{ $value | humanize }} ms",
        runbook:
            "The shared storage's disk is saturated: check iostat on the NFS server, move it to faster disks or take the cache (bitrix/cache) off NFS load.",
        threshold: "NFS server disk await > 20 ms (`node_disk_*_time_seconds_total` / `node_disk_*_completed_total`)",
        source: "seed 001",
    },
    {
        name: "RedisHitRateLow",
        severity: "warning",
        for: "15m",
        expr:
            `${rate("redis_keyspace_hits_total")} / (${rate("redis_keyspace_hits_total")} + ${rate("redis_keyspace_misses_total")}) < 0.8` +
            ` and (${rate("redis_keyspace_hits_total")} + ${rate("redis_keyspace_misses_total")}) > 1`,
        summary: "Redis {{ $labels.instance }} serves only {{ $value | humanizePercentage }} of lookups from memory",
        runbook:
            "Keys are evicted or expire too early: check evicted_keys and used_memory against redisMaxMemoryMb, raise it, or shorten cache lifetimes.",
        threshold: "hit rate < 80 % (`redis_keyspace_hits_total`, `redis_keyspace_misses_total`; over 1 lookup/s)",
        source: "seed 001",
    },
    {
        name: "WebNodeDownAtBalancer",
        severity: "critical",
        for: "30s",
        expr: 'haproxy_server_status{proxy="web",state="DOWN"} == 1',
        summary: "Balancer {{ $labels.instance }} has taken {{ $labels.server }} out",
        runbook:
            "The node fails /healthz.php: its answer names the failing dependency (db, redis, shared storage); check that node's nginx, PHP-FPM and logs.",
        threshold: '`haproxy_server_status{state="DOWN"}` = 1',
        source: "seed 001, 002 (upstream health)",
    },
    {
        name: "RedisSentinelFailover",
        severity: "warning",
        for: "0s",
        expr: "count by (instance, master_name) (last_over_time(redis_sentinel_master_status[10m])) > 1",
        summary: "Sentinel {{ $labels.instance }} moved master {{ $labels.master_name }} in the last 10 minutes",
        runbook:
            "Find out why the old master failed (its log, memory, the host); it rejoins as a replica by itself - check SENTINEL REPLICAS shows it.",
        threshold: "more than one master address in 10 min (`redis_sentinel_master_status`)",
        source: "issue 9",
    },
    {
        name: "NfsUnavailable",
        severity: "critical",
        for: "30s",
        expr: 'probe_success{job="blackbox-nfs"} == 0',
        summary: "The NFS server {{ $labels.instance }} does not accept connections",
        runbook: "Web nodes answer 503 until it is back: check the NFS server's unit or container and its disk; uploads fail meanwhile.",
        threshold: "TCP probe of port 2049 fails (`probe_success`)",
        source: "seed 002 (NFS failure)",
    },
    {
        name: "TlsCertificateExpiresSoon",
        severity: "warning",
        for: "10m",
        expr: `probe_ssl_earliest_cert_expiry{job="blackbox-tls"} - time() < ${TLS_EXPIRY_ALERT_DAYS} * 86400`,
        summary: "The certificate balancer {{ $labels.instance }} serves expires in {{ $value | humanizeDuration }}",
        runbook:
            "tlsMode acme: see AcmeRenewalFailing and the acme service's log; provided: put the renewed pair in tlsCertificate/tlsKey and run pulumi up; self-signed: see docs/tls.md.",
        threshold: `\`probe_ssl_earliest_cert_expiry\` < ${TLS_EXPIRY_ALERT_DAYS} days ahead (each balancer's door)`,
        source: "issue 20",
    },
    {
        name: "AcmeRenewalFailing",
        severity: "warning",
        for: "15m",
        expr: "bitrix_acme_last_attempt_success == 0",
        summary: "The ACME service failed to obtain the portal's certificate ({{ $labels.instance }}); it retries",
        runbook:
            "Read the acme service's log (lego names the failing step): DNS of the names to the floating address, port 80 reachable from the CA, rate limits, the directory URL.",
        threshold: "`bitrix_acme_last_attempt_success` = 0 (last lego run failed)",
        source: "issue 20",
    },
    {
        name: "AcmePushFailing",
        severity: "warning",
        for: "15m",
        expr: "bitrix_acme_push_success == 0",
        summary: "The ACME service cannot push the portal's certificate to balancer host {{ $labels.peer }}; it retries",
        runbook:
            "Placement hosts: that balancer keeps serving the previous certificate. Read the acme service's log (FAILED to push …): the host's SSH, its pinned hostKey, the stack's line in its SSH user's authorized_keys (pulumi up puts it back), sudo for a non-root user; docs/tls.md.",
        threshold: "`bitrix_acme_push_success` = 0 (last push to that host failed)",
        source: "issue 20",
    },
    {
        name: "BackupTooOld",
        severity: "warning",
        for: "10m",
        expr: `time() - max by (stack) (bitrix_backup_last_success_timestamp_seconds) > ${BACKUP_MAX_AGE_HOURS} * 3600`,
        summary: "The last successful backup of stack {{ $labels.stack }} is {{ $value | humanizeDuration }} old",
        runbook:
            "Run npm run backup -- --stack <name> and read its error; check the schedule that should run it (docs/operations.md, Backups). Until it runs, a restore loses everything since the last snapshot.",
        threshold: `\`bitrix_backup_last_success_timestamp_seconds\` older than ${BACKUP_MAX_AGE_HOURS} h (written by npm run backup into the monitoring service's textfile collector)`,
        source: "issue 22",
    },
    {
        name: "BackupNeverRecorded",
        severity: "warning",
        for: `${BACKUP_MAX_AGE_HOURS}h`,
        // No series at all: never backed up, or the monitoring service was replaced since the last backup (its
        // textfile directory is not a volume) and no backup ran for as long; BackupTooOld cannot see either.
        expr: "absent(bitrix_backup_last_success_timestamp_seconds)",
        summary: `No successful backup recorded for ${BACKUP_MAX_AGE_HOURS} h`,
        runbook:
            "Run npm run backup -- --stack <name> (and npm run backup:schedule for a daily one). Prometheus restarts reset the wait, so do not count on this alert alone.",
        threshold: `no \`bitrix_backup_last_success_timestamp_seconds\` series for ${BACKUP_MAX_AGE_HOURS} h`,
        source: "issue 22",
    },
    {
        name: "BackupFailing",
        severity: "warning",
        for: "5m",
        expr: "bitrix_backup_last_attempt_success == 0",
        summary: "The last backup attempt of stack {{ $labels.stack }} failed",
        runbook:
            "Read the failed run's output (the schedule's journal): restic repository and password, the replica, disk space in the temp dir.",
        threshold: "`bitrix_backup_last_attempt_success` = 0 (until an attempt succeeds)",
        source: "issue 22",
    },
    {
        name: "RestoreFailing",
        severity: "warning",
        for: "5m",
        expr: "bitrix_restore_last_attempt_success == 0",
        summary: "The last restore (or restore drill) into stack {{ $labels.stack }} failed",
        runbook:
            "A restore that fails leaves what it could not finish: read its output, fix the cause and run it again; until a drill passes, the backups are not known to restore.",
        threshold: "`bitrix_restore_last_attempt_success` = 0 (until a restore succeeds)",
        source: "issue 22",
    },
    {
        name: "DatabaseSplitBrain",
        severity: "critical",
        for: "15s",
        // With the failover manager every server starts read-only and the manager opens one; two open at once means
        // two masters taking writes that will not meet again (and the binlog stream follows only the first).
        expr: 'count(mysql_global_variables_read_only{job="mysqld"} == 0) > 1',
        summary: "{{ $value }} database servers accept writes at once (split brain)",
        runbook:
            "Stop the application's writes (the balancer's maintenance page or stop the web nodes), find which server the failover manager's log names as master, set read_only = ON on the other and compare GTID positions (SELECT @@gtid_binlog_pos) before anything else: the other server's extra transactions are lost from the cluster unless replayed by hand.",
        threshold: "more than one `mysql_global_variables_read_only` = 0 (mysqld-exporter) for 15 s",
        source: "issue 22",
    },
    {
        name: "BinlogStreamBehind",
        severity: "warning",
        for: "1m",
        only: "binlogStream",
        // The seeds' replication-lag line (30 s) for the stream a point-in-time restore replays: while it is behind, a
        // lost master loses what the stream lacks, and `--to` cannot reach past the last caught-up second.
        expr: "time() - bitrix_binlog_stream_last_caught_up_timestamp_seconds > 30",
        summary:
            "The binlog stream on {{ $labels.instance }} has not caught up with the writable server for {{ $value | humanizeDuration }}",
        runbook:
            "Read the binlog-stream service's log (pitr-streamer: lines): no writable server, a refused login, a full disk, or a new binlog sequence being copied after a failover; bitrix_binlog_stream_lag_bytes shows what is left. Until it catches up, npm run restore -- --to cannot reach past the last caught-up time.",
        threshold:
            "`bitrix_binlog_stream_last_caught_up_timestamp_seconds` older than 30 s (written by the binlog-stream service every 2 s; dbBinlogStream only)",
        source: "seeds (30 s replication lag), issue 22",
    },
    {
        name: "BinlogStreamNotRecorded",
        severity: "warning",
        for: "10m",
        only: "binlogStream",
        // No series: the service never caught up (still copying), cannot write its file, or its machine's node-exporter
        // is down (TargetDown shows that one).
        expr: "absent(bitrix_binlog_stream_last_caught_up_timestamp_seconds)",
        summary: "No binlog stream has recorded being caught up for 10 minutes",
        runbook:
            "Check that the binlog-stream service runs and read its log; its file is bitrix-binlog-stream.prom in the textfile directory of its machine's node-exporter (Docker: the monitoring service's).",
        threshold: "no `bitrix_binlog_stream_last_caught_up_timestamp_seconds` series for 10 min (dbBinlogStream only)",
        source: "issue 22",
    },
    {
        name: "TargetDown",
        severity: "warning",
        for: "1m",
        // Exporters that reach their service themselves answer the scrape while the service is down: their own `*_up`.
        expr: "up == 0 or redis_up == 0 or mysql_up == 0",
        summary: "Prometheus cannot scrape {{ $labels.job }} at {{ $labels.instance }}",
        runbook:
            "The exporter or the service behind it is down or unreachable: check it; alerts that depend on its metrics are blind meanwhile.",
        threshold: "`up` = 0, or the exporter's `redis_up` / `mysql_up` = 0",
        source: "issue 9",
    },
];

/**
 * The rules file (`rule_files` of prometheus.yml). `annotations: false` leaves the texts out (the rules' logic alone,
 * for `promtool test rules`, which compares rendered annotations too).
 */
export function alertRulesYaml(rules: AlertRule[] = ALERTS, opts: { annotations?: boolean } = {}): string {
    return (
        "# Generated by bitrix-cluster: alert rules (README, Monitoring)\n" +
        YAML.stringify(
            {
                groups: [
                    {
                        name: "bitrix-cluster",
                        rules: rules.map((r) => ({
                            alert: r.name,
                            expr: r.expr,
                            for: r.for,
                            labels: { severity: r.severity },
                            ...((opts.annotations ?? true) ? { annotations: { summary: r.summary, runbook: r.runbook } } : {}),
                        })),
                    },
                ],
            },
            { lineWidth: 0 },
        )
    );
}

/** The alert table of docs/operations.md. */
export function alertTableMarkdown(rules: AlertRule[] = ALERTS): string {
    return [
        "| alert | threshold | for | severity | source | what to do |",
        "|---|---|---|---|---|---|",
        ...rules.map((r) => `| ${r.name} | ${r.threshold} | ${r.for} | ${r.severity} | ${r.source} | ${r.runbook} |`),
    ].join("\n");
}
