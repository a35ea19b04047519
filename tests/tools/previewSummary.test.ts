import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { isStateful, layerOf, parseUrn, PreviewJson, summarizePreview } from "../../tools/previewSummary";

const urn = (chain: string[], name: string) => `urn:pulumi:prod::bitrix-cluster::${chain.join("$")}::${name}`;
const CLUSTER = "bitrix:cluster:BitrixCluster";
const step = (op: string, chain: string[], name: string, extra: object = {}) => ({
    op,
    urn: urn(chain, name),
    newState: { type: chain[chain.length - 1] },
    ...extra,
});

describe("preview summary", () => {
    it("finds the layer of a resource from the component types in its URN", () => {
        assert.equal(layerOf(urn([CLUSTER, "bitrix:cluster:WebNode", "docker:index/container:Container"], "bx-web-1-node")), "web");
        assert.equal(layerOf(urn([CLUSTER, "bitrix:cluster:Database", "docker:index/volume:Volume"], "bx-db-master-data")), "db");
        assert.equal(
            layerOf(urn([CLUSTER, "bitrix:placement:Docker", "docker:index/volume:Volume"], "bx-docker-shared-upload")),
            "placement",
        );
        assert.equal(layerOf(urn(["random:index/randomPassword:RandomPassword"], "x")), "other");
        assert.deepEqual(parseUrn(urn([CLUSTER], "bx")), { types: [CLUSTER], name: "bx" });
    });

    it("counts each layer's changes, names the changed properties and warns on a replaced or deleted data holder", () => {
        const preview: PreviewJson = {
            steps: [
                step("same", [CLUSTER], "bx"),
                step("create", [CLUSTER, "bitrix:cluster:WebNode"], "bx-web-3", {
                    newState: { type: "bitrix:cluster:WebNode", custom: false },
                }),
                step("create", [CLUSTER, "bitrix:cluster:WebNode", "docker:index/container:Container"], "bx-web-3-node"),
                step("create", [CLUSTER, "bitrix:cluster:WebNode", "docker:index/volume:Volume"], "bx-web-3-node-docroot"),
                step("replace", [CLUSTER, "bitrix:cluster:Balancer", "docker:index/container:Container"], "bx-balancer-haproxy", {
                    replaceReasons: ["uploads"],
                    diffReasons: ["uploads"],
                }),
                step("create-replacement", [CLUSTER, "bitrix:cluster:Database", "docker:index/container:Container"], "bx-db-master", {
                    replaceReasons: ["uploads"],
                }),
                step("delete-replaced", [CLUSTER, "bitrix:cluster:Database", "docker:index/container:Container"], "bx-db-master"),
                step("delete", [CLUSTER, "bitrix:cluster:RedisSentinel", "docker:index/volume:Volume"], "bx-redis-redis-3-data"),
                step("update", [CLUSTER, "bitrix:cluster:WebNode", "docker:index/container:Container"], "bx-web-1-node", {
                    diffReasons: ["memory"],
                }),
            ],
        };
        const md = summarizePreview(preview, { stack: "prod" });
        assert.match(md, /^### `pulumi preview` of stack `prod`$/m);
        assert.match(md, /^\| web \| 2 \| 1 \| {2}\| {2}\|$/m);
        assert.match(md, /^\| balancer \| {2}\| {2}\| 1 \| {2}\|$/m);
        assert.match(md, /^\| db \| {2}\| {2}\| 1 \| {2}\|$/m, "a replace is counted once, not as create + delete");
        assert.match(md, /^\| redis \| {2}\| {2}\| {2}\| 1 \|$/m);
        assert.match(
            md,
            /^> \*\*⚠️ WARNING: replaces `bx-db-master`, which holds data\*\* \(db, `docker:index\/container:Container`; because of `uploads`\)\.$/m,
        );
        assert.match(md, /^> \*\*⚠️ WARNING: deletes `bx-redis-redis-3-data`, which holds data\*\*/m);
        assert.doesNotMatch(md, /WARNING: replaces `bx-balancer-haproxy`/, "the balancer holds no data");
        assert.match(md, /^- update `bx-web-1-node` \(`docker:index\/container:Container`\): `memory`$/m);
        assert.equal(
            isStateful(
                urn([CLUSTER, "bitrix:cluster:WebNode", "docker:index/container:Container"], "w"),
                "docker:index/container:Container",
            ),
            false,
        );
        assert.equal(
            isStateful(
                urn([CLUSTER, "bitrix:cluster:WebNode", "docker:index/volume:Volume"], "bx-web-3-node-docroot"),
                "docker:index/volume:Volume",
            ),
            false,
        );
        assert.equal(
            isStateful(
                urn([CLUSTER, "bitrix:cluster:RedisSentinel", "docker:index/container:Container"], "bx-redis-sentinel-2"),
                "docker:index/container:Container",
            ),
            false,
        );
        assert.equal(
            isStateful(
                urn([CLUSTER, "bitrix:placement:Docker", "docker:index/volume:Volume"], "bx-docker-shared-upload"),
                "docker:index/volume:Volume",
            ),
            true,
        );
    });

    it("prints names, never values, so secrets cannot reach the comment", () => {
        const preview = {
            steps: [
                {
                    op: "update",
                    urn: urn([CLUSTER, "bitrix:cluster:WebNode", "docker:index/container:Container"], "bx-web-1-node"),
                    diffReasons: ["envs"],
                    newState: { type: "docker:index/container:Container", inputs: { envs: ["DB_PASSWORD=hunter2-secret"] } },
                    oldState: { type: "docker:index/container:Container", inputs: { envs: ["DB_PASSWORD=old-secret"] } },
                },
            ],
        };
        const md = summarizePreview(preview, { stack: "prod" });
        assert.doesNotMatch(md, /hunter2|old-secret/);
        assert.match(md, /`envs`/);
    });

    it("says when nothing changes, and names each error's resource and cause without copying its text", () => {
        assert.match(summarizePreview({ steps: [step("same", [CLUSTER], "bx")] }, { stack: "s" }), /No changes/);
        const volume = urn([CLUSTER, "bitrix:cluster:Database", "docker:index/volume:Volume"], "bx-db-master-data");
        const failed = summarizePreview(
            { steps: [], diagnostics: [{ severity: "error", urn: volume, message: "unable to replace resource x\nas it is protected" }] },
            { stack: "s" },
        );
        assert.match(
            failed,
            /^> \*\*Error\*\* at `bx-db-master-data` \(db\): a protected resource would be replaced or deleted \(see allowDataLoss\)\. The message is in the CI log only: it can carry values\.$/m,
        );
    });

    it("never pastes error text, which can carry values: a webhook token, a password in a URL", () => {
        const token = "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx";
        const stackUrn = "urn:pulumi:prod::bitrix-cluster::pulumi:pulumi:Stack::bitrix-cluster-prod";
        const md = summarizePreview(
            {
                steps: [],
                diagnostics: [
                    {
                        severity: "error",
                        urn: stackUrn,
                        message: `Running program failed:\nConfigError: invalid stack configuration (2 problems):\n  - bitrix-cluster:alertWebhookUrls: got ["${token}"]; allowed: a list of http(s) URLs\n\u001b[31m  - bitrix-cluster:webNodes: got 0; allowed: an integer from 1 to 64\u001b[0m\n`,
                    },
                    {
                        severity: "error",
                        message: "docker: pull access denied for registry.example.com, https://deploy:s3cr3t-pw@registry.example.com/v2/",
                    },
                ],
            },
            { stack: "prod" },
        );
        assert.doesNotMatch(md, /hooks\.slack|abcdefghijklmnop|s3cr3t|deploy:/);
        assert.match(
            md,
            /^> \*\*Error\*\* at the program: invalid stack configuration: `alertWebhookUrls`, `webNodes`\. The message is in the CI log only: it can carry values\.$/m,
        );
        assert.match(
            md,
            /^> \*\*Error\*\* at the program: the preview failed\. The message is in the CI log only: it can carry values\.$/m,
        );
    });

    it("fits a comment: keeps summary and warnings, trims details and says so", () => {
        const steps = Array.from({ length: 3000 }, (_, i) =>
            step("create", [CLUSTER, "bitrix:cluster:WebNode", "docker:index/container:Container"], `bx-web-${i}-node-with-a-long-name`, {
                diffReasons: ["image", "uploads"],
            }),
        );
        steps.push(step("delete", [CLUSTER, "bitrix:cluster:Database", "docker:index/volume:Volume"], "bx-db-master-data"));
        const md = summarizePreview({ steps }, { stack: "big", limit: 65_536 });
        assert.ok(md.length <= 65_536, `${md.length} characters`);
        assert.match(md, /WARNING: deletes `bx-db-master-data`/);
        assert.match(md, /^\| web \| 3000 \|/m);
        assert.match(md, /_Details trimmed to fit a comment/);
        assert.ok(summarizePreview({ steps: steps.slice(0, 3) }, { stack: "small" }).length < 2000);
    });
});

describe("preview-summary CLI", () => {
    const cli = path.join(__dirname, "..", "..", "tools", "preview-summary.js");
    const run = (args: string[], input?: string) => spawnSync(process.execPath, [cli, ...args], { input, encoding: "utf8" });

    it("reads the preview JSON from a file or stdin and prints the summary", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preview-"));
        const file = path.join(dir, "preview.json");
        fs.writeFileSync(
            file,
            JSON.stringify({
                steps: [step("delete", [CLUSTER, "bitrix:cluster:Database", "docker:index/volume:Volume"], "bx-db-master-data")],
            }),
        );
        const fromFile = run(["--stack", "prod", file]);
        assert.equal(fromFile.status, 0, fromFile.stderr);
        assert.match(fromFile.stdout, /WARNING: deletes `bx-db-master-data`/);
        assert.equal(run(["--stack", "prod"], fs.readFileSync(file, "utf8")).stdout, fromFile.stdout);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("fails clearly on input that is not a preview, or without a stack", () => {
        const bad = run(["--stack", "prod"], "error: decrypting bitrix-cluster:dbPassword=hunter2-secret failed");
        assert.equal(bad.status, 2);
        assert.match(bad.stderr, /is not the JSON of `pulumi preview --json`/);
        assert.doesNotMatch(bad.stderr, /hunter2/, "the input can be an error that carries a value");
        assert.match(run([], "{}").stderr, /usage: preview-summary --stack <name>/);
    });
});
