/** nginx site of a web node: serves the docroot and hands PHP to PHP-FPM over a local socket. */

export interface WebNginxInput {
    listenPort: number;
    docroot: string;
    fpmSocket: string;
    uploadMaxMb: number;
    /** Addresses whose X-Forwarded-For is trusted (the balancers' own). */
    trustedProxies: string[];
    healthPath: string;
    /** PHP-FPM status and ping paths: answered to the node itself only, never through the balancer. */
    fpmStatusPath: string;
    fpmPingPath: string;
    /** Docroot-relative shared paths: no PHP is ever executed from them. */
    sharedPaths: string[];
    /**
     * A second server on `port` that answers PHP-FPM's status page in OpenMetrics format (PHP 8.1+) to the
     * monitoring service's addresses only; the balancer never sends traffic to this port. @default none
     */
    metrics?: { port: number; allow: string[] };
}

/** URIs (regular expressions on nginx's $uri) refused on every path: dotfiles but .well-known, Bitrix's settings
 * files, its PHP config tree and its backups. */
export const DENIED_URIS = ["/\\.(?!well-known(/|$))", "^/bitrix/(\\.settings|php_interface(/|$)|backup(/|$))"];

export function webNginxConfig(input: WebNginxInput): string {
    // One location per path (a repeat would be a duplicate location, which nginx refuses).
    const noPhp = [...new Set(input.sharedPaths)].map((p) =>
        [
            `    location ^~ /${p}/ {`,
            "        # Shared, user-writable tree: serve files, never execute them.",
            "        location ~* \\.(php|phtml|phar)$ { return 403; }",
            "    }",
        ].join("\n"),
    );
    return [
        "# HTTPS=on for PHP when the balancer terminated TLS (Bitrix reads $_SERVER['HTTPS']).",
        "map $http_x_forwarded_proto $forwarded_https {",
        "    https on;",
        '    default "";',
        "}",
        "",
        "server {",
        `    listen ${input.listenPort} default_server;`,
        "    server_name _;",
        `    root ${input.docroot};`,
        "    index index.php index.html;",
        "    # Room for the multipart overhead around a file of upload_max_filesize (post_max_size is the same).",
        `    client_max_body_size ${input.uploadMaxMb + 1}m;`,
        "    server_tokens off;",
        "",
        "    # Client address from the balancer.",
        ...input.trustedProxies.map((p) => `    set_real_ip_from ${p};`),
        "    real_ip_header X-Forwarded-For;",
        "    real_ip_recursive on;",
        "",
        "    # Secrets and internals are never served. Checked here, before a location is chosen (server-level rewrite",
        "    # phase, on the decoded and normalised URI), so no location can serve them: a shared path's ^~ location",
        "    # would skip a regex deny, and a longer prefix (bitrix/backup/daily) would win over a shorter deny.",
        ...DENIED_URIS.map((re) => `    if ($uri ~ "${re}") { return 403; }`),
        "",
        ...noPhp,
        "",
        `    location ~ ^(${input.fpmStatusPath}|${input.fpmPingPath})$ {`,
        "        allow 127.0.0.1;",
        "        deny all;",
        "        access_log off;",
        "        include /etc/nginx/fastcgi_params;",
        "        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;",
        `        fastcgi_pass unix:${input.fpmSocket};`,
        "    }",
        "",
        `    location = ${input.healthPath} {`,
        "        access_log off;",
        "        include /etc/nginx/fastcgi_params;",
        "        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;",
        `        fastcgi_pass unix:${input.fpmSocket};`,
        "        fastcgi_read_timeout 2s;",
        "    }",
        "",
        "    location ~ \\.php$ {",
        "        try_files $uri =404;",
        "        include /etc/nginx/fastcgi_params;",
        "        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;",
        "        fastcgi_param HTTPS $forwarded_https if_not_empty;",
        `        fastcgi_pass unix:${input.fpmSocket};`,
        "        fastcgi_read_timeout 300s;",
        "    }",
        "",
        "    # Bitrix front controller for friendly URLs.",
        "    location / {",
        "        try_files $uri $uri/ /bitrix/urlrewrite.php$is_args$args;",
        "    }",
        "}",
        "",
        ...(input.metrics
            ? [
                  "# PHP-FPM's status as OpenMetrics, for Prometheus only.",
                  "server {",
                  `    listen ${input.metrics.port};`,
                  "    server_name _;",
                  `    root ${input.docroot};`,
                  "    server_tokens off;",
                  "    access_log off;",
                  `    location = ${input.fpmStatusPath} {`,
                  ...input.metrics.allow.map((a) => `        allow ${a};`),
                  "        deny all;",
                  "        set $args openmetrics;",
                  "        include /etc/nginx/fastcgi_params;",
                  "        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;",
                  `        fastcgi_pass unix:${input.fpmSocket};`,
                  "    }",
                  "    location / { return 404; }",
                  "}",
                  "",
              ]
            : []),
    ].join("\n");
}
