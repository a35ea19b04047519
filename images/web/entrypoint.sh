#!/bin/sh
# Checks every generated config before anything starts, so a bad file fails loudly instead of half-starting.
# On a host (placement hosts) it also does what the image's build did: the distribution's default site goes (it
# claims port 80 as default_server too), the run and docroot directories exist.
# A stop (docker stop, systemctl stop: SIGTERM) drains first: the health endpoint answers 503 DRAINING while
# /run/bitrix/draining exists, the balancers take the node out within WEB_DRAIN_S, and only then do the processes
# stop (supervisord stops nginx first, which answers the requests it has open, then PHP-FPM).
set -eu
child=""
drain() {
    # Stopped before the processes started (PID 1 ignores an untrapped TERM): nothing to drain.
    [ -n "$child" ] || exit 143
    touch /run/bitrix/draining || true
    echo "web-entrypoint: draining for ${WEB_DRAIN_S:-0} s before stopping" >&2
    sleep "${WEB_DRAIN_S:-0}" || true
    kill -TERM "$child" 2>/dev/null || true
}
trap drain TERM INT
rm -f /etc/nginx/sites-enabled/default /run/bitrix/draining
mkdir -p /run/php /run/haproxy /run/bitrix /var/www/html/bitrix
chown www-data:www-data /var/www/html /var/www/html/bitrix 2>/dev/null || true
# Reading groups of secret files ("group:path ...", set by the Docker placement: a container upload carries no group;
# hosts get the group at install). -h: a symlink planted by the app user is changed itself, never its target.
for pair in ${BITRIX_FILE_GROUPS:-}; do chgrp -h "${pair%%:*}" "${pair#*:}"; done
nginx -t -q
php-fpm8.2 -t 2>/dev/null || php-fpm8.2 -t
haproxy -c -q -f /etc/haproxy/redis-proxy.cfg
"$@" &
child=$!
# wait returns early when a trapped signal arrives; wait again until the child has really exited.
status=0
while kill -0 "$child" 2>/dev/null; do
    wait "$child" && status=0 || status=$?
done
rm -f /run/bitrix/draining
exit "$status"
