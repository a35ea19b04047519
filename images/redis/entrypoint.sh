#!/bin/bash
# redis: start from the generated config, but in the role the cluster has now: the sentinels say which node is
#        the master; if none answers on a restart, the node keeps what it last knew (Sentinel's CONFIG REWRITE),
#        never the generated first topology. A restarted old master so comes back as a replica, not a second master.
# sentinel: Sentinel rewrites its config, so it runs from its own copy in the data volume. When the generated
#        config changes, the copy is rebuilt from it but keeps what the sentinel learned: the current master, its
#        id and its epochs.
# Each mode has its own files (redis.conf + redis.env, sentinel.conf + sentinel.env; in the data directory
# redis.conf / sentinel.conf), so a Redis node and a sentinel can share one host.
# Paths and user can be moved with REDIS_CONF_DIR, REDIS_DATA_DIR and REDIS_RUN_AS (the daemon tests do).
set -euo pipefail
conf_dir=${REDIS_CONF_DIR:-/etc/redis/bitrix}
data=${REDIS_DATA_DIR:-/var/lib/redis}
run_as=${REDIS_RUN_AS:-redis}
mode=${1:-redis}
if [ "$mode" = redis ] || [ "$mode" = sentinel ]; then
    # shellcheck disable=SC1090
    . "$conf_dir/$mode.env"
    mkdir -p "$data"
    chown "$run_as:" "$data"
fi

# Prints "host port" of the master the sentinels know, trying every sentinel up to $1 rounds; fails if none knows.
current_master() {
    local rounds=$1 reply host port
    for ((round = 0; round < rounds; round++)); do
        for s in $REDIS_SENTINELS; do
            [ "$s" = "$REDIS_SELF:$REDIS_PORT" ] && continue
            reply=$(REDISCLI_AUTH="$REDIS_PASSWORD" timeout 2 redis-cli -h "${s%:*}" -p "${s##*:}" --raw \
                sentinel get-master-addr-by-name "$REDIS_MASTER_NAME" 2>/dev/null | tr '\n' ' ') || reply=""
            read -r host port _ <<<"$reply" || true
            if [ -n "${host:-}" ] && [ -n "${port:-}" ] && [[ "$port" =~ ^[0-9]+$ ]]; then
                echo "redis-entrypoint: sentinel $s says the master is $host:$port" >&2
                echo "$host $port"
                return 0
            fi
        done
        [ $((round + 1)) -lt "$rounds" ] && sleep 1
    done
    return 1
}

case "$mode" in
redis)
    conf="$data/redis.conf"
    # What this node last knew, from its own (Sentinel-rewritten) config: a replicaof line, or none for a master.
    previous=""
    if [ -f "$conf" ]; then
        previous=$(grep -E '^replicaof ' "$conf" || echo "master")
    fi
    cp "$conf_dir/redis.conf" "$conf"
    # On a restart the sentinels are likely up: give them a few rounds. On the first start they are not yet.
    if master=$(current_master "$([ -n "$previous" ] && echo 5 || echo 1)"); then
        sed -i '/^replicaof /d' "$conf"
        read -r host port <<<"$master"
        if [ "$host" != "$REDIS_SELF" ] || [ "$port" != "$REDIS_PORT" ]; then
            echo "replicaof $host $port" >> "$conf"
        fi
    elif [ -n "$previous" ]; then
        echo "redis-entrypoint: no sentinel answered; keeping the last known role ($previous)" >&2
        sed -i '/^replicaof /d' "$conf"
        [ "$previous" != master ] && echo "$previous" >> "$conf"
    fi
    chown "$run_as:" "$conf"
    chmod 600 "$conf"
    exec runuser -u "$run_as" -- redis-server "$conf"
    ;;
sentinel)
    conf="$data/sentinel.conf"
    sum=$(sha256sum "$conf_dir/sentinel.conf" | cut -d' ' -f1)
    if [ ! -f "$conf" ]; then
        cp "$conf_dir/sentinel.conf" "$conf"
    elif [ "$(cat "$conf.sha256" 2>/dev/null)" != "$sum" ]; then
        next=$(mktemp)
        cp "$conf_dir/sentinel.conf" "$next"
        # The current master: from the other sentinels, else from this sentinel's own rewritten monitor line.
        if ! master=$(current_master 1); then
            master=$(awk -v m="$REDIS_MASTER_NAME" '$1 == "sentinel" && $2 == "monitor" && $3 == m { print $4, $5 }' "$conf")
        fi
        if [ -n "$master" ]; then
            read -r host port <<<"$master"
            sed -i -E "s/^(sentinel monitor $REDIS_MASTER_NAME) [^ ]+ [^ ]+ /\1 $host $port /" "$next"
        fi
        grep -E '^sentinel (myid|current-epoch|config-epoch|leader-epoch) ' "$conf" >> "$next" || true
        mv "$next" "$conf"
        echo "redis-entrypoint: generated sentinel config changed; rebuilt it, monitoring ${master:-the generated master}" >&2
    fi
    echo "$sum" > "$conf.sha256"
    chown "$run_as:" "$conf"
    chmod 600 "$conf"
    # For the client-reconfig-script (redis-session-locks), which Sentinel runs with its own environment.
    export REDISCLI_AUTH="$REDIS_PASSWORD" SESSION_LOCK_PATTERN="${SESSION_LOCK_PATTERN:-}" \
        SESSION_LOCK_EXPIRE_MS="${SESSION_LOCK_EXPIRE_MS:-}" SESSION_LOCK_MIN_AGE_MS="${SESSION_LOCK_MIN_AGE_MS:-}"
    exec runuser -u "$run_as" -- redis-sentinel "$conf"
    ;;
*)
    exec "$@"
    ;;
esac
