/**
 * The binlog-stream service (config dbBinlogStream): a live copy of the writable server's binary log, following
 * failovers, on a volume of its own (Docker) or the first replica's machine (hosts), for point-in-time restores
 * (`npm run restore -- --to`). Its supervisor script is binlogStreamScript.ts's; the replay tools/backup/pitrFollow*.ts's.
 */
import * as pulumi from "@pulumi/pulumi";
import { TEXTFILE_DIR, TEXTFILE_VOLUME } from "../monitoring/processes";
import { ServiceSpec } from "../placement/types";
import { followStreamerScript, streamerOptionFile } from "./binlogStreamScript";

export const BINLOG_STREAM_SERVICE = "binlog-stream";
/** Where the streamed binlogs are kept: one `<server_id>-<time>` subdirectory per binlog sequence. */
export const BINLOG_DIR = "/var/lib/bitrix-binlogs";
export const STREAMER_SCRIPT = "/etc/bitrix-binlog-stream/streamer.sh";
export const STREAMER_OPTIONS = "/etc/bitrix-binlog-stream/client.cnf";
/** Its lag metrics, in the textfile collector's directory (followStreamerScript's `metricsFile`). */
export const STREAM_METRICS_FILE = `${TEXTFILE_DIR}/bitrix-binlog-stream.prom`;
/** The id the streamer reports to the master: above every server's (1 + replica index). */
export const STREAMER_SERVER_ID = 4000;

export interface BinlogStreamArgs {
    resourceName: string;
    /** Every database server, the master first. */
    servers: Array<{ host: string; port: number }>;
    /** The replication login (REPLICATION SLAVE is all the streamer needs). */
    user: string;
    password: pulumi.Input<string>;
    /** Keep the volume of streamed binlogs on destroy. @default true */
    retain?: boolean;
    /** Write the lag metrics for the Monitoring layer (STREAM_METRICS_FILE on TEXTFILE_VOLUME). @default false */
    metrics?: boolean;
    dependsOn: pulumi.Resource[];
}

/** The service: the mariadb image running the generated supervisor, its option file 0600, its own volume. */
export function binlogStreamSpec(args: BinlogStreamArgs): ServiceSpec {
    return {
        resourceName: args.resourceName,
        service: BINLOG_STREAM_SERVICE,
        image: { role: "mariadb" },
        command: ["bash", STREAMER_SCRIPT],
        files: [
            {
                path: STREAMER_SCRIPT,
                content: followStreamerScript({
                    servers: args.servers,
                    user: args.user,
                    optionFile: STREAMER_OPTIONS,
                    dir: BINLOG_DIR,
                    serverId: STREAMER_SERVER_ID,
                    ...(args.metrics ? { metricsFile: STREAM_METRICS_FILE } : {}),
                }),
                executable: true,
            },
            { path: STREAMER_OPTIONS, content: pulumi.output(args.password).apply(streamerOptionFile), secret: true },
        ],
        volumes: [
            { kind: "data", name: "binlogs", path: BINLOG_DIR, retain: args.retain ?? true, precious: true },
            ...(args.metrics ? [TEXTFILE_VOLUME] : []),
        ],
        // Healthy while a mariadb-binlog runs (the supervisor restarts it; none runs while no server is writable).
        health: { command: "grep -qx mariadb-binlog /proc/[0-9]*/comm", intervalS: 5, timeoutS: 3, retries: 6, startPeriodS: 60 },
        memoryMb: 128,
        dependsOn: args.dependsOn,
    };
}
