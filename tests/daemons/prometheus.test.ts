/**
 * The generated Prometheus, Alertmanager and blackbox configs in Debian's own tools: `promtool check config` and
 * `check rules`, `amtool check-config`, blackbox-exporter's `--config.check`, and `promtool test rules` cases for
 * every alert: it fires above its threshold once its `for:` has passed, and stays silent before that and below.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as YAML from "yaml";
import { alertmanagerConfig } from "../../components/monitoring/alertmanagerConfig";
import { ALERTS, alertRulesYaml } from "../../components/monitoring/alertRules";
import { blackboxConfig, prometheusConfig } from "../../components/monitoring/prometheusConfig";
import { runMetricFiles } from "../../tools/backup/metrics";
import { requireBinary, tmpDir } from "../helpers/daemons";

function tool(binary: string, args: string[], cwd?: string): { status: number | null; output: string } {
    const r = spawnSync(requireBinary(binary), args, { encoding: "utf8", cwd });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const dir = tmpDir("prometheus");
const rulesFile = path.join(dir, "rules.yml");
fs.writeFileSync(rulesFile, alertRulesYaml());

/** One alert's cases: series that break the threshold and series that do not, and when `for:` has passed. */
interface Case {
    alert: string;
    /** Series above the threshold (PromQL series notation → promtool values). */
    above: Record<string, string>;
    below: Record<string, string>;
    /** Labels the fired alert(s) carry besides severity. */
    labels: Record<string, string> | Array<Record<string, string>>;
    /** An evaluation time before `for:` has passed (silent), and one after (firing). */
    before: string;
    after: string;
}

