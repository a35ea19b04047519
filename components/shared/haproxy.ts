/** Pieces every generated HAProxy config shares (the balancer and the web nodes' Redis proxy). */

/** The unprivileged user every generated HAProxy switches to once its ports and sockets are open (Debian's and RHEL's
 * haproxy package create it), and the empty directory it locks itself into (the packages create that too). */
export const HAPROXY_USER = "haproxy";
export const HAPROXY_CHROOT = "/var/lib/haproxy";

/** How a generated HAProxy drops root. @default chroot: true */
export interface HaproxyPrivileges {
    /** false when something runs a program (an external check runs inside the chroot and would need it there). */
    chroot?: boolean;
}

/**
 * `global` section: logs to stdout (container-friendly), admin socket for drains and drills. HAProxy reads its
 * config, certificates and binds as root, then runs as `haproxy` (chrooted unless told not to); a reload re-executes
 * the master, which is still root.
 */
export function haproxyGlobal(maxconn: number, adminSocket: string, extra: string[] = [], privileges: HaproxyPrivileges = {}): string {
    return [
        "global",
        `    user ${HAPROXY_USER}`,
        `    group ${HAPROXY_USER}`,
        ...(privileges.chroot === false ? [] : [`    chroot ${HAPROXY_CHROOT}`]),
        ...extra,
        "    log stdout format raw local0 info",
        `    maxconn ${maxconn}`,
        `    stats socket ${adminSocket} mode 600 level admin expose-fd listeners`,
        "    stats timeout 30s",
        "    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets",
        "    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
        "    ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
        "",
    ].join("\n");
}

/**
 * A `resolvers` section so that server host names are re-resolved at run time (a replaced container gets a new
 * address). Without a resolver the names are resolved once at start.
 */
export function haproxyResolvers(resolver: string | undefined): string {
    if (!resolver) return "";
    return [
        "resolvers cluster",
        `    nameserver dns1 ${resolver}`,
        "    resolve_retries 3",
        "    timeout resolve 1s",
        "    timeout retry 1s",
        "    hold valid 5s",
        "    hold obsolete 10s",
        "",
    ].join("\n");
}

/** Options on every server line that tie it to the resolver (start even if a name does not resolve yet). */
export function resolverServerOptions(resolver: string | undefined): string {
    return resolver ? " resolvers cluster resolve-prefer ipv4 init-addr last,libc,none" : "";
}

/** `global` and, when there is a resolver, `resolvers`: the start of every generated HAProxy config. */
export function haproxyPreamble(
    maxconn: number,
    adminSocket: string,
    resolver: string | undefined,
    extraGlobals: string[] = [],
    privileges: HaproxyPrivileges = {},
): string {
    return haproxyGlobal(maxconn, adminSocket, extraGlobals, privileges) + haproxyResolvers(resolver);
}
