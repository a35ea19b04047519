import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import * as YAML from "yaml";
import { alertmanagerConfig } from "../../../components/monitoring/alertmanagerConfig";
import { ALERTS, alertRulesYaml, alertsFor, alertTableMarkdown } from "../../../components/monitoring/alertRules";
import { blackboxConfig, prometheusConfig, PrometheusInput } from "../../../components/monitoring/prometheusConfig";
import { mysqldCnf, supervisorConfig } from "../../../components/monitoring/processes";
import { dashboardMetrics, grafanaDashboard } from "../../../components/monitoring/grafanaDashboard";

const input = (webs: number): PrometheusInput => ({
    ruleFile: "/etc/bitrix-monitoring/rules.yml",
    alertmanager: "127.0.0.1:9093",
    self: "127.0.0.1:9090",
    node: [{ address: "127.0.0.1:9100", instance: "docker-host", labels: { nfs: "true" } }],
    mysqld: [{ address: "127.0.0.1:9104", instance: "db-master", labels: { role: "master" } }],
    redisExporter: "127.0.0.1:9121",
    redis: [{ address: "redis://bx-redis-1:6379", instance: "redis-1" }],
    sentinel: [],
    haproxy: [{ address: "bx-balancer-1:8404", instance: "balancer-1" }],
    phpfpm: Array.from({ length: webs }, (_, i) => ({ address: `bx-web-${i + 1}:9253`, instance: `web-${i + 1}` })),
    phpfpmPath: "/fpm-status",
    blackbox: "127.0.0.1:9115",
    webHealth: Array.from({ length: webs }, (_, i) => ({ address: `http://bx-web-${i + 1}:80/healthz.php`, instance: `web-${i + 1}` })),
    nfs: [{ address: "172.28.0.10:2049", instance: "nfs" }],
});

describe("alert rules", () => {
    it("give every alert a for:, a severity, a summary and a runbook line", () => {
        const doc = YAML.parse(alertRulesYaml());
        const rules = doc.groups[0].rules;
        assert.equal(rules.length, ALERTS.length);
        for (const r of rules) {
            assert.match(r.for, /^\d+[smh]$/, r.alert);
            assert.ok(["critical", "warning"].includes(r.labels.severity), r.alert);
            assert.ok(r.annotations.summary.length > 10 && r.annotations.runbook.length > 20, r.alert);
        }
        assert.equal(YAML.parse(alertRulesYaml(ALERTS, { annotations: false })).groups[0].rules[0].annotations, undefined);
    });

    it("carry the seeds' thresholds", () => {
        const expr = (name: string) => ALERTS.find((a) => a.name === name)!.expr;
        assert.match(expr("MysqlReplicationLag"), /seconds_behind_master > 30$/);
        assert.match(expr("HostMemoryHigh"), /\* 100 > 85$/);
        assert.match(expr("PhpFpmListenQueue"), /phpfpm_listen_queue > 10$/);
        assert.match(expr("NfsDiskAwaitHigh"), /\* 1000 > 20$/);
        assert.match(expr("RedisHitRateLow"), /< 0\.8 and/);
        assert.match(expr("BinlogStreamBehind"), /caught_up_timestamp_seconds > 30$/);
    });

    it("leave the binlog stream's rules out of stacks without it (absent() would fire there forever)", () => {
        const names = (rules: typeof ALERTS) => rules.map((r) => r.name);
        const streamRules = ["BinlogStreamBehind", "BinlogStreamNotRecorded"];
        assert.deepEqual(names(ALERTS.filter((r) => r.only === "binlogStream")), streamRules);
        assert.deepEqual(
            names(alertsFor({})),
            names(ALERTS).filter((n) => !streamRules.includes(n)),
        );
        assert.deepEqual(names(alertsFor({ binlogStream: false })), names(alertsFor({})));
        assert.deepEqual(names(alertsFor({ binlogStream: true })), names(ALERTS));
        const yaml = alertRulesYaml(alertsFor({ binlogStream: false }));
        assert.doesNotMatch(yaml, /bitrix_binlog_stream/);
    });

    it("make the alert table of docs/operations.md, one row per alert", () => {
        const table = alertTableMarkdown();
        assert.equal(table.split("\n").length, ALERTS.length + 2);
        assert.match(
            table,
            /\| MysqlReplicationLag \| `mysql_slave_status_seconds_behind_master` > 30 s \| 1m \| warning \| seed 001, 002/,
        );
    });
});

describe("prometheusConfig", () => {
    it("scrapes a target per web node for PHP-FPM and the health probe: a new node needs no hand edit", () => {
        const jobs = (n: number) => YAML.parse(prometheusConfig(input(n))).scrape_configs as any[];
        const targets = (n: number, job: string) =>
            jobs(n)
                .find((j) => j.job_name === job)
                .static_configs.map((c: any) => c.labels.instance);
        assert.deepEqual(targets(2, "phpfpm"), ["web-1", "web-2"]);
        assert.deepEqual(targets(3, "phpfpm"), ["web-1", "web-2", "web-3"]);
        assert.deepEqual(targets(3, "blackbox-web"), ["web-1", "web-2", "web-3"]);
    });

    it("hands multi-target jobs' targets to their exporter as ?target=", () => {
        const doc = YAML.parse(prometheusConfig(input(1)));
        const redis = doc.scrape_configs.find((j: any) => j.job_name === "redis");
        assert.equal(redis.metrics_path, "/scrape");
        assert.equal(redis.static_configs[0].labels.__param_target, "redis://bx-redis-1:6379");
        assert.deepEqual(redis.relabel_configs, [{ target_label: "__address__", replacement: "127.0.0.1:9121" }]);
        const nfs = doc.scrape_configs.find((j: any) => j.job_name === "blackbox-nfs");
        assert.deepEqual(nfs.params, { module: ["tcp_connect"] });
        // An empty list (no Sentinel here) leaves its job out.
        assert.equal(
            doc.scrape_configs.some((j: any) => j.job_name === "sentinel"),
            false,
        );
        assert.deepEqual(doc.alerting.alertmanagers[0].static_configs[0].targets, ["127.0.0.1:9093"]);
        assert.equal(doc.global.scrape_interval, "5s");
    });

    it("defines the blackbox modules the jobs name", () => {
        const modules = Object.keys(YAML.parse(blackboxConfig()).modules);
        assert.deepEqual(modules.sort(), ["http_health", "tcp_connect", "tls_cert"]);
    });
});

