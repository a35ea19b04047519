/** The project files agree with the code: Pulumi.yaml declares every key with the code's type and default,
 * the dev stack validates, the configuration reference (docs/configuration.md) documents every key, the operations
 * page shows the alert table, and every dependency is pinned. */
import { strict as assert } from "node:assert";
import { alertTableMarkdown } from "../../components/monitoring/alertRules";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as YAML from "yaml";
import { KEYS, KEY_NAMES, KeyName, KeySpec } from "../../components/config/keys";
import { parseValue } from "../../components/config/load";
import { validateClusterConfig } from "../../components/config/validate";

const ROOT = path.join(__dirname, "..", "..", "..");
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");

describe("Pulumi.yaml", () => {
    const project = YAML.parse(read("Pulumi.yaml"));

    it("is a Node.js TypeScript project named bitrix-cluster", () => {
        assert.equal(project.name, "bitrix-cluster");
        assert.equal(project.runtime.name, "nodejs");
    });

    it("declares every non-secret key with the code's type, default and description, and no secret", () => {
        const declared = Object.keys(project.config).sort();
        const expected = KEY_NAMES.filter((k) => !(KEYS[k] as KeySpec).secret).sort();
        assert.deepEqual(declared, expected);
        for (const key of declared) {
            const spec: KeySpec = (KEYS as Record<string, KeySpec>)[key];
            assert.equal(project.config[key].type, spec.type, key);
            assert.deepEqual(project.config[key].default, spec.default, key);
            assert.equal(project.config[key].description, spec.description, key);
        }
    });

    it("declares defaults that pass validation once the admins' networks are named (there is no default for them)", () => {
        const raw = {
            ...Object.fromEntries(Object.entries(project.config).map(([k, v]: [string, any]) => [k, v.default])),
            adminAllowlist: ["192.0.2.0/24"],
        };
        assert.doesNotThrow(() => validateClusterConfig(raw, { namespace: "bitrix-cluster", stack: "x" }));
    });
});

describe("Pulumi.dev.yaml", () => {
    it("is a valid stack for this machine: MariaDB and Docker-volume sharing", () => {
        const dev = YAML.parse(read("Pulumi.dev.yaml")).config as Record<string, unknown>;
        // Pulumi hands the program every config value as text; parse it the way the program does.
        const raw = Object.fromEntries(
            Object.entries(dev).map(([k, v]) => {
                const key = k.replace(/^bitrix-cluster:/, "");
                return [key, key in KEYS ? parseValue(KEYS[key as KeyName], String(v)) : v];
            }),
        );
        const c = validateClusterConfig(raw, { namespace: "bitrix-cluster", stack: "dev" });
        assert.equal(c.db.engine, "mariadb");
        assert.equal(c.storage.mode, "docker-volume");
        assert.equal(c.prefix, "bx-dev");
    });

    it("carries no passphrase salt or encrypted value, so a fresh clone's `npm run up` makes its own", () => {
        // Pulumi writes `encryptionsalt` into the stack file when it creates the stack; committed, it makes every other
        // machine's passphrase "incorrect" on `pulumi stack select --create`.
        const dev = YAML.parse(read("Pulumi.dev.yaml")) as Record<string, unknown>;
        assert.deepEqual(Object.keys(dev), ["config"]);
        assert.doesNotMatch(read("Pulumi.dev.yaml"), /encryptionsalt|secure:/);
    });
});

