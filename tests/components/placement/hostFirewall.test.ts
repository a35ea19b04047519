import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { firewallRuleset, firewallUnit, rolePorts } from "../../../components/placement/hostFirewall";

const cluster = ["10.0.0.10", "10.0.0.11", "10.0.0.21"];

describe("host firewall", () => {
    it("opens each role's internal ports to the cluster's hosts only and drops them for everyone else", () => {
        const rules = firewallRuleset({ roles: ["db-master", "redis", "sentinel"], clusterAddresses: [...cluster, "10.0.0.10"], adminAllowlist: ["10.0.0.0/8"] });
        assert.match(rules, /^table inet bitrix_cluster\ndelete table inet bitrix_cluster\ntable inet bitrix_cluster \{$/m);
        assert.match(rules, /elements = \{ 10\.0\.0\.10, 10\.0\.0\.11, 10\.0\.0\.21 \}/);
        assert.match(rules, /tcp dport \{ 3306, 6379, 26379 \} ip saddr @cluster4 accept\n\s+tcp dport \{ 3306, 6379, 26379 \} counter drop/);
        assert.match(rules, /policy accept;/, "the rest of the machine (SSH, the user's services) is left alone");
        assert.doesNotMatch(rules, /8404/);
    });

    it("leaves the balancer's HTTP(S) open and its status page to the admin allowlist, IPv4 and IPv6", () => {
        const rules = firewallRuleset({ roles: ["balancer", "sentinel"], clusterAddresses: cluster, adminAllowlist: ["192.168.0.0/16", "2001:db8::/32"] });
        assert.match(rules, /tcp dport \{ 8404 \} ip saddr \{ 192\.168\.0\.0\/16 \} accept/);
        assert.match(rules, /tcp dport \{ 8404 \} ip6 saddr \{ 2001:db8::\/32 \} accept\n\s+tcp dport \{ 8404 \} ip saddr @cluster4 accept\n\s+tcp dport \{ 8404 \} counter drop/);
        assert.match(rules, /tcp dport \{ 26379 \} ip saddr @cluster4 accept/);
        assert.doesNotMatch(rules, /dport \{[^}]*\b(80|443)\b/);
        assert.deepEqual(rolePorts("web"), { cluster: [80, 9253], public: [], admin: [] });
    });

    it("opens node-exporter to the cluster's hosts, and Prometheus and Alertmanager to the allowlist and the cluster", () => {
        const rules = firewallRuleset({ roles: ["monitoring"], clusterAddresses: cluster, adminAllowlist: ["192.168.0.0/16"], nodeExporter: true });
        assert.match(rules, /tcp dport \{ 9100 \} ip saddr @cluster4 accept\n\s+tcp dport \{ 9100 \} counter drop/);
        assert.match(rules, /tcp dport \{ 9090, 9093 \} ip saddr \{ 192\.168\.0\.0\/16 \} accept/);
        assert.doesNotMatch(firewallRuleset({ roles: ["redis"], clusterAddresses: cluster, adminAllowlist: [] }), /9100/);
    });

    it("loads the table from a oneshot unit and removes it when stopped", () => {
        const unit = firewallUnit();
        assert.match(unit, /^ExecStart=\/usr\/sbin\/nft -f \/etc\/bitrix-cluster\/firewall\.nft$/m);
        assert.match(unit, /^ExecStop=-\/usr\/sbin\/nft delete table inet bitrix_cluster$/m);
        assert.match(unit, /^RemainAfterExit=yes$/m);
    });
});
