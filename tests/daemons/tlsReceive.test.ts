/**
 * The balancer image's TLS receiver (images/balancer/tls-receive.sh, /usr/local/sbin/bitrix-tls-receive on a host),
 * run as the forced command of the ACME service's push key would run it: a pushed chain and key on stdin. It installs
 * a matching pair by rename, root's, mode 600, and refuses (leaving the installed file as it was) a key that is not the
 * certificate's, garbage, a key without a certificate, two keys, oversized input, and text around the PEM blocks.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { selfSignedCert } from "../helpers/certs";
import { tmpDir } from "../helpers/daemons";

const RECEIVER = path.join(__dirname, "..", "..", "..", "images", "balancer", "tls-receive.sh");
const dir = tmpDir("tls-receive");
const dest = path.join(dir, "tls", "site.pem");

function receive(input: string | Buffer): { code: number; stdout: string; stderr: string } {
    // SSH_ORIGINAL_COMMAND: what the pushing side asked to run; the receiver ignores it.
    const r = spawnSync("bash", [RECEIVER, dest], { input, encoding: "utf8", env: { ...process.env, SSH_ORIGINAL_COMMAND: "rm -rf /" } });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const pair = (name: string) => {
    const c = selfSignedCert(dir, name, { days: 2, cn: `${name}.test`, subjectAltName: `DNS:${name}.test` });
    return { cert: c.cert, key: fs.readFileSync(c.keyPath, "utf8") };
};

describe("tls-receive: the balancer's receiver of a pushed certificate", () => {
    const a = pair("a");
    const b = pair("b");
    const intermediate = pair("intermediate").cert;

    it("installs a chain with its key atomically: a new file by rename, root's, mode 600, the same bytes", () => {
        const first = receive(a.cert + a.key);
        assert.equal(first.code, 0, first.stderr);
        assert.match(first.stdout, /^tls-receive: installed .*site\.pem \(serial [0-9A-F]+, notAfter=/);
        assert.equal(fs.readFileSync(dest, "utf8"), a.cert + a.key);
        const st = fs.statSync(dest);
        assert.equal(st.mode & 0o777, 0o600);
        assert.equal(st.uid, process.getuid!());
        // A chain (leaf, then intermediates) is kept in order; the file is replaced by a new inode, never rewritten.
        const second = receive(b.cert + intermediate + b.key);
        assert.equal(second.code, 0, second.stderr);
        assert.equal(fs.readFileSync(dest, "utf8"), b.cert + intermediate + b.key);
        assert.notEqual(fs.statSync(dest).ino, st.ino);
        assert.deepEqual(fs.readdirSync(path.dirname(dest)), ["site.pem"], "no temporary file left");
        assert.doesNotMatch(first.stdout + first.stderr + second.stdout + second.stderr, /PRIVATE KEY/);
    });

    const refusals: Array<[string, () => string | Buffer, RegExp]> = [
        ["a key that is not the certificate's", () => a.cert + b.key, /the key is not the first certificate's/],
        ["the key of an intermediate, not the leaf", () => a.cert + intermediate + b.key, /the key is not the first certificate's/],
        ["garbage", () => "hello\nworld\n", /not a certificate chain followed by one private key/],
        ["nothing", () => "", /not a certificate chain followed by one private key/],
        ["a key without a certificate", () => a.key, /not a certificate chain followed by one private key/],
        ["two keys", () => a.cert + a.key + a.key, /not a certificate chain followed by one private key/],
        ["the key before the certificate", () => a.key + a.cert, /not a certificate chain followed by one private key/],
        ["a shell line after the PEM", () => `${a.cert}${a.key}rm -rf /\n`, /not a certificate chain followed by one private key/],
        [
            "an unterminated block",
            () => a.cert + a.key.replace(/-----END [A-Z ]+-----\n$/, ""),
            /not a certificate chain followed by one private key/,
        ],
        [
            "a certificate block that does not parse",
            () => `-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n${a.key}`,
            /certificate 1 does not parse/,
        ],
        ["more than 64 KiB", () => a.cert.repeat(Math.ceil(70_000 / a.cert.length)) + a.key, /more than 65536 bytes/],
        ["binary junk", () => Buffer.alloc(100_000, 0xff), /more than 65536 bytes/],
    ];
    for (const [what, input, why] of refusals) {
        it(`refuses ${what}, leaving the installed certificate as it was`, () => {
            const before = fs.readFileSync(dest, "utf8");
            const ino = fs.statSync(dest).ino;
            const r = receive(input());
            assert.equal(r.code, 1, `${what}: ${r.stdout} ${r.stderr}`);
            assert.match(r.stderr, why);
            assert.match(r.stderr, /^tls-receive: refused: /);
            assert.equal(fs.readFileSync(dest, "utf8"), before);
            assert.equal(fs.statSync(dest).ino, ino);
            assert.deepEqual(fs.readdirSync(path.dirname(dest)), ["site.pem"], "no temporary file left");
            assert.doesNotMatch(r.stdout + r.stderr, /PRIVATE KEY/);
        });
    }
});