describe("README and docs/", () => {
    const readme = read("README.md");
    const reference = read("docs/configuration.md");
    const hostsDoc = read("docs/hosts.md");

    it("shows the alert table the rules are made from (docs/operations.md)", () => {
        assert.ok(
            read("docs/operations.md").includes(alertTableMarkdown()),
            "docs/operations.md's alert table differs from components/monitoring/alertRules.ts",
        );
    });

    it("documents every config key in the reference table, with what happens when a key without default is unset", () => {
        for (const key of KEY_NAMES) assert.match(reference, new RegExp(`^\\| \`${key}\` \\|`, "m"), `docs/configuration.md lacks ${key}`);
        for (const key of KEY_NAMES) {
            const spec: KeySpec = KEYS[key];
            if (spec.default === undefined) assert.ok(spec.unset, `${key} has neither a default nor an "unset" text`);
        }
    });

    it("shows a hosts stack that the validator accepts", () => {
        const at = hostsDoc.indexOf("A hosts stack, `Pulumi.prod.yaml`");
        assert.ok(at >= 0, "docs/hosts.md lacks the hosts stack example");
        const block = /```yaml\n([\s\S]*?)```/.exec(hostsDoc.slice(at))![1];
        const config = YAML.parse(block).config as Record<string, unknown>;
        const raw = Object.fromEntries(
            Object.entries(config).map(([k, v]) => {
                const key = k.replace(/^bitrix-cluster:/, "");
                if (key === "sshPrivateKey") return [key, "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n"];
                return [key, typeof v === "string" ? parseValue(KEYS[key as KeyName], v) : v];
            }),
        );
        const c = validateClusterConfig(raw, { namespace: "bitrix-cluster", stack: "prod" });
        assert.equal(c.hosts!.inventory.hosts.length, 4);
        assert.equal(c.hosts!.bastion!.host, "203.0.113.10");
        // Every host and the bastion pinned by their SSH host key, each its own.
        assert.equal(c.hosts!.insecureIgnoreHostKeys, false);
        const keys = [...c.hosts!.inventory.hosts.map((h) => h.hostKey), c.hosts!.bastion!.hostKey];
        for (const k of keys) assert.match(k ?? "", /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\S+$/);
        assert.equal(new Set(keys).size, 5);
    });

    it("gives the one-time way to record a host key: ssh-keyscan, checked against the host's own fingerprint", () => {
        const at = hostsDoc.indexOf("**SSH host keys.**");
        assert.ok(at > 0, "docs/hosts.md lacks the SSH host keys paragraph");
        const next = hostsDoc.indexOf("\n## ", at);
        const section = hostsDoc.slice(at, next < 0 ? undefined : next);
        assert.match(section, /`ssh-keyscan -t ed25519 -p 22 10\.0\.0\.10 > lb1\.key`/);
        assert.match(section, /`ssh-keygen -lf \/etc\/ssh\/ssh_host_ed25519_key\.pub` must print the same/);
        assert.match(section, /`sshInsecureIgnoreHostKeys: true`/);
    });

    it("gives the main command and the test command that CI runs", () => {
        assert.match(readme, /^bash scripts\/up\.sh .*npm run up/m);
        assert.match(read("package.json"), /"up": "bash scripts\/up\.sh"/);
        assert.match(readme, /^bash scripts\/test\.sh$/m);
        assert.match(read(".ci/run"), /bash scripts\/test\.sh/);
        // Style before the tests, so CI fails fast on drift.
        const testSh = read("scripts/test.sh");
        assert.ok(
            testSh.indexOf("npm run --silent format:check") > testSh.indexOf("bash scripts/build.sh"),
            "test.sh checks formatting after the build",
        );
        assert.ok(testSh.indexOf("npm run --silent lint") < testSh.indexOf("node --test"), "test.sh lints before the tests");
    });
});

describe("package.json", () => {
    it("pins every dependency to an exact version", () => {
        const pkg = JSON.parse(read("package.json"));
        for (const [name, version] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
            assert.match(String(version), /^\d+\.\d+\.\d+$/, `${name}@${JSON.stringify(version)}`);
        }
        assert.equal(pkg.dependencies["@pulumi/command"].split(".")[0], "1");
    });

    it("tsconfig is strict", () => {
        assert.equal(JSON.parse(read("tsconfig.json")).compilerOptions.strict, true);
    });
});