const CASES: Case[] = [
    {
        alert: "MysqlReplicationLag",
        above: { 'mysql_slave_status_seconds_behind_master{instance="db-replica-1"}': "45x60" },
        below: { 'mysql_slave_status_seconds_behind_master{instance="db-replica-1"}': "30x60" },
        labels: { instance: "db-replica-1" },
        before: "50s",
        after: "2m",
    },
    {
        alert: "MysqlReplicaIoThreadStopped",
        above: { 'mysql_slave_status_slave_io_running{instance="db-replica-1"}': "0x60" },
        below: { 'mysql_slave_status_slave_io_running{instance="db-replica-1"}': "1x60" },
        labels: { instance: "db-replica-1" },
        before: "20s",
        after: "1m",
    },
    {
        alert: "MysqlReplicaSqlThreadStopped",
        above: { 'mysql_slave_status_slave_sql_running{instance="db-replica-1"}': "0x60" },
        below: { 'mysql_slave_status_slave_sql_running{instance="db-replica-1"}': "1x60" },
        labels: { instance: "db-replica-1" },
        before: "20s",
        after: "1m",
    },
    {
        alert: "HostMemoryHigh",
        above: {
            'node_memory_MemAvailable_bytes{instance="web-1",job="node"}': "10x100",
            'node_memory_MemTotal_bytes{instance="web-1",job="node"}': "100x100",
        },
        below: {
            'node_memory_MemAvailable_bytes{instance="web-1",job="node"}': "16x100",
            'node_memory_MemTotal_bytes{instance="web-1",job="node"}': "100x100",
        },
        labels: { instance: "web-1", job: "node" },
        before: "4m",
        after: "6m",
    },
    {
        alert: "PhpFpmListenQueue",
        above: { 'phpfpm_listen_queue{instance="web-2"}': "11x60" },
        below: { 'phpfpm_listen_queue{instance="web-2"}': "10x60" },
        labels: { instance: "web-2" },
        before: "50s",
        after: "2m",
    },
    {
        alert: "NfsDiskAwaitHigh",
        above: {
            'node_disk_read_time_seconds_total{instance="nfs",nfs="true",device="sda"}': "0+0.03x120",
            'node_disk_reads_completed_total{instance="nfs",nfs="true",device="sda"}': "0+1x120",
            'node_disk_write_time_seconds_total{instance="nfs",nfs="true",device="sda"}': "0+0x120",
            'node_disk_writes_completed_total{instance="nfs",nfs="true",device="sda"}': "0+0x120",
        },
        below: {
            'node_disk_read_time_seconds_total{instance="nfs",nfs="true",device="sda"}': "0+0.01x120",
            'node_disk_reads_completed_total{instance="nfs",nfs="true",device="sda"}': "0+1x120",
            'node_disk_write_time_seconds_total{instance="nfs",nfs="true",device="sda"}': "0+0x120",
            'node_disk_writes_completed_total{instance="nfs",nfs="true",device="sda"}': "0+0x120",
        },
        labels: { instance: "nfs", nfs: "true", device: "sda" },
        before: "4m",
        after: "7m",
    },
    {
        alert: "RedisHitRateLow",
        above: {
            'redis_keyspace_hits_total{instance="redis-1"}': "0+10x300",
            'redis_keyspace_misses_total{instance="redis-1"}': "0+5x300",
        },
        // 91 % hits; and an idle Redis (0.02 lookups/s) whose few lookups all miss.
        below: {
            'redis_keyspace_hits_total{instance="redis-1"}': "0+10x300",
            'redis_keyspace_misses_total{instance="redis-1"}': "0+1x300",
            'redis_keyspace_hits_total{instance="redis-2"}': "0+0x300",
            'redis_keyspace_misses_total{instance="redis-2"}': "0+0.1x300",
        },
        labels: { instance: "redis-1" },
        before: "14m",
        after: "17m",
    },
    {
        alert: "WebNodeDownAtBalancer",
        above: { 'haproxy_server_status{instance="balancer-1",proxy="web",server="web-1",state="DOWN"}': "1x60" },
        below: {
            'haproxy_server_status{instance="balancer-1",proxy="web",server="web-1",state="DOWN"}': "0x60",
            'haproxy_server_status{instance="balancer-1",proxy="web",server="web-1",state="UP"}': "1x60",
        },
        labels: { instance: "balancer-1", proxy: "web", server: "web-1", state: "DOWN" },
        before: "20s",
        after: "1m",
    },
    {
        alert: "RedisSentinelFailover",
        above: {
            'redis_sentinel_master_status{instance="sentinel-1",master_name="bitrix",master_address="10.0.0.1:6379",master_status="ok"}':
                "1x20 _x40",
            'redis_sentinel_master_status{instance="sentinel-1",master_name="bitrix",master_address="10.0.0.2:6379",master_status="ok"}':
                "_x20 1x40",
        },
        below: {
            'redis_sentinel_master_status{instance="sentinel-1",master_name="bitrix",master_address="10.0.0.1:6379",master_status="ok"}':
                "1x60",
        },
        // Fires at once (for: 0s) when the second address appears, and only then.
        labels: { instance: "sentinel-1", master_name: "bitrix" },
        before: "95s",
        after: "2m",
    },
    {
        alert: "NfsUnavailable",
        above: { 'probe_success{instance="nfs",job="blackbox-nfs"}': "0x60" },
        below: { 'probe_success{instance="nfs",job="blackbox-nfs"}': "1x60" },
        labels: { instance: "nfs", job: "blackbox-nfs" },
        before: "20s",
        after: "1m",
    },
    // promtool's time() is the evaluation time from 0: a certificate expiring at 10 days is under the 14-day line, one at 30 days is not.
    {
        alert: "TlsCertificateExpiresSoon",
        above: { 'probe_ssl_earliest_cert_expiry{instance="balancer-2",job="blackbox-tls"}': "864000x300" },
        below: { 'probe_ssl_earliest_cert_expiry{instance="balancer-2",job="blackbox-tls"}': "2592000x300" },
        labels: { instance: "balancer-2", job: "blackbox-tls" },
        before: "9m",
        after: "11m",
    },
    {
        alert: "AcmeRenewalFailing",
        above: { 'bitrix_acme_last_attempt_success{instance="acme",job="acme"}': "0x300" },
        below: { 'bitrix_acme_last_attempt_success{instance="acme",job="acme"}': "1x300" },
        labels: { instance: "acme", job: "acme" },
        before: "14m",
        after: "16m",
    },
    {
        alert: "AcmePushFailing",
        above: { 'bitrix_acme_push_success{instance="acme",job="acme",peer="h3"}': "0x300" },
        below: { 'bitrix_acme_push_success{instance="acme",job="acme",peer="h3"}': "1x300" },
        labels: { instance: "acme", job: "acme", peer: "h3" },
        before: "14m",
        after: "16m",
    },
    // Written by npm run backup as a Unix time: 0 is "long ago" (time() − 0 = the evaluation time); a series that grows
    // 5 per 5 s sample is "just now" at every evaluation.
    {
        alert: "BackupTooOld",
        above: {
            'bitrix_backup_last_success_timestamp_seconds{instance="monitoring",job="node",method="physical",stack="prod"}': "0x20000",
        },
        below: {
            'bitrix_backup_last_success_timestamp_seconds{instance="monitoring",job="node",method="physical",stack="prod"}': "0+5x20000",
        },
        labels: { stack: "prod" },
        before: "26h5m",
        after: "26h15m",
    },
    {
        alert: "BackupNeverRecorded",
        above: { 'up{instance="monitoring",job="node"}': "1x20000" },
        below: {
            'bitrix_backup_last_success_timestamp_seconds{instance="monitoring",job="node",method="logical",stack="prod"}': "0+5x20000",
        },
        labels: {},
        before: "25h55m",
        after: "26h5m",
    },
    {
        alert: "BackupFailing",
        above: { 'bitrix_backup_last_attempt_success{instance="monitoring",job="node",stack="prod"}': "0x300" },
        below: { 'bitrix_backup_last_attempt_success{instance="monitoring",job="node",stack="prod"}': "1x300" },
        labels: { instance: "monitoring", job: "node", stack: "prod" },
        before: "4m",
        after: "6m",
    },
    {
        alert: "RestoreFailing",
        above: { 'bitrix_restore_last_attempt_success{instance="monitoring",job="node",stack="prod"}': "0x300" },
        below: { 'bitrix_restore_last_attempt_success{instance="monitoring",job="node",stack="prod"}': "1x300" },
        labels: { instance: "monitoring", job: "node", stack: "prod" },
        before: "4m",
        after: "6m",
    },
    {
        alert: "DatabaseSplitBrain",
        above: {
            'mysql_global_variables_read_only{instance="db-master",job="mysqld",role="master"}': "0x60",
            'mysql_global_variables_read_only{instance="db-replica-1",job="mysqld",role="replica"}': "1x5 0x55",
        },
        below: {
            'mysql_global_variables_read_only{instance="db-master",job="mysqld",role="master"}': "0x60",
            'mysql_global_variables_read_only{instance="db-replica-1",job="mysqld",role="replica"}': "1x60",
            'mysql_global_variables_read_only{instance="db-replica-2",job="mysqld",role="replica"}': "1x60",
        },
        labels: {},
        before: "40s",
        after: "50s",
    },
    // The binlog stream's caught-up time: "just now" at every sample (grows 5 per 5 s) vs stuck at 100 s after 0 while
    // evaluation time runs on: older than 30 s from 135 s, firing a minute later.
    {
        alert: "BinlogStreamBehind",
        above: { 'bitrix_binlog_stream_last_caught_up_timestamp_seconds{instance="db-replica-1",job="node"}': "0+5x20 100x100" },
        below: { 'bitrix_binlog_stream_last_caught_up_timestamp_seconds{instance="db-replica-1",job="node"}': "0+5x120" },
        labels: { instance: "db-replica-1", job: "node" },
        before: "185s",
        after: "200s",
    },
    {
        alert: "BinlogStreamNotRecorded",
        above: { 'up{instance="db-replica-1",job="node"}': "1x300" },
        below: { 'bitrix_binlog_stream_last_caught_up_timestamp_seconds{instance="db-replica-1",job="node"}': "0+5x300" },
        labels: {},
        before: "9m",
        after: "11m",
    },
    // A scrape that fails, and a Redis node down behind a multi-target exporter that answers the scrape itself.
    {
        alert: "TargetDown",
        above: { 'up{instance="web-1",job="phpfpm"}': "0x60", 'redis_up{instance="redis-2",job="redis"}': "0x60" },
        below: {
            'up{instance="web-1",job="phpfpm"}': "1x60",
            'redis_up{instance="redis-2",job="redis"}': "1x60",
            'mysql_up{instance="db-master",job="mysqld"}': "1x60",
        },
        labels: [
            { instance: "web-1", job: "phpfpm" },
            { instance: "redis-2", job: "redis" },
        ],
        before: "50s",
        after: "2m",
    },
];

