// Entry point: read and validate the stack config, build the cluster, export its endpoints.
import { BitrixCluster } from "./components/cluster";
import { loadClusterConfig } from "./components/config/load";

const config = loadClusterConfig();
const cluster = new BitrixCluster(config.prefix, { config });

export const url = cluster.url;
export const statusUrl = cluster.statusUrl;
export const statusUrls = cluster.statusUrls;
export const floatingAddress = cluster.floatingAddress;
export const prometheusUrl = cluster.prometheusUrl;
export const alertmanagerUrl = cluster.alertmanagerUrl;
export const dbEngine = config.db.engine;
export const dbMaster = cluster.dbMaster;
export const dbReplicas = cluster.dbReplicas;
export const redisNodes = cluster.redisNodes;
export const sentinels = cluster.sentinels;
export const sentinelMasterName = cluster.sentinelMasterName;
export const webNodes = cluster.webNodes;
export const nfsExports = cluster.nfsExports;
// Push & Pull (docs/push.md): what to enter in the pull module's settings, once; the key is a secret output.
export const pushServers = cluster.pushServers;
export const pullSettings = cluster.pullSettings;
export const pushSecurityKey = cluster.pushSecurityKey;
// What the backup command needs to find the stack's parts.
export const namePrefix = config.prefix;
export const placement = config.placement;
export const dbName = config.db.name;
export const sharedDirs = cluster.sharedDirs;
