#!/bin/bash
# First start: initialise the data directory, set the root password (not binlogged), run the generated
# /docker-entrypoint-initdb.d/*.sql in order (binlogged on the master, so replicas receive it by GTID).
set -euo pipefail
datadir=/var/lib/mysql
mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld "$datadir"
if [ ! -d "$datadir/mysql" ]; then
    : "${MARIADB_ROOT_PASSWORD:?MARIADB_ROOT_PASSWORD is required on first start}"
    mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db --auth-root-authentication-method=socket >/dev/null
    sock=/run/mysqld/init.sock
    mariadbd --user=mysql --skip-networking --socket="$sock" &
    pid=$!
    for _ in $(seq 1 60); do
        mariadb-admin --socket="$sock" ping --silent 2>/dev/null && break
        sleep 1
    done
    pw=${MARIADB_ROOT_PASSWORD//\\/\\\\}
    pw=${pw//\'/\'\'}
    mariadb --socket="$sock" <<SQL
SET SESSION sql_log_bin = 0;
ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('$pw');
SQL
    for f in /docker-entrypoint-initdb.d/*.sql; do
        [ -e "$f" ] || continue
        echo "mariadb-entrypoint: running $f" >&2
        mariadb --socket="$sock" < "$f"
    done
    mariadb-admin --socket="$sock" shutdown
    wait "$pid" || true
fi
exec "$@"
