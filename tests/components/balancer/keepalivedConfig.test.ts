import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { keepalivedConfig, KeepalivedInput, takeoverBoundS, vipGuardRules } from "../../../components/balancer/keepalivedConfig";

const base: KeepalivedInput = {
    name: "bx-prod-balancer-1",
    interface: "eth0",
    routerId: 51,
    priority: 150,
    address: "10.0.0.50",
    peers: ["10.0.0.31"],
    checkUrl: "http://127.0.0.1:8404/",
};

describe("keepalivedConfig", () => {
    it("starts every balancer as BACKUP without preemption, so a returning balancer does not take the address back", () => {
        const cfg = keepalivedConfig(base);
        assert.match(cfg, /^\s+state BACKUP$/m);
        assert.match(cfg, /^\s+nopreempt$/m);
        assert.match(cfg, /^\s+priority 150$/m);
        assert.match(cfg, /^\s+virtual_router_id 51$/m);
        assert.match(cfg, /virtual_ipaddress \{\n\s+10\.0\.0\.50\/32 dev eth0\n\s+\}/);
    });

    it("holds the address only while the local HAProxy answers its status page", () => {
        const cfg = keepalivedConfig(base);
        assert.match(cfg, /script "\/usr\/bin\/curl -fsS -o \/dev\/null --max-time 1 http:\/\/127\.0\.0\.1:8404\/"/);
        assert.match(cfg, /^\s+fall 2$/m);
        assert.match(cfg, /track_script \{\n\s+chk_haproxy\n\s+\}/);
        assert.match(cfg, /script_user root\n\s+enable_script_security/);
    });

    it("talks to its peers by unicast and accepts adverts only from them", () => {
        const cfg = keepalivedConfig({ ...base, peers: ["10.0.0.31", "10.0.0.32"] });
        assert.match(cfg, /unicast_peer \{\n\s+10\.0\.0\.31\n\s+10\.0\.0\.32\n\s+\}\n\s+check_unicast_src/);
    });

    it("uses VRRPv3 with 0.5 s adverts without a password, VRRPv2 with PASS and 1 s adverts with one", () => {
        const v3 = keepalivedConfig(base);
        assert.match(v3, /vrrp_version 3/);
        assert.match(v3, /advert_int 0\.5/);
        assert.doesNotMatch(v3, /authentication/);
        const v2 = keepalivedConfig({ ...base, password: "s3cret-long-password" });
        assert.match(v2, /vrrp_version 2/);
        assert.match(v2, /advert_int 1\n/);
        assert.match(v2, /auth_type PASS\n\s+auth_pass "s3cret-l"\n/);
        assert.ok(takeoverBoundS({ priority: 140 }) < 2);
        assert.ok(takeoverBoundS({ priority: 140, password: "x" }) > 3);
    });

    it("quotes the password, so keepalived's comment and block characters are part of it (first 8 characters)", () => {
        // Bare, "ab#cdefghij" was read as "ab" (# starts a comment); inside double quotes keepalived takes every byte.
        assert.match(keepalivedConfig({ ...base, password: "ab#cdefghij" }), /^ {8}auth_pass "ab#cdefg"$/m);
        assert.match(keepalivedConfig({ ...base, password: "!{}'\\$%x" }), /^ {8}auth_pass "!\{\}'\\\$%x"$/m);
        // A double quote cannot be written inside keepalived's quoted string: refused, naming the key.
        assert.throws(() => keepalivedConfig({ ...base, password: 'abc"defgh' }), /vrrpPassword.*double quote/);
    });

    it("refuses a config that could not work", () => {
        assert.throws(() => keepalivedConfig({ ...base, peers: [] }), /at least one peer/);
        assert.throws(() => keepalivedConfig({ ...base, peers: ["10.0.0.50"] }), /is a balancer's own address/);
        assert.throws(() => keepalivedConfig({ ...base, password: "has space" }), /printable ASCII/);
    });
});

describe("vipGuardRules", () => {
    it("drops the kernel's refusals (RST+ACK with sequence 0) sent from the floating address, in a table of its own", () => {
        const rules = vipGuardRules("10.0.0.50");
        assert.match(rules, /^table ip bitrix_vip_guard\ndelete table ip bitrix_vip_guard\n/m);
        assert.match(rules, /type filter hook output priority filter; policy accept;/);
        assert.match(rules, /^\s+ip saddr 10\.0\.0\.50 tcp flags & \(rst \| ack\) == rst \| ack tcp sequence 0 counter drop$/m);
        assert.match(rules, /^\s+ip daddr 10\.0\.0\.50 tcp flags & \(fin \| syn \| rst \| ack\) == syn counter drop$/m);
        assert.equal(rules.match(/ drop$/gm)?.length, 2);
    });

    it("drops new connections to the floating address only from the draining chain, which nothing jumps to until a stop", () => {
        const rules = vipGuardRules("10.0.0.50");
        const input = /chain input \{\n([^}]*)\}/.exec(rules)?.[1] ?? "";
        assert.match(input, /type filter hook input priority filter; policy accept;/);
        assert.doesNotMatch(input, /drop|jump/);
        const draining = /chain draining \{\n([^}]*)\}/.exec(rules)?.[1] ?? "";
        assert.doesNotMatch(draining, /hook/);
        assert.match(draining, /ip daddr 10\.0\.0\.50 .* == syn counter drop/);
    });
});
