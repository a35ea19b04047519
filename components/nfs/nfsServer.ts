/** The NfsServer layer: one userspace NFSv4 server exporting every shared path. */
import * as pulumi from "@pulumi/pulumi";
import { layerComponent } from "../shared/layer";
import { Placement } from "../placement/types";
import { ganeshaConfig, NFS_PORT, NfsExport, nfsExports, nfsMountOptions, sharedSlug } from "./ganeshaConfig";

export interface NfsServerArgs {
    placement: Placement;
    /** Docroot-relative paths to export. @default ["upload", "bitrix/cache"] */
    sharedPaths?: string[];
    /** CIDRs allowed to mount. */
    clients: string[];
    /** Keep the exported volumes on destroy. @default true */
    retainData?: boolean;
    /** Memory limit in MB; 0 = unlimited. @default 512 */
    memoryMb?: number;
}

/** Debian's www-data, which owns every shared file. */
export const WWW_DATA_ID = 33;
export const GANESHA_CONFIG_PATH = "/etc/ganesha/ganesha.conf";

export interface NfsServerResult {
    /** Address clients mount from (an IP: dockerd mounts NFS with the host resolver). */
    address: string;
    exports: NfsExport[];
    mountOptions: string;
    resource: pulumi.Resource;
}

export function createNfsServer(name: string, parent: pulumi.ComponentResource, args: NfsServerArgs): NfsServerResult {
    const exportList = nfsExports(args.sharedPaths ?? ["upload", "bitrix/cache"]);
    const retain = args.retainData ?? true;
    const deployed = args.placement.deploy(parent, {
        resourceName: `${name}-server`,
        service: "nfs",
        image: { role: "nfs" },
        files: [
            {
                path: GANESHA_CONFIG_PATH,
                content: ganeshaConfig({ exports: exportList, clients: args.clients, anonUid: WWW_DATA_ID, anonGid: WWW_DATA_ID }),
            },
        ],
        volumes: exportList.map((e) => ({ kind: "shared" as const, name: sharedSlug(e.sharedPath), path: e.directory, retain })),
        // The VFS backend opens files by handle (CAP_DAC_READ_SEARCH); SYS_ADMIN for its mount-table look-ups.
        capabilities: ["DAC_READ_SEARCH", "SYS_ADMIN"],
        listens: [{ port: NFS_PORT, from: "cluster" }],
        health: { command: "bash -c '</dev/tcp/127.0.0.1/2049'", intervalS: 5, timeoutS: 2, retries: 3, startPeriodS: 10 },
        memoryMb: args.memoryMb ?? 512,
    });
    return { address: args.placement.addressOf("nfs"), exports: exportList, mountOptions: nfsMountOptions(), resource: deployed.resource };
}

/** NfsServer layer (type `bitrix:cluster:NfsServer`): a thin component over `createNfsServer`. */
export const NfsServer = layerComponent<NfsServerArgs, NfsServerResult>("bitrix:cluster:NfsServer", createNfsServer, (r) => ({
    address: r.address,
    exports: r.exports.map((e) => e.pseudo),
}));
export type NfsServer = InstanceType<typeof NfsServer>;
