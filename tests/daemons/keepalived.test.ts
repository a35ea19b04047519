/**
 * The generated keepalived.conf in Debian's keepalived: its own config check (`keepalived -t`) accepts both
 * variants (VRRPv3 without a password, VRRPv2 with one) and refuses the mix keepalived cannot do, so the check
 * the balancers run before every start and reload is a real one. VRRP itself is exercised end to end.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { keepalivedConfig, KeepalivedInput, vipGuardRules } from "../../components/balancer/keepalivedConfig";
import { requireBinary, tmpDir } from "../helpers/daemons";

// keepalived checks that the interface exists and is not loopback: this machine's first external one.
const iface = Object.entries(os.networkInterfaces()).find(([, addrs]) => addrs?.some((a) => !a.internal && a.family === "IPv4"))?.[0];

const input: KeepalivedInput = {
    name: "bx-test-balancer-1",
    interface: iface ?? "no-external-interface",
    routerId: 77,
    priority: 150,
    address: "10.255.0.50",
    peers: ["10.255.0.12"],
    checkUrl: "http://127.0.0.1:8404/",
};

function check(text: string): { status: number | null; output: string } {
    const file = path.join(tmpDir("keepalived"), "keepalived.conf");
    fs.writeFileSync(file, text);
    const r = spawnSync(requireBinary("keepalived"), ["-t", "-f", file], { encoding: "utf8" });
    return { status: r.status ?? (r.signal ? 128 : null), output: `${r.stdout}${r.stderr}` };
}

describe("keepalived: generated keepalived.conf", () => {
    it("passes keepalived's config check without and with a VRRP password", () => {
        for (const cfg of [keepalivedConfig(input), keepalivedConfig({ ...input, password: "pair-secret-1" })]) {
            const r = check(cfg);
            assert.equal(r.status, 0, r.output);
        }
    });

    it("writes floating-address guard rules that nft accepts (checked, not applied)", () => {
        const file = path.join(tmpDir("vip-guard"), "vip-guard.nft");
        fs.writeFileSync(file, vipGuardRules(input.address));
        const r = spawnSync(requireBinary("nft"), ["-c", "-f", file], { encoding: "utf8" });
        assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    });

    it("is refused by the same check when VRRPv3 is given a password (what the generator never writes)", () => {
        const broken = keepalivedConfig(input).replace(
            "    check_unicast_src",
            "    check_unicast_src\n    authentication {\n        auth_type PASS\n        auth_pass secret12\n    }",
        );
        const r = check(broken);
        assert.notEqual(r.status, 0);
        assert.match(r.output, /VRRP version 3 does not support authentication/);
    });
});

/**
 * The password keepalived itself parsed: keepalived runs for two seconds in a network namespace of its own (a veth
 * pair stands in for the balancer's interface) and dumps its configuration (`-d`), which shows the VRRP password.
 */
function parsedPassword(text: string): string {
    const dir = tmpDir("keepalived-run");
    const file = path.join(dir, "keepalived.conf");
    fs.writeFileSync(file, text);
    const script = [
        "ip link add bxk0 type veth peer name bxk1 && ip link set bxk1 up && ip link set bxk0 up",
        `timeout 2 ${requireBinary("keepalived")} -n -l -D -d --vrrp -p ${dir}/k.pid -r ${dir}/v.pid -f ${file}`,
    ].join(" && ");
    const r = spawnSync("unshare", ["-n", "sh", "-c", `${script}; true`], { encoding: "utf8" });
    const m = /Password = (.*)$/m.exec(`${r.stdout}${r.stderr}`);
    assert.ok(m, `no password in keepalived's dump:\n${r.stdout}${r.stderr}`);
    return m[1];
}

describe("keepalived: the VRRP password as keepalived reads it", () => {
    const own = { ...input, interface: "bxk0" };
    for (const password of ["ab#cdefghij", "x!{}'\\$%y", "p;q}r{s#"]) {
        it(`reads ${JSON.stringify(password)} as its first 8 characters, comment and block characters included`, () => {
            const cfg = keepalivedConfig({ ...own, password });
            assert.equal(parsedPassword(cfg), password.slice(0, 8));
        });
    }
});
