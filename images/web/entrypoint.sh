#!/bin/sh
# Checks every generated config before anything starts, so a bad file fails loudly instead of half-starting.
# On a host (placement hosts) it also does what the image's build did: the distribution's default site goes (it
# claims port 80 as default_server too), the run and docroot directories exist.
set -eu
rm -f /etc/nginx/sites-enabled/default
mkdir -p /run/php /run/haproxy /run/bitrix /var/www/html/bitrix
chown www-data:www-data /var/www/html /var/www/html/bitrix 2>/dev/null || true
nginx -t -q
php-fpm8.2 -t 2>/dev/null || php-fpm8.2 -t
haproxy -c -q -f /etc/haproxy/redis-proxy.cfg
exec "$@"
