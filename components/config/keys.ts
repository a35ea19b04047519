/**
 * Every stack config key the program reads: its type, default, description and the values it allows.
 * `Pulumi.yaml` declares the same keys (a test keeps the two in step) and the configuration reference (docs/configuration.md) is
 * written from this table.
 */
import type * as pulumi from "@pulumi/pulumi";
import { isCidr, isHostname, isIdentifier, isIpv4, isNetworkAddress, isTimezone } from "./checks";
import { HOST_KEY_FORMAT, parseHostKey } from "../placement/hostKey";
import { certificateProblem, keyProblem } from "./tls";
import { ACME_PRESETS, acmeDirectoryUrl, isAcmeName } from "./acme";

export type KeyType = "string" | "integer" | "boolean" | "array";
export type Value = string | number | boolean | string[] | number[];

export interface KeySpec {
    type: KeyType;
    /** Default when the key is not set; undefined = no default (optional or secret). */
    default?: Value;
    description: string;
    /** Element type of an array key (as Pulumi.yaml declares it). */
    items?: "string" | "integer" | "object";
    /** What happens without a value, for keys without a default (the default column of docs/configuration.md). */
    unset?: string;
    /** Read with getSecret; never printed. */
    secret?: boolean;
    /** How to give a secret to `pulumi config set --secret` (after the key); default: none, pulumi asks for it. */
    secretInput?: string;
    /** Returns what is allowed when the value is wrong, undefined when it is fine. */
    /** Each key's check takes its own value type (string, number, string[]); call it through `allowedProblem`. */
    allowed?: (v: never) => string | undefined;
}

/** What a key's check says about a value (undefined: fine). Called only on a value of the key's type (`typeOk`). */
export function allowedProblem(spec: KeySpec, v: unknown): string | undefined {
    return (spec.allowed as ((v: unknown) => string | undefined) | undefined)?.(v);
}

/** Docroot trees that hold Bitrix's PHP code; shared paths never execute PHP, so they cannot be shared. */
const CODE_TREES = [
    "admin",
    "tools",
    "modules",
    "components",
    "templates",
    "php_interface",
    "activities",
    "gadgets",
    "wizards",
    "services",
];
export function isCodeTree(p: string): boolean {
    return (
        p === "bitrix" ||
        p === "local" ||
        p.startsWith("local/") ||
        CODE_TREES.some((t) => p === `bitrix/${t}` || p.startsWith(`bitrix/${t}/`))
    );
}

