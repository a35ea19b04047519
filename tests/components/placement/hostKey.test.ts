import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { hostKeyHowTo, parseHostKey } from "../../../components/placement/hostKey";
import { testHostKey } from "../../helpers/hostKeys";

// Made by ssh-keygen -t ed25519 / -t ecdsa (-b 521); the RSA one is cut short (only its type matters).
const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOaIBHr6n+AkXMYE6p6jL83otcJOWsBSyQVA0vFAkJio";
const ECDSA256 =
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJkEkdZL15bnUrWNwDoxnx7u1t5i/eYRcolhR1ow3iXiC9NRuqV4htW5rjJICxO0V8NJ9vcHSUjt/ZCO1UPfIiI=";
const ECDSA521 =
    "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBABs0m6ZMk+SQNAOpy1kgUvCHiARCgQB8X/vzBFU7tIeSrxP9RBokoiWTNeCftPa4irQwXetp22/O4zoiGNsu15mWQFhhOZIKm1VA4lnJlclZu9IatBemBDBXNiZTO/ahyStDQO6gMSyIBMyrs3gWu9jHyA5MTA6R6D3LnU+qzTGLTWY/A==";
const problem = (v: unknown) => {
    const r = parseHostKey(v);
    assert.ok("problem" in r, `accepted ${String(v)}`);
    return r.problem;
};

describe("parseHostKey", () => {
    it("accepts ed25519 and ECDSA keys as ssh-keygen writes them, without the comment", () => {
        assert.deepEqual(parseHostKey(ED25519), { key: ED25519 });
        assert.deepEqual(parseHostKey(`  ${ED25519} root@web-a\n`), { key: ED25519 });
        assert.deepEqual(parseHostKey(ECDSA256), { key: ECDSA256 });
        assert.deepEqual(parseHostKey(ECDSA521), { key: ECDSA521 });
        assert.deepEqual(parseHostKey(testHostKey("x")), { key: testHostKey("x") });
    });

    it("refuses what is not a '<type> <base64>' key, saying what is wrong", () => {
        assert.match(problem(undefined), /must be a string "<type> <base64>"/);
        assert.match(problem(""), /must be "<type> <base64>" such as "ssh-ed25519 AAAAC3Nz\.\.\."/);
        assert.match(problem("ssh-ed25519"), /must be "<type> <base64>"/);
        assert.match(problem("ssh-dss AAAAB3NzaC1kc3M="), /must be "<type> <base64>".*ssh-ed25519, ecdsa-sha2-nistp256/);
        assert.match(
            problem(`10.0.0.11 ${ED25519}`),
            /starts with "10\.0\.0\.11", not a key type: drop the host name ssh-keyscan prints first/,
        );
        assert.match(problem("ssh-ed25519 not*base64!"), /is not base64 after "ssh-ed25519"/);
        assert.match(problem("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOaIBHr6n+AkXMYE6p6jL83otcJOWsBSyQVA0vFAkJi"), /is not base64/);
        assert.match(problem("ssh-ed25519 AAAA"), /is cut short/);
    });

    it("refuses a key whose data is of another type than its label, or not a whole key", () => {
        assert.match(
            problem(`ssh-ed25519 ${ECDSA256.split(" ")[1]}`),
            /says "ssh-ed25519" but its key data is of type "ecdsa-sha2-nistp256"/,
        );
        assert.match(
            problem(`ecdsa-sha2-nistp384 ${ECDSA521.split(" ")[1]}`),
            /says "ecdsa-sha2-nistp384" but its key data is of type "ecdsa-sha2-nistp521"/,
        );
        // An ed25519 key with a byte missing, and one with a byte too many.
        const blob = Buffer.from(ED25519.split(" ")[1], "base64");
        assert.match(
            problem(`ssh-ed25519 ${blob.subarray(0, blob.length - 1).toString("base64")}`),
            /not a well-formed ssh-ed25519 public key/,
        );
        assert.match(
            problem(`ssh-ed25519 ${Buffer.concat([blob, Buffer.from([0])]).toString("base64")}`),
            /not a well-formed ssh-ed25519 public key/,
        );
    });

    it("refuses RSA: the provider would ask for SHA-1 signatures a current OpenSSH no longer makes", () => {
        assert.match(
            problem("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQCxsiOwYBJ1qs19rOZP+Al1jq0jC2g0"),
            /RSA key.*OpenSSH 8\.8\+.*ssh-keyscan -t ed25519/,
        );
    });

    it("tells how to record a key once and check it on the host itself", () => {
        const how = hostKeyHowTo("10.0.0.11", 2222);
        assert.match(how, /ssh-keyscan -t ed25519 -p 2222 10\.0\.0\.11/);
        assert.match(how, /ssh-keygen -lf \/etc\/ssh\/ssh_host_ed25519_key\.pub` run on the host itself/);
    });
});
