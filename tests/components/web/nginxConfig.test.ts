import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { webNginxConfig } from "../../../components/web/nginxConfig";

describe("webNginxConfig", () => {
    const cfg = webNginxConfig({
        listenPort: 80,
        docroot: "/var/www/html",
        fpmSocket: "/run/php/php8.2-fpm.sock",
        uploadMaxMb: 64,
        trustedProxies: ["172.28.0.11", "172.28.0.12"],
        healthPath: "/healthz.php",
        fpmStatusPath: "/fpm-status",
        fpmPingPath: "/fpm-ping",
        sharedPaths: ["upload", "bitrix/cache"],
    });

    it("serves the docroot and passes PHP to the FPM socket", () => {
        assert.match(cfg, /listen 80 default_server;/);
        assert.match(cfg, /root \/var\/www\/html;/);
        assert.match(cfg, /fastcgi_pass unix:\/run\/php\/php8\.2-fpm\.sock;/);
        assert.match(cfg, /client_max_body_size 65m;/);
        assert.match(cfg, /try_files \$uri \$uri\/ \/bitrix\/urlrewrite\.php\$is_args\$args;/);
    });

    it("trusts X-Forwarded-For from the balancers' addresses only", () => {
        assert.match(cfg, /set_real_ip_from 172\.28\.0\.11;\n {4}set_real_ip_from 172\.28\.0\.12;/);
        assert.equal(cfg.match(/set_real_ip_from/g)?.length, 2);
        assert.match(cfg, /real_ip_header X-Forwarded-For;/);
    });

    it("never executes PHP from a shared, user-writable tree", () => {
        assert.match(cfg, /location \^~ \/upload\/ \{\n.*\n\s+location ~\* \\\.\(php\|phtml\|phar\)\$ \{ return 403; \}/);
        assert.match(cfg, /location \^~ \/bitrix\/cache\/ \{/);
    });

    it("refuses secrets and internals before any location is chosen, so a shared path's ^~ location cannot serve them", () => {
        // Server-level rewrite rules run before location matching; a ^~ prefix location would skip a regex deny and
        // a longer one (bitrix/backup/daily) would win over a shorter deny prefix.
        const denies = [
            '    if ($uri ~ "/\\.(?!well-known(/|$))") { return 403; }',
            '    if ($uri ~ "^/bitrix/(\\.settings|php_interface(/|$)|backup(/|$))") { return 403; }',
        ];
        for (const d of denies) assert.ok(cfg.includes(`\n${d}\n`), d);
        assert.ok(cfg.indexOf(denies[1]) < cfg.indexOf("    location "), "before the locations");
        assert.doesNotMatch(cfg, /deny all; \}/, "no location-level deny that a longer prefix could override");
    });

    it("writes one location per shared path, whatever the paths (a denied tree, a path inside it, a repeat)", () => {
        const paths = ["upload", "bitrix/backup", "bitrix/backup/daily", "upload"];
        const c = webNginxConfig({
            listenPort: 80,
            docroot: "/var/www/html",
            fpmSocket: "/run/php/php8.2-fpm.sock",
            uploadMaxMb: 64,
            trustedProxies: [],
            healthPath: "/healthz.php",
            fpmStatusPath: "/fpm-status",
            fpmPingPath: "/fpm-ping",
            sharedPaths: paths,
        });
        assert.deepEqual(
            c.match(/^\s*location \^~ \S+/gm)?.map((l) => l.trim()),
            ["location ^~ /upload/", "location ^~ /bitrix/backup/", "location ^~ /bitrix/backup/daily/"],
        );
    });

    it("answers the FPM status only to the node itself", () => {
        assert.match(cfg, /location ~ \^\(\/fpm-status\|\/fpm-ping\)\$ \{\n\s+allow 127\.0\.0\.1;\n\s+deny all;/);
    });

    it("tells PHP the request came over HTTPS when the balancer says so", () => {
        assert.match(cfg, /map \$http_x_forwarded_proto \$forwarded_https \{\n\s+https on;/);
        assert.match(cfg, /fastcgi_param HTTPS \$forwarded_https if_not_empty;/);
    });
});
