/**
 * What each role needs on a host, for the two families users run Bitrix on: Debian 12 (apt; the same packages the
 * images install, a test keeps them in step with images/<role>/Dockerfile) and the RHEL 9 family that BitrixVM
 * uses — CentOS Stream 9, Rocky, Alma (dnf, with EPEL, Remi's PHP 8.2 module and the CentOS Storage SIG's
 * nfs-ganesha). Percona Server comes from Percona's own repository on both.
 */
import { shellQuote } from "../shared/shell";
import { HOST_LOG_DIR } from "./systemdUnit";
export type HostRole = "balancer" | "web" | "nfs" | "db" | "redis" | "monitoring" | "push" | "acme";
export type DbEngine = "percona" | "mariadb";
export type Family = "apt" | "dnf";

export interface RolePackages {
    /** Commands that enable the repositories the packages come from (idempotent). */
    repos: string[];
    packages: string[];
    /** The distribution's own units for these daemons: stopped and masked, our unit runs the daemon. */
    distroUnits: string[];
    /**
     * Data directories the packages initialise on install (the database's). Emptied right after a first install
     * when they did not exist before it, so the cluster's first start initialises them with the generated SQL;
     * a directory that held data before is never touched.
     */
    freshDataDirs?: string[];
    /** System users (no login, no home) the role's services run as, made before any file is written. */
    systemUsers?: string[];
}

/** The user the push services run as on hosts (never root; it reads their configs through its group). */
export const PUSH_SERVICE_USER = "bitrix-push";

/** What every host gets: the firewall (nftables), log rotation for the units' log files, mountpoint (util-linux). */
export const COMMON_PACKAGES = ["nftables", "logrotate", "util-linux"];

/** The monitoring service's daemons (Debian's packages). */
const MONITORING_PACKAGES = [
    "prometheus",
    "prometheus-alertmanager",
    "prometheus-blackbox-exporter",
    "prometheus-redis-exporter",
    "prometheus-mysqld-exporter",
    "prometheus-node-exporter",
];

/** Every machine's node-exporter with the Monitoring layer on: the distribution's package and unit, as they come. */
export const NODE_EXPORTER = {
    apt: { package: "prometheus-node-exporter", unit: "prometheus-node-exporter" },
    dnf: { package: "golang-github-prometheus-node-exporter", unit: "node_exporter" },
};

/** Rotation of the units' log files (copytruncate: the daemons keep their file open). */
export const LOGROTATE_RULE = `${HOST_LOG_DIR}/*.log {
    daily
    rotate 7
    compress
    delaycompress
    missingok
    notifempty
    copytruncate
}
`;

const PHP_APT = [
    "php8.2-fpm",
    "php8.2-mysql",
    "php8.2-redis",
    "php8.2-opcache",
    "php8.2-mbstring",
    "php8.2-xml",
    "php8.2-gd",
    "php8.2-curl",
    "php8.2-zip",
    "php8.2-intl",
];
const PHP_DNF = [
    "php-fpm",
    "php-mysqlnd",
    "php-pecl-redis6",
    "php-opcache",
    "php-mbstring",
    "php-xml",
    "php-gd",
    "php-pecl-zip",
    "php-intl",
];
/**
 * Percona's repositories: `setup ps80` turns every other Percona location off and Percona Server 8.0's on, then
 * `enable tools release` adds the one Percona XtraBackup 8.0 (package percona-xtrabackup-80) comes from, as Percona's
 * own example for Percona Server 8.0 with XtraBackup does (https://docs.percona.com/percona-software-repositories/percona-release.html:
 * "enable-only ps-80 release", "enable tools release", then apt update and install percona-xtrabackup-80;
 * https://docs.percona.com/percona-xtrabackup/8.0/apt-repo.html and yum-repo.html: the tools repository,
 * percona-xtrabackup-80). apt needs its lists read again after `enable`; dnf reads the new repository itself.
 */
const PERCONA_REPO = {
    apt: [
        "command -v percona-release >/dev/null || { apt-get install -y -q curl gnupg2 lsb-release && curl -fsSLo /tmp/percona-release.deb https://repo.percona.com/apt/percona-release_latest.generic_all.deb && apt-get install -y /tmp/percona-release.deb; }",
        "percona-release setup -y ps80",
        "percona-release enable tools release && apt-get update -q",
    ],
    dnf: [
        "command -v percona-release >/dev/null || dnf install -y https://repo.percona.com/yum/percona-release-latest.noarch.rpm",
        "percona-release setup -y ps80",
        "percona-release enable tools release",
    ],
};
/** Percona XtraBackup 8.0, the physical backups' tool beside Percona Server 8.0 (tools/backup/physical.ts). */
export const PERCONA_XTRABACKUP_PACKAGE = "percona-xtrabackup-80";
const EPEL = "rpm -q epel-release >/dev/null || dnf install -y epel-release";
const REMI_PHP = [
    "rpm -q remi-release >/dev/null || dnf install -y https://rpms.remirepo.net/enterprise/remi-release-9.rpm",
    "dnf module reset -y php && dnf module enable -y php:remi-8.2",
];