describe("prometheus: generated configs in Debian's promtool, amtool and blackbox-exporter", () => {
    it("passes `promtool check config` with the rules file, and `promtool check rules`", () => {
        const target = (address: string, instance: string) => ({ address, instance });
        const config = path.join(dir, "prometheus.yml");
        fs.writeFileSync(
            config,
            prometheusConfig({
                ruleFile: rulesFile,
                alertmanager: "127.0.0.1:9093",
                self: "127.0.0.1:9090",
                node: [{ address: "127.0.0.1:9100", instance: "docker-host", labels: { nfs: "true" } }],
                mysqld: [target("127.0.0.1:9104", "db-master"), target("127.0.0.1:9105", "db-replica-1")],
                redisExporter: "127.0.0.1:9121",
                redis: [target("redis://bx-redis-1:6379", "redis-1")],
                sentinel: [target("redis://bx-sentinel-1:26379", "sentinel-1")],
                haproxy: [target("bx-balancer-1:8404", "balancer-1"), target("bx-balancer-2:8404", "balancer-2")],
                phpfpm: [target("bx-web-1:9253", "web-1")],
                phpfpmPath: "/fpm-status",
                blackbox: "127.0.0.1:9115",
                webHealth: [target("http://bx-web-1:80/healthz.php", "web-1")],
                nfs: [target("172.28.0.10:2049", "nfs")],
            }),
        );
        const config_ = tool("promtool", ["check", "config", config]);
        assert.equal(config_.status, 0, config_.output);
        assert.match(config_.output, new RegExp(`SUCCESS: ${ALERTS.length} rules found`));
        const rules = tool("promtool", ["check", "rules", rulesFile]);
        assert.equal(rules.status, 0, rules.output);
    });

    it("passes `amtool check-config` with webhooks and e-mail, and without receivers", () => {
        for (const [n, text] of [
            alertmanagerConfig({
                webhookUrls: ["http://10.0.0.1:9000/hook"],
                email: { to: "ops@example.com", from: "am@example.com", smarthost: "smtp.example.com:587", username: "am", password: "pw" },
            }),
            alertmanagerConfig({}),
        ].entries()) {
            const file = path.join(dir, `alertmanager-${n}.yml`);
            fs.writeFileSync(file, text);
            const r = tool("amtool", ["check-config", file]);
            assert.equal(r.status, 0, r.output);
        }
    });

    it("passes blackbox-exporter's own config check", () => {
        const file = path.join(dir, "blackbox.yml");
        fs.writeFileSync(file, blackboxConfig("portal.example.com"));
        const r = tool("prometheus-blackbox-exporter", ["--config.check", `--config.file=${file}`]);
        assert.equal(r.status, 0, r.output);
    });

    it("parses what npm run backup leaves for the textfile collector (promtool check metrics)", () => {
        const files = runMetricFiles({
            kind: "backup",
            stack: 'st"ack',
            method: "physical",
            success: true,
            at: new Date(),
            seconds: 1.5,
            bytes: 42,
        });
        for (const [name, text] of Object.entries(files)) {
            const r = spawnSync(requireBinary("promtool"), ["check", "metrics"], { input: text, encoding: "utf8" });
            assert.equal(r.status, 0, `${name}: ${r.stdout}${r.stderr}`);
        }
        // And the check can fail: a label value with its quote unescaped.
        const broken = files["bitrix-backup-success.prom"].replace('st\\"ack', 'st"ack');
        assert.notEqual(spawnSync("promtool", ["check", "metrics"], { input: broken, encoding: "utf8" }).status, 0);
    });

    it("has a case for every alert, and every alert fires above its threshold only after its `for:`, never below", () => {
        assert.deepEqual(CASES.map((c) => c.alert).sort(), ALERTS.map((a) => a.name).sort());
        const logicOnly = path.join(dir, "rules-logic.yml");
        fs.writeFileSync(logicOnly, alertRulesYaml(ALERTS, { annotations: false }));
        const severity = (alert: string) => ALERTS.find((a) => a.name === alert)!.severity;
        const series = (s: Record<string, string>) => Object.entries(s).map(([series, values]) => ({ series, values }));
        const tests = CASES.flatMap((c) => [
            {
                name: `${c.alert} above`,
                interval: "5s",
                input_series: series(c.above),
                alert_rule_test: [
                    { eval_time: c.before, alertname: c.alert, exp_alerts: [] },
                    {
                        eval_time: c.after,
                        alertname: c.alert,
                        exp_alerts: [c.labels].flat().map((l) => ({ exp_labels: { ...l, severity: severity(c.alert) } })),
                    },
                ],
            },
            {
                name: `${c.alert} below`,
                interval: "5s",
                input_series: series(c.below),
                alert_rule_test: [
                    { eval_time: c.before, alertname: c.alert, exp_alerts: [] },
                    { eval_time: c.after, alertname: c.alert, exp_alerts: [] },
                ],
            },
        ]);
        const file = path.join(dir, "rules.test.yml");
        fs.writeFileSync(file, YAML.stringify({ rule_files: [logicOnly], evaluation_interval: "5s", tests }));
        const r = tool("promtool", ["test", "rules", file]);
        assert.equal(r.status, 0, r.output);
        assert.match(r.output, /SUCCESS/);
        console.log(
            `# promtool test rules: ${tests.length} groups (${CASES.length} alerts × above/below), ${tests.length * 2} evaluations: SUCCESS`,
        );
    });

    it("fails `promtool test rules` when an alert's threshold is moved (the cases can fail)", () => {
        const moved = ALERTS.map((a) => (a.name === "PhpFpmListenQueue" ? { ...a, expr: "phpfpm_listen_queue > 11" } : a));
        const rules = path.join(dir, "rules-moved.yml");
        fs.writeFileSync(rules, alertRulesYaml(moved, { annotations: false }));
        const c = CASES.find((x) => x.alert === "PhpFpmListenQueue")!;
        const file = path.join(dir, "rules-moved.test.yml");
        fs.writeFileSync(
            file,
            YAML.stringify({
                rule_files: [rules],
                evaluation_interval: "5s",
                tests: [
                    {
                        interval: "5s",
                        input_series: Object.entries(c.above).map(([series, values]) => ({ series, values })),
                        alert_rule_test: [
                            {
                                eval_time: c.after,
                                alertname: c.alert,
                                exp_alerts: [c.labels].flat().map((l) => ({ exp_labels: { ...l, severity: "warning" } })),
                            },
                        ],
                    },
                ],
            }),
        );
        const r = tool("promtool", ["test", "rules", file]);
        assert.notEqual(r.status, 0);
    });
});
