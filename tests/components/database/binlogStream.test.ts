import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import {
    BINLOG_DIR,
    binlogStreamSpec,
    STREAMER_OPTIONS,
    STREAMER_SCRIPT,
    STREAMER_SERVER_ID,
    STREAM_METRICS_FILE,
} from "../../../components/database/binlogStream";
import { TEXTFILE_DIR, TEXTFILE_VOLUME } from "../../../components/monitoring/processes";

const value = (o: pulumi.Input<string>) => new Promise<string>((resolve) => pulumi.output(o).apply((v) => resolve(v)));

describe("binlog-stream service", () => {
    const spec = binlogStreamSpec({
        resourceName: "prod-db-binlog-stream",
        servers: [
            { host: "db-master", port: 3306 },
            { host: "db-replica-1", port: 3306 },
        ],
        user: "replicator",
        password: 'pw "secret-9" quotes',
        dependsOn: [],
    });

    it("runs the generated supervisor from the mariadb image, following every server, on a volume it keeps", () => {
        assert.equal(spec.service, "binlog-stream");
        assert.deepEqual(spec.image, { role: "mariadb" });
        assert.deepEqual(spec.command, ["bash", STREAMER_SCRIPT]);
        assert.deepEqual(spec.volumes, [{ kind: "data", name: "binlogs", path: BINLOG_DIR, retain: true, precious: true }]);
        const script = spec.files.find((f) => f.path === STREAMER_SCRIPT)!;
        assert.equal(script.executable, true);
        const text = script.content as string;
        assert.match(text, /^hosts=\('db-master' 'db-replica-1'\)$/m);
        assert.match(text, new RegExp(`--stop-never-slave-server-id=${STREAMER_SERVER_ID} `));
        assert.match(text, new RegExp(`^dir='${BINLOG_DIR}'$`, "m"));
        assert.match(spec.health!.command, /mariadb-binlog/);
        // Without the Monitoring layer: no metrics file, no lag query.
        assert.doesNotMatch(text, /SHOW BINARY LOGS|\.prom/);
        assert.match(text, /^metrics\(\) \{ :; \}$/m);
    });

    it("with metrics, writes its lag into the textfile directory it shares with node-exporter (a volume that is not data)", () => {
        const withMetrics = binlogStreamSpec({
            resourceName: "prod-db-binlog-stream",
            servers: [{ host: "db-master", port: 3306 }],
            user: "replicator",
            password: "pw",
            metrics: true,
            dependsOn: [],
        });
        assert.equal(STREAM_METRICS_FILE, `${TEXTFILE_DIR}/bitrix-binlog-stream.prom`);
        assert.deepEqual(withMetrics.volumes, [
            { kind: "data", name: "binlogs", path: BINLOG_DIR, retain: true, precious: true },
            { kind: "shared", name: "textfile", path: "/var/lib/prometheus/node-exporter", retain: false, precious: false },
        ]);
        assert.deepEqual(withMetrics.volumes[1], TEXTFILE_VOLUME);
        const text = withMetrics.files.find((f) => f.path === STREAMER_SCRIPT)!.content as string;
        assert.match(text, new RegExp(`^mf='${STREAM_METRICS_FILE}'$`, "m"));
        assert.match(text, /-e 'SHOW BINARY LOGS'/);
    });

    it("keeps the replication password in a secret option file, never in the script", async () => {
        const options = spec.files.find((f) => f.path === STREAMER_OPTIONS)!;
        assert.equal(options.secret, true);
        assert.equal(await value(options.content), '[client]\npassword="pw \\"secret-9\\" quotes"\n');
        assert.doesNotMatch(spec.files.find((f) => f.path === STREAMER_SCRIPT)!.content as string, /secret-9/);
    });
});
