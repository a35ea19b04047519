/**
 * ganesha.conf of the userspace NFS server (nfs-ganesha from Debian: no kernel nfsd needed) and the mount
 * options web nodes use for its exports.
 */

/** NFSv4 over TCP. */
export const NFS_PORT = 2049;

export interface NfsExport {
    /** Docroot-relative path it carries ("upload", "bitrix/cache"). */
    sharedPath: string;
    /** Directory on the server. */
    directory: string;
    /** NFSv4 pseudo path clients mount. */
    pseudo: string;
}

export interface GaneshaInput {
    exports: NfsExport[];
    /** Clients allowed to mount (CIDRs). */
    clients: string[];
    /** Uid/gid files are created as (www-data = 33 on Debian) so every web node can write them. */
    anonUid: number;
    anonGid: number;
}

/** Slug of a shared path, usable as a volume or directory name ("bitrix/cache" → "bitrix-cache"). */
export function sharedSlug(sharedPath: string): string {
    return sharedPath.replace(/\//g, "-");
}

/** The exports for a list of shared paths, under one export root. */
export function nfsExports(sharedPaths: string[], root = "/srv/nfs"): NfsExport[] {
    return sharedPaths.map((p) => ({ sharedPath: p, directory: `${root}/${sharedSlug(p)}`, pseudo: `/bitrix/${p}` }));
}

export function ganeshaConfig(input: GaneshaInput): string {
    if (input.exports.length === 0) throw new Error("ganeshaConfig: at least one export is required");
    const blocks = input.exports.map((e, i) =>
        [
            "EXPORT {",
            `    Export_Id = ${i + 1};`,
            `    Path = "${e.directory}";`,
            `    Pseudo = "${e.pseudo}";`,
            "    Protocols = 4;",
            "    Transports = TCP;",
            "    Access_Type = NONE;",
            "    # Every web node writes as www-data, whatever uid the client sends.",
            "    Squash = All_Squash;",
            `    Anonymous_Uid = ${input.anonUid};`,
            `    Anonymous_Gid = ${input.anonGid};`,
            "    SecType = sys;",
            "    CLIENT {",
            `        Clients = ${input.clients.join(", ")};`,
            "        Access_Type = RW;",
            "    }",
            "    FSAL {",
            "        Name = VFS;",
            "    }",
            "}",
        ].join("\n"),
    );
    return [
        "# NFSv4 only over TCP: no rpcbind, NLM, rquota or UDP needed.",
        "NFS_CORE_PARAM {",
        "    Protocols = 4;",
        "    Enable_NLM = false;",
        "    Enable_RQUOTA = false;",
        "    Enable_UDP = false;",
        `    NFS_Port = ${NFS_PORT};`,
        "}",
        "",
        "NFSv4 {",
        "    # Clients are web nodes that hold no locks across a restart: skip the 90 s grace period.",
        "    Graceless = true;",
        "    Lease_Lifetime = 30;",
        "}",
        "",
        "LOG {",
        "    Default_Log_Level = EVENT;",
        "}",
        "",
        ...blocks,
        "",
    ].join("\n");
}

export interface NfsMountOptionsInput {
    /** Seconds before one NFS request is retried (NFS timeo is in tenths). */
    timeoutS: number;
    retransmissions: number;
}

/**
 * Mount options for the web nodes. `soft` with a short `timeo`/`retrans` makes a dead server return EIO to PHP
 * after about timeo × (retrans + 1) seconds instead of hanging workers forever (the `hard` default); `noatime`
 * and `nodiratime` cut write amplification (seed 002). `soft` can fail a write that a `hard` mount would have
 * retried: the application sees the error instead of a hung worker, which is what seed 002 asks for.
 */
export function nfsMountOptions(input: NfsMountOptionsInput = { timeoutS: 3, retransmissions: 2 }): string {
    return [
        "nfsvers=4.1",
        "proto=tcp",
        "soft",
        `timeo=${input.timeoutS * 10}`,
        `retrans=${input.retransmissions}`,
        "noatime",
        "nodiratime",
        "noresvport",
    ].join(",");
}