/** `[user@]host[:port]` of a jump host, or undefined when it does not parse. */
export function parseBastion(v: string): { user: string; host: string; port: number } | undefined {
    const m = /^(?:([a-z_][a-z0-9_-]{0,31})@)?([A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(v);
    if (!m || !(isIpv4(m[2]) || isHostname(m[2]))) return undefined;
    const port = m[3] ? Number(m[3]) : 22;
    return port >= 1 && port <= 65535 ? { user: m[1] ?? "root", host: m[2], port } : undefined;
}

/** MySQL's own schemas (names compared case-insensitively: information_schema always is, the rest with lower_case_table_names). */
export const RESERVED_DB_NAMES = ["mysql", "information_schema", "performance_schema", "sys"];
/** The cluster's own database logins (root, the replication user, the monitoring exporter, the failover manager). */
export const RESERVED_DB_USERS = ["root", "replicator", "exporter", "failover"];

/** The admin allowlist of a devStack without one: loopback and the private ranges. */
export const DEV_ADMIN_ALLOWLIST = ["127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

const intIn = (min: number, max: number) => (v: number) =>
    Number.isInteger(v) && v >= min && v <= max ? undefined : `an integer from ${min} to ${max}`;
const oneOf =
    (...values: string[]) =>
    (v: string) =>
        values.includes(v) ? undefined : `one of ${values.map((x) => `"${x}"`).join(", ")}`;
const zeroOrIn = (min: number, max: number) => (v: number) =>
    v === 0 || (Number.isInteger(v) && v >= min && v <= max) ? undefined : `0 (off) or an integer from ${min} to ${max}`;
const port = zeroOrIn(1, 65535);
const password = (v: string) => (v.length >= 8 && v.length <= 128 && !/[\r\n\0]/.test(v) ? undefined : "8 to 128 characters on one line");
const pem = (kind: string) => (v: string) =>
    new RegExp(`-----BEGIN [A-Z ]*${kind}-----`).test(v) ? undefined : `a PEM ${kind.toLowerCase()} (-----BEGIN ...${kind}-----)`;
const memory = zeroOrIn(64, 1048576);

export const KEYS = {
    namePrefix: {
        type: "string",
        default: "",
        description:
            "Prefix of every container, volume, network and image; empty means bx-<stack>. Lets prod and its staging clone share a Docker host; another Docker stack's prefix (from this project's Pulumi.<stack>.yaml files) is refused.",
        allowed: (v: string) =>
            v === "" || /^[a-z][a-z0-9-]{0,22}[a-z0-9]$/.test(v)
                ? undefined
                : "empty, or 2–24 characters of a-z, 0-9 and '-', starting with a letter, not ending with '-'",
    },
    placement: {
        type: "string",
        default: "docker",
        description: 'Where every layer runs: "docker" (containers on the local engine) or "hosts" (the machines in `hosts`, over SSH).',
        allowed: oneOf("docker", "hosts"),
    },
    hosts: {
        type: "array",
        items: "object",
        default: [],
        description:
            'placement hosts: the machines, each { name, address (IPv4), port (22), user ("root"), roles, hostKey } with roles from balancer, web, nfs, db-master, db-replica, redis, sentinel and hostKey the host\'s SSH public key "<type> <base64>" (required).',
        allowed: (v: unknown[]) =>
            v.every((h) => typeof h === "object" && h !== null && !Array.isArray(h))
                ? undefined
                : "a list of objects { name, address, port, user, roles, hostKey }",
    },
    sshBastion: {
        type: "string",
        default: "",
        description: "placement hosts: jump host as [user@]host[:port], reached with the same key; empty connects directly.",
        allowed: (v: string) => (v === "" || parseBastion(v) ? undefined : 'empty, or [user@]host[:port] such as "admin@10.0.0.5:22"'),
    },
    sshBastionHostKey: {
        type: "string",
        default: "",
        description:
            'placement hosts: the bastion\'s SSH public key "<type> <base64>" (ssh-ed25519 or ecdsa-sha2-nistp*); required with sshBastion.',
        allowed: (v: string) => {
            const p = parseHostKey(v);
            if (v === "" || "key" in p) return undefined;
            return `empty, or ${HOST_KEY_FORMAT}${p.problem === `must be ${HOST_KEY_FORMAT}` ? "" : `; this one ${p.problem}`}`;
        },
    },
    sshInsecureIgnoreHostKeys: {
        type: "boolean",
        default: false,
        description:
            "placement hosts, INSECURE, labs only: accept any SSH host key from hosts without hostKey and the bastion without sshBastionHostKey (whoever answers on their SSH port receives every secret).",
    },
    sshPrivateKey: {
        type: "string",
        secret: true,
        unset: "none: required on hosts",
        secretInput: "< ~/.ssh/id_ed25519",
        description: "placement hosts: SSH private key for every host and the bastion (config secret).",
        allowed: pem("PRIVATE KEY"),
    },

    webNodes: { type: "integer", default: 2, description: "Number of PHP web nodes behind the balancer.", allowed: intIn(1, 64) },
    phpMemoryLimitMb: { type: "integer", default: 512, description: "php.ini memory_limit in MB.", allowed: intIn(64, 16384) },
    phpMaxExecutionS: {
        type: "integer",
        default: 60,
        description: "php.ini max_execution_time in seconds (also the Redis session lock expiry).",
        allowed: intIn(5, 3600),
    },
    uploadMaxMb: {
        type: "integer",
        default: 64,
        description: "upload_max_filesize / post_max_size and the web server's body limit, in MB.",
        allowed: intIn(1, 4096),
    },
    fpmMaxChildren: { type: "integer", default: 16, description: "PHP-FPM pm.max_children per web node.", allowed: intIn(2, 1024) },
    timezone: {
        type: "string",
        default: "UTC",
        description: "php.ini date.timezone.",
        allowed: (v: string) => (isTimezone(v) ? undefined : 'an IANA time zone such as "Europe/Moscow"'),
    },

    balancers: {
        type: "integer",
        default: 2,
        description:
            "Number of balancers. Two or more share the portal's floating address by VRRP (keepalived), so the front door survives a balancer's loss; 1 is a single balancer without one.",
        allowed: intIn(1, 4),
    },
    floatingAddress: {
        type: "string",
        default: "",
        description:
            "The portal's floating IPv4 address with 2+ balancers (VRRP). Docker: empty means the subnet's 5th address (reached from the Docker host); hosts: required, an unused address on the hosts' network.",
        allowed: (v: string) => (v === "" || isIpv4(v) ? undefined : 'empty, or an IPv4 address such as "10.0.0.50"'),
    },
    vrrpInterface: {
        type: "string",
        default: "eth0",
        description: "placement hosts: network interface of the balancer hosts that carries the floating address.",
        allowed: (v: string) =>
            /^[A-Za-z0-9_.:@-]{1,15}$/.test(v) ? undefined : 'an interface name of 1–15 characters such as "eth0" or "ens18"',
    },
    vrrpRouterId: {
        type: "integer",
        default: 0,
        description:
            "VRRP virtual router id (1–255), unique per network; 0 derives one from the name prefix. Another stack of this project with the same id (or floating address) is refused.",
        allowed: intIn(0, 255),
    },
    vrrpPassword: {
        type: "string",
        secret: true,
        unset: "none: VRRPv3, peers by unicast",
        description:
            "VRRP authentication (config secret, first 8 characters used). Switches to VRRPv2 with 1 s adverts: a crashed balancer's address then moves in about 3.6 s instead of under 2 s.",
        // keepalived.conf holds it between double quotes, which it cannot escape (see vrrpPasswordProblem).
        allowed: (v: string) =>
            /^[\x21\x23-\x7e]{8,128}$/.test(v) ? undefined : "8 to 128 printable ASCII characters without spaces or double quotes",
    },
    balancerAlgorithm: {
        type: "string",
        default: "least_conn",
        description: "How requests are spread over web nodes.",
        allowed: oneOf("least_conn", "round_robin", "ip_hash"),
    },
    stickyCookie: {
        type: "string",
        default: "BXSRV",
        description:
            "Affinity cookie the balancer inserts (keeps chunked uploads on one node; lapses when that node is down). Empty turns it off. Not PHP's session cookie (PHPSESSID) or one of Bitrix's (BITRIX_SM…).",
        allowed: (v: string) =>
            /^([A-Za-z0-9_]{1,32})?$/.test(v) && !/^(PHPSESSID$|BITRIX_SM)/i.test(v)
                ? undefined
                : "empty or 1–32 characters of A-Z, a-z, 0-9, _; not PHPSESSID (PHP's session cookie) or BITRIX_SM… (Bitrix's cookies), in any case",
    },
    webWeights: {
        type: "array",
        items: "integer",
        default: [],
        description: "Relative weight per web node (1–256), one per node; empty means all 1.",
        allowed: (v: unknown[]) =>
            v.every((w) => Number.isInteger(w) && (w as number) >= 1 && (w as number) <= 256)
                ? undefined
                : "a list of integers from 1 to 256",
    },
    healthIntervalMs: {
        type: "integer",
        default: 2000,
        description: "Interval of the balancer's active health check (seed 004: 2–3 s).",
        allowed: intIn(500, 10000),
    },
    healthTimeoutMs: {
        type: "integer",
        default: 500,
        description: "Time a health check may take before it counts as failed (seed 004: under 0.5 s).",
        allowed: intIn(100, 5000),
    },
    maxFails: {
        type: "integer",
        default: 3,
        description: "Consecutive failed checks before a web node is taken out (nginx max_fails).",
        allowed: intIn(1, 10),
    },
    failTimeoutS: {
        type: "integer",
        default: 15,
        description: "Upper bound in seconds from a node's failure to its removal (nginx fail_timeout); must cover maxFails checks.",
        allowed: intIn(1, 300),
    },
    adminAllowlist: {
        type: "array",
        items: "string",
        default: [],
        description:
            "CIDRs allowed to reach /bitrix/admin, the status page and /probe/ (enforced at the balancer, judged by the client address). Required: behind a NAT, a TCP load balancer or docker-proxy every client looks private, so there is no private-range default, except on a Docker stack with devStack. 0.0.0.0/0 or ::/0 needs adminAllowlistAllowAll.",
        allowed: (v: unknown[]) =>
            v.every((c) => typeof c === "string" && isCidr(c)) ? undefined : 'a list of CIDRs such as "203.0.113.0/24" or "2001:db8::/32"',
    },
    adminAllowlistAllowAll: {
        type: "boolean",
        default: false,
        description:
            "Confirms an adminAllowlist with 0.0.0.0/0 or ::/0, which opens the admin pages, the status page and /probe/ to every address.",
        allowed: (v: unknown) => (typeof v === "boolean" ? undefined : "true or false"),
    },
    devStack: {
        type: "boolean",
        default: false,
        description:
            "A local development stack (placement docker only): with adminAllowlist empty, loopback and the private ranges (10/8, 172.16/12, 192.168/16) reach the admin pages. Never on a stack others can reach.",
        allowed: (v: unknown) => (typeof v === "boolean" ? undefined : "true or false"),
    },
    serverName: {
        type: "string",
        default: "localhost",
        description: "Host name of the portal.",
        allowed: (v: string) => (isHostname(v) ? undefined : "a DNS host name"),
    },
    hstsMaxAgeS: {
        type: "integer",
        default: 31536000,
        description: "Strict-Transport-Security max-age; 0 leaves the header out.",
        allowed: intIn(0, 63072000),
    },
    tlsCertificate: {
        type: "string",
        secret: true,
        unset: "none: self-signed",
        secretInput: "< portal.crt",
        description:
            "tlsMode provided: PEM certificate chain of the portal (config secret), the portal's certificate first, not expired. Without it the balancers share a self-signed pair made by pulumi up (docs/tls.md).",
        allowed: (v: string) => certificateProblem(v),
    },
    tlsKey: {
        type: "string",
        secret: true,
        unset: "none: self-signed",
        secretInput: "< portal.key",
        description: "PEM private key of tlsCertificate's first certificate (config secret), unencrypted.",
        allowed: keyProblem,
    },
    tlsMode: {
        type: "string",
        default: "",
        description:
            'Where the portal\'s certificate comes from: "self-signed", "provided" (tlsCertificate and tlsKey) or "acme" (issued and renewed by an ACME CA over HTTP-01 through the floating address, see docs/tls.md); empty means provided when tlsCertificate is set, else self-signed.',
        allowed: oneOf("", "self-signed", "provided", "acme"),
    },
    acmeDirectory: {
        type: "string",
        default: "letsencrypt",
        description: `tlsMode acme: the CA's RFC 8555 directory, a preset (${Object.keys(ACME_PRESETS)
            .map((k) => `"${k}"`)
            .join(", ")}) or an https URL.`,
        allowed: (v: string) =>
            acmeDirectoryUrl(v)
                ? undefined
                : `${Object.keys(ACME_PRESETS)
                      .map((k) => `"${k}"`)
                      .join(", ")} or an https:// URL without credentials, quotes or spaces`,
    },
    acmeEmail: {
        type: "string",
        default: "",
        description: "tlsMode acme: contact e-mail of the ACME account (expiry notices); required with acme.",
        allowed: (v: string) =>
            v === "" || /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/.test(v)
                ? undefined
                : 'empty or an e-mail address such as "ops@example.com"',
    },
    acmeNames: {
        type: "array",
        items: "string",
        default: [],
        description:
            "tlsMode acme: the DNS names of the certificate, each with an A record to the floating address and port 80 reachable from the CA; empty means [serverName].",
        allowed: (v: unknown[]) =>
            v.every((n) => typeof n === "string" && isAcmeName(n)) && new Set(v).size === v.length
                ? undefined
                : 'a list of distinct DNS names such as "portal.example.com" (two or more labels; no IP address, no wildcard: HTTP-01 cannot validate those)',
    },
    acmeDirectoryCa: {
        type: "string",
        default: "",
        description:
            "tlsMode acme: PEM roots that sign the directory's own HTTPS certificate, for a private CA (empty: the system's roots).",
        allowed: (v: string) => (v === "" || certificateProblem(v, new Date(0)) === undefined ? undefined : "empty or PEM certificates"),
    },
    acmeEabKid: {
        type: "string",
        secret: true,
        unset: "none: no EAB",
        description: "tlsMode acme: External Account Binding key id, for CAs that require one (config secret).",
        allowed: (v: string) => (/^[A-Za-z0-9._~-]{1,256}$/.test(v) ? undefined : "1–256 characters of A-Z, a-z, 0-9, . _ ~ -"),
    },
    acmeEabHmac: {
        type: "string",
        secret: true,
        unset: "none: no EAB",
        description: "tlsMode acme: External Account Binding MAC key, base64url without padding (config secret); with acmeEabKid.",
        allowed: (v: string) =>
            /^[A-Za-z0-9_-]{16,512}$/.test(v) ? undefined : "a base64url key without padding (A-Z, a-z, 0-9, _ and -), 16–512 characters",
    },

    bindAddress: {
        type: "string",
        default: "127.0.0.1",
        description: "Host address the published ports bind to.",
        allowed: (v: string) => (isIpv4(v) ? undefined : 'an IPv4 address in dotted form, such as "127.0.0.1"'),
    },
    httpPort: { type: "integer", default: 8080, description: "Published HTTP port (redirects to HTTPS).", allowed: intIn(1, 65535) },
    httpsPort: { type: "integer", default: 8443, description: "Published HTTPS port.", allowed: intIn(1, 65535) },
    statusPort: { type: "integer", default: 8404, description: "Published port of the balancer's status page.", allowed: intIn(1, 65535) },
    dbPortBase: {
        type: "integer",
        default: 0,
        description: "First published database port (master, then each replica); 0 publishes none.",
        allowed: port,
    },
    sentinelPortBase: { type: "integer", default: 0, description: "First published Sentinel port; 0 publishes none.", allowed: port },

    dbEngine: {
        type: "string",
        default: "percona",
        description: "Database engine: Percona Server 8.0, or MariaDB from Debian (the local stand-in).",
        allowed: oneOf("percona", "mariadb"),
    },
    dbReplicas: { type: "integer", default: 1, description: "Number of database replicas.", allowed: intIn(1, 8) },
    dbName: {
        type: "string",
        default: "bitrix",
        description:
            "Application database; not one of MySQL's own schemas (mysql, information_schema, performance_schema, sys), in any case.",
        allowed: (v: string) =>
            isIdentifier(v, 64) && !RESERVED_DB_NAMES.includes(v.toLowerCase())
                ? undefined
                : `a SQL identifier: a letter or _, then letters, digits or _, at most 64; not reserved (${RESERVED_DB_NAMES.join(", ")}, in any case)`,
    },
    dbUser: {
        type: "string",
        default: "bitrix",
        description: "Application database user; not one of the cluster's own logins (root, replicator, exporter, failover).",
        allowed: (v: string) =>
            isIdentifier(v, 32) && !RESERVED_DB_USERS.includes(v)
                ? undefined
                : `a SQL identifier: a letter or _, then letters, digits or _, at most 32; not reserved (${RESERVED_DB_USERS.join(", ")})`,
    },
    dbRedoLogMb: {
        type: "integer",
        default: 1024,
        description: "InnoDB redo log size in MB (seed 002: 512 MB–2 GB for a medium portal).",
        allowed: intIn(64, 65536),
    },
    dbBufferPoolMb: { type: "integer", default: 512, description: "InnoDB buffer pool in MB.", allowed: intIn(64, 1048576) },
    semiSyncTimeoutMs: {
        type: "integer",
        default: 1000,
        description: "How long the master waits for a replica's ack before committing without it.",
        allowed: intIn(100, 600000),
    },
    dbFailover: {
        type: "boolean",
        default: true,
        description:
            "Automatic database failover: every server starts read-only, the db-failover manager opens the master and promotes the most advanced replica when the master is gone; web nodes write to whichever server is writable. false: the master is fixed (manual failover).",
    },
    dbBinlogStream: {
        type: "boolean",
        default: false,
        description:
            "Point-in-time recovery: the binlog-stream service copies the writable server's binary log as it is written (following failovers), so npm run restore -- --to <time> can restore a backup and replay up to that second. Docker: its own container and volume; hosts: on the first replica's host. Needs dbEngine mariadb.",
    },
    perconaImage: {
        type: "string",
        default: "percona/percona-server:8.0.36-28",
        description: "Percona Server image (engine percona).",
        allowed: (v: string) =>
            /^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9._-]+$/.test(v)
                ? undefined
                : 'an image reference with a tag, such as "percona/percona-server:8.0.36-28"',
    },
    perconaXtrabackupImage: {
        type: "string",
        // XtraBackup 8.0.35-3x backs up Percona Server 8.0.34 and any later 8.0 release, 8.0.36 included
        // (https://docs.percona.com/percona-xtrabackup/8.0/supported-versions.html); 8.0.35-33 is the tag Percona's
        // Operator for MySQL 0.11.0 certifies beside percona/percona-server:8.0.36-28 (its release notes' image list).
        default: "percona/percona-xtrabackup:8.0.35-33",
        description:
            "Percona XtraBackup 8.0 image that takes and puts back physical backups (npm run backup -- --method physical) beside the Percona containers on Docker; XtraBackup 8.0.34 or later backs up Percona Server 8.0.34 and later.",
        allowed: (v: string) =>
            /^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9._-]+$/.test(v)
                ? undefined
                : 'an image reference with a tag, such as "percona/percona-xtrabackup:8.0.35-33"',
    },

    redisReplicas: { type: "integer", default: 2, description: "Redis replicas beside the master.", allowed: intIn(1, 8) },
    sentinels: {
        type: "integer",
        default: 3,
        description: "Number of Redis Sentinels.",
        allowed: (v: number) => (Number.isInteger(v) && v >= 3 && v <= 9 && v % 2 === 1 ? undefined : "an odd integer from 3 to 9"),
    },
    sentinelQuorum: {
        type: "integer",
        default: 0,
        description: "Sentinels that must agree the master is down; 0 means a majority.",
        allowed: intIn(0, 9),
    },
    sentinelDownAfterMs: { type: "integer", default: 2000, description: "Sentinel down-after-milliseconds.", allowed: intIn(1000, 600000) },
    sentinelFailoverTimeoutMs: {
        type: "integer",
        default: 60000,
        description: "Sentinel failover-timeout in ms.",
        allowed: intIn(5000, 3600000),
    },
    redisMaxMemoryMb: {
        type: "integer",
        default: 256,
        description:
            "maxmemory of each Redis node in MB; when full, keys with a TTL (cache and sessions) are evicted, so size it for every live session.",
        allowed: intIn(16, 1048576),
    },

    pushServers: {
        type: "integer",
        default: 0,
        description:
            'Push & Pull: number of push services (docs/push.md); 0 runs none. Needs pushImage (Docker) or pushArchive and as many hosts with role "push" (hosts).',
        allowed: intIn(0, 8),
    },
    pushImage: {
        type: "string",
        default: "",
        description:
            'Push & Pull: the push server\'s container image (Bitrix ships it with its environment only, so you supply it), e.g. "registry.example.com/bitrix/push-server:2.0"; it starts a sub and a pub listener from /etc/push-server (docs/push.md).',
        allowed: (v: string) =>
            v === "" || /^[a-z0-9][a-z0-9._/:-]*(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$/.test(v)
                ? undefined
                : 'empty, or an image reference with a tag or digest, such as "registry.example.com/bitrix/push-server:2.0"',
    },
    pushArchive: {
        type: "string",
        default: "",
        description:
            'Push & Pull on placement hosts: path (where pulumi runs) of the push server\'s tarball (.tar.gz or .tgz, supplied by you) with an executable "start" at its top level; uploaded to every push host, unpacked to /opt/bitrix-cluster/push-server and run as the user bitrix-push (docs/push.md).',
    },
    pushTunnelTimeoutS: {
        type: "integer",
        default: 3600,
        description:
            "Push & Pull: seconds an idle websocket stays open at the balancers (HAProxy timeout tunnel); the push server pings every 120 s.",
        allowed: intIn(300, 86400),
    },
    pushMemoryMb: {
        type: "integer",
        default: 256,
        description: "Push & Pull: memory limit of a push service; 0 = unlimited.",
        allowed: memory,
    },

    sharedStorage: {
        type: "string",
        default: "nfs",
        description:
            'How web nodes reach the shared paths: "nfs" (mounted from the cluster\'s NFS server), "docker-volume" (placement docker: one Docker volume, single Docker host) or "external" (placement hosts: already mounted on every web host at the docroot paths, e.g. your NAS; no NFS server).',
        allowed: oneOf("nfs", "docker-volume", "external"),
    },
    sharedPaths: {
        type: "array",
        items: "string",
        default: ["upload", "bitrix/cache"],
        description: "Docroot-relative paths every web node shares.",
        allowed: (v: unknown[]) =>
            v.length > 0 && v.every((p) => typeof p === "string" && /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(p) && !isCodeTree(p))
                ? undefined
                : "a non-empty list of relative data paths such as \"upload\" (letters, digits, _, -, /; no '..'; not a PHP code tree such as bitrix, bitrix/modules or local, since shared paths never execute PHP)",
    },

    dockerSubnet: {
        type: "string",
        default: "172.28.0.0/24",
        description:
            "Subnet of the stack's Docker network; give each stack on one host its own. Refused when it overlaps Docker's default bridge (172.17.0.0/16) or another Docker stack's subnet in this project's Pulumi.<stack>.yaml files.",
        allowed: (v: string) =>
            isCidr(v) && isIpv4(v.split("/")[0]) && Number(v.split("/")[1]) <= 26 && isNetworkAddress(v)
                ? undefined
                : 'an IPv4 network of /26 or larger, written with its network address, such as "172.28.0.0/24"',
    },
    dockerLogs: {
        type: "string",
        default: "local",
        description:
            'How containers log: "local" is Docker\'s rotated, compressed driver capped at `dockerLogMaxMb` per container (`docker logs` reads it; a balancer logs every request, and Docker\'s default `json-file` never rotates); "daemon" leaves it to the engine\'s own default (its daemon.json), for logs shipped centrally.',
        allowed: (v: string) => (v === "local" || v === "daemon" ? undefined : '"local" or "daemon"'),
    },
    dockerLogMaxMb: {
        type: "integer",
        default: 100,
        description:
            "With `dockerLogs: local`: the most disk one container's log takes, in MB (5 files of a fifth each; the oldest is dropped).",
        allowed: (v: number) => (Number.isInteger(v) && v >= 5 && v <= 100_000 ? undefined : "an integer from 5 to 100000"),
    },
    monitoring: {
        type: "boolean",
        default: true,
        description: "Run the Monitoring layer: Prometheus, Alertmanager and exporters for every layer, with the seeds' alert rules.",
        allowed: (v: unknown) => (typeof v === "boolean" ? undefined : "true or false"),
    },
    prometheusPort: {
        type: "integer",
        default: 9090,
        description: "Published port of Prometheus (monitoring on).",
        allowed: intIn(1, 65535),
    },
    alertmanagerPort: {
        type: "integer",
        default: 9093,
        description: "Published port of Alertmanager (monitoring on).",
        allowed: intIn(1, 65535),
    },
    alertWebhookUrls: {
        type: "array",
        items: "string",
        secret: true,
        unset: "none: no webhook",
        secretInput: `'["https://..."]'`,
        description:
            "URLs that receive every alert as Alertmanager's webhook JSON (config secret: a URL can carry a token), as a JSON list.",
        allowed: (v: unknown[]) =>
            Array.isArray(v) && v.every((u) => typeof u === "string" && /^https?:\/\/[^\s]+$/.test(u))
                ? undefined
                : "a list of http(s) URLs",
    },
    alertEmailTo: {
        type: "string",
        default: "",
        description: "E-mail address that receives every alert; empty sends none. Needs alertSmarthost.",
        allowed: (v: string) => (v === "" || /^[^\s@]+@[^\s@]+$/.test(v) ? undefined : "empty or an e-mail address"),
    },
    alertEmailFrom: {
        type: "string",
        default: "",
        description: "Sender of alert e-mails; empty means alertmanager@<serverName>.",
        allowed: (v: string) => (v === "" || /^[^\s@]+@[^\s@]+$/.test(v) ? undefined : "empty or an e-mail address"),
    },
    alertSmarthost: {
        type: "string",
        default: "",
        description: "SMTP server for alert e-mails as host:port (STARTTLS required).",
        allowed: (v: string) =>
            v === "" || /^[A-Za-z0-9.-]+:\d{1,5}$/.test(v) ? undefined : 'empty or host:port such as "smtp.example.com:587"',
    },
    alertSmtpUser: {
        type: "string",
        default: "",
        description: "SMTP login for alert e-mails; empty sends without authentication.",
        allowed: (v: string) => (!/[\s]/.test(v) ? undefined : "no spaces"),
    },
    alertSmtpPassword: {
        type: "string",
        secret: true,
        unset: "none",
        description: "SMTP password for alert e-mails (config secret).",
        allowed: password,
    },
    backupRepository: {
        type: "string",
        secret: true,
        unset: "none: ~/.bitrix-cluster/backups",
        description:
            "restic repository of `npm run backup` (config secret: a location can carry a login; a directory, or any restic location such as sftp:host:/path); unset means ~/.bitrix-cluster/backups.",
        allowed: (v: string) => (!/[\r\n\0]/.test(v) ? undefined : "a restic repository location on one line"),
    },
    backupKeepWithin: {
        type: "string",
        default: "7d",
        description:
            "Backups `npm run backup` keeps (restic --keep-within): at least 48 hours, as the seeds ask of the pre-update snapshot.",
        allowed: (v: string) => {
            const m = /^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)d)?(?:(\d+)h)?$/.exec(v);
            const hours = m ? Number(m[1] ?? 0) * 8760 + Number(m[2] ?? 0) * 720 + Number(m[3] ?? 0) * 24 + Number(m[4] ?? 0) : 0;
            return v !== "" && m && hours >= 48 ? undefined : 'a restic duration of at least 48 hours, such as "48h", "7d" or "1m"';
        },
    },
    backupMethod: {
        type: "string",
        default: "logical",
        description:
            "What `npm run backup` takes when not told (--method), the scheduled run included: logical (a dump) or physical (mariadb-backup/xtrabackup on a replica; needs a replica and dbFailover).",
        allowed: oneOf("logical", "physical"),
    },
    backupOnCalendar: {
        type: "string",
        default: "*-*-* 02:30",
        description:
            "When the scheduled backup runs (systemd.time(7) calendar expression), read by `npm run backup:schedule` when it writes the timer (run it again after a change); systemd-analyze calendar checks it then.",
        allowed: (v: string) =>
            /^[A-Za-z0-9*,.:/~ -]{1,100}$/.test(v) ? undefined : 'a systemd calendar expression, such as "*-*-* 02:30" or "Mon..Sat 01:00"',
    },
    allowDataLoss: {
        type: "boolean",
        default: false,
        description:
            "Let `pulumi up` and `pulumi destroy` replace or delete the volumes that hold data (databases, Redis, shared trees, docroots). Off, they are protected: a preview or update that would destroy one fails. Turn it on and run `pulumi up` once before `pulumi destroy`.",
        allowed: (v: unknown) => (typeof v === "boolean" ? undefined : "true or false"),
    },
    retainDataVolumes: {
        type: "boolean",
        default: true,
        description: "Keep database, Redis and NFS volumes on `pulumi destroy`.",
        allowed: (v: unknown) => (typeof v === "boolean" ? undefined : "true or false"),
    },
    balancerMemoryMb: {
        type: "integer",
        default: 256,
        description: "Memory limit of a balancer (container limit, or the systemd unit's MemoryMax on hosts); 0 = unlimited.",
        allowed: memory,
    },
    webMemoryMb: {
        type: "integer",
        default: 1024,
        description: "Memory limit of a web node (container limit, or the systemd unit's MemoryMax on hosts); 0 = unlimited.",
        allowed: memory,
    },
    nfsMemoryMb: {
        type: "integer",
        default: 512,
        description: "Memory limit of the NFS server (container limit, or the systemd unit's MemoryMax on hosts); 0 = unlimited.",
        allowed: memory,
    },
    dbMemoryMb: {
        type: "integer",
        default: 2048,
        description: "Memory limit of a database (container limit, or the systemd unit's MemoryMax on hosts); 0 = unlimited.",
        allowed: memory,
    },
    monitoringMemoryMb: {
        type: "integer",
        default: 768,
        description: "Memory limit of the monitoring service (container limit, or the systemd unit's MemoryMax on hosts); 0 = unlimited.",
        allowed: memory,
    },
    redisMemoryMb: {
        type: "integer",
        default: 512,
        description: "Memory limit of a Redis or Sentinel (container limit, or the systemd unit's MemoryMax on hosts); 0 = unlimited.",
        allowed: memory,
    },

    dbPassword: {
        type: "string",
        secret: true,
        unset: "none: random",
        description: "Application DB password (config secret); random when unset.",
        allowed: password,
    },
    dbRootPassword: {
        type: "string",
        secret: true,
        unset: "none: random",
        description:
            "DB root password (config secret); random when unset. No quotes or backslashes: the Percona image writes it into SQL unescaped.",
        allowed: (v: string) =>
            password(v) ?? (/['"\\`]/.test(v) ? "no quotes or backslashes (the Percona image puts it into SQL unescaped)" : undefined),
    },
    dbReplicationPassword: {
        type: "string",
        secret: true,
        unset: "none: random",
        description: "Replication user's password (config secret); random when unset.",
        allowed: password,
    },
    pushSecurityKey: {
        type: "string",
        secret: true,
        unset: "none: random",
        description:
            "Push & Pull: the signature key shared by the push servers and the pull module (config secret); random when unset. Letters and digits only, 32 to 256 of them.",
        allowed: (v: string) =>
            /^[A-Za-z0-9]{32,256}$/.test(v)
                ? undefined
                : "32 to 256 letters and digits (the push server's key allows no other characters; a short key is guessable)",
    },
    redisPassword: {
        type: "string",
        secret: true,
        unset: "none: random",
        description:
            "Redis and Sentinel password (config secret); random when unset. No spaces, quotes or backslashes: Sentinel writes it back into its config unquoted.",
        allowed: (v: string) =>
            password(v) ??
            (/[\s'"\\]/.test(v) ? "no spaces, quotes or backslashes (Sentinel rewrites its config without quoting them)" : undefined),
    },
} satisfies Record<string, KeySpec>;

export type KeyName = keyof typeof KEYS;
export const KEY_NAMES = Object.keys(KEYS) as KeyName[];

/** The plain value a key's spec describes. */
type PlainValue<S> = S extends { type: "integer" }
    ? number
    : S extends { type: "boolean" }
      ? boolean
      : S extends { type: "array"; items: "integer" }
        ? number[]
        : S extends { type: "array"; items: "object" }
          ? unknown[]
          : S extends { type: "array" }
            ? string[]
            : string;
/** A key's value once validated: a secret as a secret Output, a key without default possibly unset. */
type ValidValue<S> = S extends { secret: true }
    ? pulumi.Output<PlainValue<S>> | undefined
    : S extends { default: unknown }
      ? PlainValue<S>
      : PlainValue<S> | undefined;
/** Every key's validated value (what the validator's checks between keys and its `build` read). */
export type KeyValues = { [K in KeyName]: ValidValue<(typeof KEYS)[K]> };