/** Packages, repositories and distribution units of a role on a family. */
export function rolePackages(role: HostRole, family: Family, engine: DbEngine = "percona"): RolePackages {
    const apt = family === "apt";
    switch (role) {
        case "balancer":
            return {
                repos: [],
                packages: ["haproxy", "keepalived", "nftables", "openssl", "curl", "ca-certificates", "socat"],
                distroUnits: ["haproxy", "keepalived"],
            };
        case "acme":
            // lego issues, openssl checks, busybox serves the metrics, ssh pushes to the other balancer hosts (tlsMode acme).
            // RHEL: lego from EPEL; not tried.
            return {
                repos: apt ? [] : [EPEL],
                packages: ["lego", "openssl", "busybox", "ca-certificates", "openssh-client"],
                distroUnits: [],
            };
        case "web":
            return apt
                ? {
                      repos: [],
                      packages: ["nginx", ...PHP_APT, "haproxy", "supervisor", "curl", "ca-certificates"],
                      distroUnits: ["nginx", "php8.2-fpm", "haproxy", "supervisor"],
                  }
                : {
                      repos: [EPEL, ...REMI_PHP],
                      packages: ["nginx", ...PHP_DNF, "haproxy", "supervisor", "curl", "ca-certificates"],
                      distroUnits: ["nginx", "php-fpm", "haproxy", "supervisord"],
                  };
        case "nfs":
            return apt
                ? { repos: [], packages: ["nfs-ganesha", "nfs-ganesha-vfs"], distroUnits: ["nfs-ganesha"] }
                : {
                      repos: ["rpm -q centos-release-nfs-ganesha5 >/dev/null || dnf install -y centos-release-nfs-ganesha5"],
                      packages: ["nfs-ganesha", "nfs-ganesha-vfs"],
                      distroUnits: ["nfs-ganesha"],
                  };
        case "db":
            if (engine === "percona") {
                // xtrabackup takes physical backups on the machine, as mariadb-backup does for MariaDB.
                return {
                    repos: apt ? PERCONA_REPO.apt : PERCONA_REPO.dnf,
                    packages: ["percona-server-server", PERCONA_XTRABACKUP_PACKAGE],
                    distroUnits: ["mysql", "mysqld"],
                    freshDataDirs: ["/var/lib/mysql"],
                };
            }
            // Python and PyMySQL run the failover manager (db-failover) on the first replica's host; mariadb-backup
            // takes physical backups (as in the image).
            return {
                repos: [],
                packages: ["mariadb-server", "mariadb-backup", "python3-pymysql", "python3-cryptography"],
                distroUnits: ["mariadb"],
                freshDataDirs: ["/var/lib/mysql"],
            };
        case "monitoring":
            // Supervisord runs them with the generated configs; each machine's node-exporter is its own (installScript).
            // RHEL: the same package names, from EPEL and the distribution; not tried.
            return {
                repos: apt ? [] : [EPEL],
                packages: [...MONITORING_PACKAGES, "supervisor", "curl", "ca-certificates"],
                distroUnits: [
                    "prometheus",
                    "prometheus-alertmanager",
                    "prometheus-blackbox-exporter",
                    "prometheus-redis-exporter",
                    "prometheus-mysqld-exporter",
                    apt ? "supervisor" : "supervisord",
                ],
            };
        case "push":
            // Node.js runs the user's push server (its own modules come in its tarball, docs/push.md); Redis is the
            // push Redis on the first push host; curl is the start step's health check.
            return apt
                ? {
                      repos: [],
                      packages: ["nodejs", "redis-server", "redis-tools", "curl", "ca-certificates"],
                      distroUnits: ["redis-server"],
                      systemUsers: [PUSH_SERVICE_USER],
                  }
                : { repos: [EPEL], packages: ["nodejs", "redis", "curl"], distroUnits: ["redis"], systemUsers: [PUSH_SERVICE_USER] };
        case "redis":
            return apt
                ? {
                      repos: [],
                      packages: ["redis-server", "redis-sentinel", "redis-tools"],
                      distroUnits: ["redis-server", "redis-sentinel"],
                  }
                : { repos: [EPEL], packages: ["redis"], distroUnits: ["redis", "redis-sentinel"] };
    }
}

