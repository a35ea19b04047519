/** The outputs index.ts exports, as `pulumi stack output --json` prints them (what the tools read of a stack). */
export interface StackOutputs {
    url: string;
    statusUrl: string;
    statusUrls: string[];
    floatingAddress: string;
    prometheusUrl: string;
    alertmanagerUrl: string;
    dbEngine: "mariadb" | "percona";
    dbMaster: string;
    dbReplicas: string[];
    redisNodes: string[];
    sentinels: string[];
    sentinelMasterName: string;
    webNodes: string[];
    nfsExports: string[];
    namePrefix: string;
    placement: "docker" | "hosts";
    dbName: string;
    sharedDirs: Record<string, string>;
    /** Push & Pull (docs/push.md): the push services' host names, the pull module's settings and its key (secret). */
    pushServers: string[];
    pullSettings: Record<string, string>;
    pushSecurityKey: string;
}

/**
 * A stack's outputs from `pulumi stack output --json`. A stack last updated by an older program may lack an output
 * added since (`sharedDirs`, `dbName`): readers that can meet such a stack fall back where they read it.
 */
export function parseStackOutputs(json: string): StackOutputs {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
        throw new Error("pulumi stack output --json: expected an object");
    return parsed as StackOutputs;
}
