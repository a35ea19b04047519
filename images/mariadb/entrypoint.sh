#!/bin/bash
# First start: initialise the data directory, set the root password (not binlogged), run the generated
# init SQL files in order (binlogged on the master, so replicas receive them by GTID), then mark the data
# directory initialised. A data directory without the mark (a first start that died) is refused.
# The paths can be moved with MARIADB_DATADIR, MARIADB_RUN_DIR, MARIADB_INITDB_DIR and MARIADB_DEFAULTS_FILE
# (the project's daemon tests run this same script on loopback).
set -euo pipefail
# The same image runs the layer's failover manager: anything but the server skips the data directory.
case "${1:-}" in mariadbd|mysqld) ;; *) exec "$@" ;; esac
datadir=${MARIADB_DATADIR:-/var/lib/mysql}
rundir=${MARIADB_RUN_DIR:-/run/mysqld}
initdb=${MARIADB_INITDB_DIR:-/docker-entrypoint-initdb.d}
defaults=()
[ -n "${MARIADB_DEFAULTS_FILE:-}" ] && defaults=("--defaults-file=$MARIADB_DEFAULTS_FILE")
mkdir -p "$rundir" "$datadir"
chown mysql:mysql "$rundir" "$datadir"
marker="$datadir/.bitrix-cluster-initialized"
if [ -f "$datadir/.bitrix-cluster-restore-failed" ]; then
    # npm run restore emptied it for a physical copy and the copy-back failed: never initialise it empty instead.
    echo "mariadb-entrypoint: a physical restore into $datadir failed; run the restore again (npm run restore)" >&2
    exit 1
fi
if [ -d "$datadir/mysql" ] && [ ! -f "$marker" ]; then
    # A first start that died half-way: no users, or no replication. Never start such a node as if it were fine.
    echo "mariadb-entrypoint: $datadir holds a data directory whose first start did not finish;" \
        "remove the volume to initialise it again" >&2
    exit 1
fi
if [ ! -d "$datadir/mysql" ]; then
    : "${MARIADB_ROOT_PASSWORD:?MARIADB_ROOT_PASSWORD is required on first start}"
    mariadb-install-db "${defaults[@]}" --user=mysql --datadir="$datadir" --skip-test-db \
        --auth-root-authentication-method=socket >/dev/null
    sock="$rundir/init.sock"
    mariadbd "${defaults[@]}" --user=mysql --datadir="$datadir" --skip-networking --socket="$sock" &
    pid=$!
    up=""
    for _ in $(seq 1 120); do
        if timeout 5 mariadb-admin --connect-timeout=2 --socket="$sock" ping --silent 2>/dev/null; then up=yes; break; fi
        kill -0 "$pid" 2>/dev/null || { echo "mariadb-entrypoint: the server stopped during initialisation" >&2; exit 1; }
        sleep 0.5
    done
    [ -n "$up" ] || { echo "mariadb-entrypoint: the server did not answer during initialisation" >&2; exit 1; }
    echo "mariadb-entrypoint: initialising" >&2
    pw=${MARIADB_ROOT_PASSWORD//\\/\\\\}
    pw=${pw//\'/\'\'}
    mariadb --socket="$sock" <<SQL
SET SESSION sql_log_bin = 0;
ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('$pw');
SQL
    for f in "$initdb"/*.sql; do
        [ -e "$f" ] || continue
        echo "mariadb-entrypoint: running $f" >&2
        mariadb --socket="$sock" < "$f"
    done
    mariadb-admin --socket="$sock" shutdown
    wait "$pid" || true
    touch "$marker"
    echo "mariadb-entrypoint: first start done" >&2
fi
exec "$@"