describe("alertmanagerConfig", () => {
    it("sends every alert to the webhooks and the e-mail address, critical ones every hour", () => {
        const doc = YAML.parse(
            alertmanagerConfig({
                webhookUrls: ["http://a/hook", "http://b/hook"],
                email: { to: "ops@x.io", from: "am@x.io", smarthost: "smtp.x.io:587", username: "am", password: "pw" },
            }),
        );
        assert.deepEqual(
            doc.receivers[0].webhook_configs.map((w: any) => w.url),
            ["http://a/hook", "http://b/hook"],
        );
        assert.deepEqual(doc.receivers[0].email_configs[0], {
            to: "ops@x.io",
            from: "am@x.io",
            smarthost: "smtp.x.io:587",
            send_resolved: true,
            require_tls: true,
            auth_username: "am",
            auth_password: "pw",
        });
        assert.equal(doc.route.routes[0].repeat_interval, "1h");
    });

    it("keeps alerts in Alertmanager without receivers", () => {
        assert.deepEqual(YAML.parse(alertmanagerConfig({})).receivers, [{ name: "cluster" }]);
    });
});

describe("monitoring processes", () => {
    it("runs one mysqld-exporter per database and node-exporter only where asked", () => {
        const conf = supervisorConfig({ databases: 3 });
        assert.equal(conf.match(/^\[program:mysqld-exporter-\d\]$/gm)?.length, 3);
        assert.match(conf, /--config.my-cnf=\/etc\/bitrix-monitoring\/mysqld-3.cnf --web.listen-address=:9106/);
        assert.match(conf, /\[program:node-exporter\]/);
        assert.doesNotMatch(supervisorConfig({ databases: 1, nodeExporter: false }), /node-exporter/);
        assert.doesNotMatch(conf, /REDIS_PASSWORD|password/i);
        assert.equal(
            mysqldCnf({ host: "db", port: 3306, user: "exporter", password: "p" }),
            "[client]\nhost=db\nport=3306\nuser=exporter\npassword=p\n",
        );
    });
});

describe("monitoring processes: no remote control", () => {
    it("starts Prometheus without the lifecycle API (POST /-/quit and /-/reload); a config change restarts or HUPs it", () => {
        const prometheus = /^\[program:prometheus\]\ncommand=(.*)$/m.exec(supervisorConfig({ databases: 1 }))![1];
        assert.match(prometheus, /^\/usr\/bin\/prometheus --config\.file=/);
        assert.doesNotMatch(prometheus, /enable-lifecycle/);
    });
});

describe("grafanaDashboard", () => {
    const d = grafanaDashboard() as any;

    it("is a Grafana JSON model: schema, unique ids, grid positions, a data source input", () => {
        assert.equal(d.schemaVersion, 36);
        assert.equal(d.uid, "bitrix-cluster");
        const ids = d.panels.map((p: any) => p.id);
        assert.equal(new Set(ids).size, ids.length);
        for (const p of d.panels) {
            assert.ok(Number.isInteger(p.gridPos.x) && p.gridPos.w > 0 && p.gridPos.x + p.gridPos.w <= 24, p.title);
            if (p.type === "row") continue;
            assert.equal(p.datasource.uid, "${DS_PROMETHEUS}");
            assert.ok(p.targets.length > 0 && p.targets.every((t: any) => t.expr.length > 0 && /^[A-Z]$/.test(t.refId)), p.title);
        }
        assert.deepEqual(
            d.__inputs.map((i: any) => i.name),
            ["DS_PROMETHEUS"],
        );
        assert.deepEqual(
            d.panels.filter((p: any) => p.type === "row").map((p: any) => p.title),
            ["Balancers", "Web nodes", "Database", "Redis and Sentinel", "Shared storage", "Scraping"],
        );
    });

    it("reads the metrics the alerts read", () => {
        const metrics = dashboardMetrics();
        for (const m of [
            "node_memory_MemAvailable_bytes",
            "phpfpm_listen_queue",
            "mysql_slave_status_seconds_behind_master",
            "redis_keyspace_hits_total",
            "haproxy_server_status",
            "node_disk_read_time_seconds_total",
            "up",
        ]) {
            assert.ok(metrics.includes(m), m);
        }
        assert.ok(!metrics.includes("sum") && !metrics.includes("rate") && !metrics.includes("instance"));
        // Whole names only, each as written in some query.
        const exprs = (d.panels as any[]).flatMap((p) => (p.targets ?? []).map((t: any) => t.expr as string));
        for (const m of metrics)
            assert.ok(
                exprs.some((e) => new RegExp(`(^|[^A-Za-z0-9_])${m}([^A-Za-z0-9_]|$)`).test(e)),
                m,
            );
    });
});
