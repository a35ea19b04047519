#!/bin/sh
# Checks every generated config before anything starts, so a bad file fails loudly instead of half-starting.
set -eu
mkdir -p /run/php /run/haproxy /run/bitrix
chown www-data:www-data /var/www/html /var/www/html/bitrix 2>/dev/null || true
nginx -t -q
php-fpm8.2 -t 2>/dev/null || php-fpm8.2 -t
haproxy -c -q -f /etc/haproxy/redis-proxy.cfg
exec "$@"
