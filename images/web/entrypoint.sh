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
# A stop (docker stop, systemctl stop: SIGTERM) drains first: the health endpoint answers 503 DRAINING while
# /run/bitrix/draining exists, the balancers take the node out within WEB_DRAIN_S, and only then do the processes
# stop, gracefully (supervisord sends nginx and PHP-FPM QUIT: requests in flight finish).
rm -f /run/bitrix/draining
"$@" &
child=$!
drain() {
    touch /run/bitrix/draining
    echo "web-entrypoint: draining for ${WEB_DRAIN_S:-0} s before stopping" >&2
    sleep "${WEB_DRAIN_S:-0}"
    kill -TERM "$child" 2>/dev/null || true
}
trap drain TERM INT
# wait returns early when a trapped signal arrives; wait again until the child has really exited.
status=0
while kill -0 "$child" 2>/dev/null; do
    wait "$child" && status=0 || status=$?
done
rm -f /run/bitrix/draining
exit "$status"
