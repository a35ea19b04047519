#!/bin/bash
# redis: start from the generated config, but as a replica of whatever master the sentinels know now, so a
#        restarted old master never comes back as a second master.
# sentinel: Sentinel rewrites its config, so it runs from its own copy in the data volume; the copy is replaced
#        only when the generated config changed.
set -euo pipefail
conf_dir=${REDIS_CONF_DIR:-/etc/redis/bitrix}
data=${REDIS_DATA_DIR:-/var/lib/redis}
run_as=${REDIS_RUN_AS:-redis}
# shellcheck disable=SC1091
. "$conf_dir/start.env"
mode=${1:-redis}
chown "$run_as:" "$data"
case "$mode" in
redis)
    cp "$conf_dir/redis.conf" "$data/redis.conf"
    for s in $REDIS_SENTINELS; do
        reply=$(REDISCLI_AUTH="$REDIS_PASSWORD" timeout 2 redis-cli -h "${s%:*}" -p "${s##*:}" --raw \
            sentinel get-master-addr-by-name "$REDIS_MASTER_NAME" 2>/dev/null | tr '\n' ' ') || reply=""
        read -r host port _ <<<"$reply" || true
        if [ -n "${host:-}" ] && [ -n "${port:-}" ]; then
            sed -i '/^replicaof /d' "$data/redis.conf"
            if [ "$host" != "$REDIS_SELF" ] || [ "$port" != "$REDIS_PORT" ]; then
                echo "replicaof $host $port" >> "$data/redis.conf"
            fi
            echo "redis-entrypoint: sentinel $s says the master is $host:$port" >&2
            break
        fi
    done
    chown "$run_as:" "$data/redis.conf"
    exec runuser -u "$run_as" -- redis-server "$data/redis.conf"
    ;;
sentinel)
    sum=$(sha256sum "$conf_dir/sentinel.conf" | cut -d' ' -f1)
    if [ ! -f "$data/sentinel.conf" ] || [ "$(cat "$data/sentinel.conf.sha256" 2>/dev/null)" != "$sum" ]; then
        cp "$conf_dir/sentinel.conf" "$data/sentinel.conf"
        echo "$sum" > "$data/sentinel.conf.sha256"
    fi
    chown "$run_as:" "$data/sentinel.conf"
    exec runuser -u "$run_as" -- redis-sentinel "$data/sentinel.conf"
    ;;
*)
    exec "$@"
    ;;
esac