/**
 * An idempotent install script for a host's roles: detects the family from /etc/os-release, enables the
 * repositories, installs only what is missing (no daemon starts on install), then stops and masks the
 * distribution's own units so only the cluster's units run the daemons. Safe to run on every `pulumi up`.
 */
/** The port Debian's (and the monitoring image's) node-exporter listens on. */
export const NODE_EXPORTER_PORT = 9100;

export function installScript(roles: HostRole[], engine: DbEngine, opts: { nodeExporter?: boolean } = {}): string {
    const unique = [...new Set(roles)];
    const family = (f: Family) => {
        const all = unique.map((r) => rolePackages(r, f, engine));
        const repos = [...new Set(all.flatMap((p) => p.repos))];
        const packages = [...new Set([...all.flatMap((p) => p.packages), ...(opts.nodeExporter ? [NODE_EXPORTER[f].package] : [])])];
        const units = [...new Set(all.flatMap((p) => p.distroUnits))];
        return { repos, packages: [...COMMON_PACKAGES, ...packages], units };
    };
    const users = [...new Set(unique.flatMap((r) => rolePackages(r, "apt", engine).systemUsers ?? []))];
    const apt = family("apt");
    const dnf = family("dnf");
    const lines = (xs: string[], indent = "    ") => xs.map((x) => `${indent}${x}`).join("\n");
    const fresh = [...new Set(unique.flatMap((r) => rolePackages(r, "apt", engine).freshDataDirs ?? []))];
    return `#!/bin/sh
# Generated by bitrix-cluster: packages for roles ${unique.join(", ")} (engine ${engine}).
set -eu
# Package managers' chatter goes to stderr; stdout carries only the result line.
exec 3>&1 1>&2
. /etc/os-release
fresh=""${
        fresh.length
            ? `
# Data directories that do not exist yet: a package's install may initialise them, the cluster's first start must.
for d in ${fresh.join(" ")}; do
    [ -e "$d" ] || fresh="$fresh $d"
done`
            : ""
    }
case " \${ID:-} \${ID_LIKE:-} " in
  *" debian "*|*" ubuntu "*)
    missing=""
    for p in ${apt.packages.join(" ")}; do
        dpkg-query -W -f='\${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        # Packages must not start their daemons: the cluster's own units do, with the generated config.
        printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
${lines(apt.repos, "        ")}
        apt-get install -y -q --no-install-recommends $missing
    fi
    units="${apt.units.join(" ")}"
    ;;
  *" rhel "*|*" centos "*|*" fedora "*|*" rocky "*|*" almalinux "*)
${lines(dnf.repos)}
    missing=""
    for p in ${dnf.packages.join(" ")}; do
        rpm -q "$p" >/dev/null 2>&1 || missing="$missing $p"
    done
    [ -z "$missing" ] || dnf install -y $missing
    units="${dnf.units.join(" ")}"
    ;;
  *)
    echo "bitrix-cluster: unsupported distribution \${PRETTY_NAME:-$ID} (Debian 12, or CentOS Stream / Rocky / Alma 9)" >&2
    exit 1
    ;;
esac
for d in $fresh; do
    if [ -d "$d" ] && [ ! -e "$d/.bitrix-cluster-initialized" ]; then
        find "$d" -mindepth 1 -delete
    fi
done
${users
    .map(
        (
            u,
        ) => `getent passwd ${u} >/dev/null || useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ${u}
`,
    )
    .join("")}mkdir -p ${HOST_LOG_DIR}
printf '%s' ${shellQuote(LOGROTATE_RULE)} > /etc/logrotate.d/bitrix-cluster
for u in $units; do
    if systemctl list-unit-files "$u.service" >/dev/null 2>&1; then
        systemctl disable --now "$u.service" >/dev/null 2>&1 || true
        systemctl mask "$u.service" >/dev/null
    fi
done
${
    opts.nodeExporter
        ? `# This machine's metrics for the Monitoring layer: the distribution's node-exporter unit, on port ${NODE_EXPORTER_PORT}.
case " \${ID:-} \${ID_LIKE:-} " in
  *" debian "*|*" ubuntu "*) systemctl enable --now ${NODE_EXPORTER.apt.unit}.service >/dev/null 2>&1 ;;
  *) systemctl enable --now ${NODE_EXPORTER.dnf.unit}.service >/dev/null 2>&1 ;;
esac
`
        : ""
}echo ${shellQuote(`installed: ${unique.join(", ")}`)} >&3
`;
}
