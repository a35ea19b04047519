// Entry point: read and validate the stack config (and, on `pulumi up`, check the ACME directory answers), build the
// cluster, export its endpoints. The stack outputs are the resolved object's fields.
import { BitrixCluster } from "./components/cluster";
import { loadCheckedClusterConfig } from "./components/config/load";

async function main() {
    const config = await loadCheckedClusterConfig();
    const cluster = new BitrixCluster(config.prefix, { config });
    return {
        url: cluster.url,
        statusUrl: cluster.statusUrl,
        statusUrls: cluster.statusUrls,
        floatingAddress: cluster.floatingAddress,
        prometheusUrl: cluster.prometheusUrl,
        alertmanagerUrl: cluster.alertmanagerUrl,
        dbEngine: config.db.engine,
        dbMaster: cluster.dbMaster,
        dbReplicas: cluster.dbReplicas,
        redisNodes: cluster.redisNodes,
        sentinels: cluster.sentinels,
        sentinelMasterName: cluster.sentinelMasterName,
        webNodes: cluster.webNodes,
        nfsExports: cluster.nfsExports,
        // Push & Pull (docs/push.md): what to enter in the pull module's settings, once; the key is a secret output.
        pushServers: cluster.pushServers,
        pullSettings: cluster.pullSettings,
        pushSecurityKey: cluster.pushSecurityKey,
        // What the backup command needs to find the stack's parts.
        namePrefix: config.prefix,
        placement: config.placement,
        dbName: config.db.name,
        sharedDirs: cluster.sharedDirs,
    };
}

export = main();
