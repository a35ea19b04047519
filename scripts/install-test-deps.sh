#!/usr/bin/env bash
# Installs what the tests need from Debian's packages: the daemons whose config the program generates (the
# daemon tests run them on loopback) and their clients. Skips apt entirely when everything is present.
set -euo pipefail
packages=(
    haproxy nginx php8.2-fpm php8.2-cli php8.2-mysql php8.2-redis php8.2-mbstring
    redis-server redis-sentinel redis-tools mariadb-server mariadb-client python3-pymysql python3-cryptography
    # Physical copies of the database (tests/daemons/physicalBackup.test.ts).
    mariadb-backup
    nfs-ganesha nfs-ganesha-vfs libnfs-utils openssl curl ca-certificates openssh-client restic keepalived nftables
    prometheus prometheus-alertmanager prometheus-blackbox-exporter socat
    # systemd-analyze verify/calendar of the generated backup timer (tests/daemons/backupSchedule.test.ts).
    systemd
    # Let's Encrypt's test CA for the ACME e2e (tests/e2e/acme.test.ts).
    pebble
    # The benchmark's provisioning peer (`npm run benchmark`: docker-compose up -d of a compose copy of its stack).
    docker-compose
    # The benchmark's load for the peer rows (tools/bench/wrk.ts).
    wrk
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-test-deps: installing ${missing[*]}" >&2
    # Packages must not start their services here: the tests start the daemons themselves, on loopback.
    policy=/usr/sbin/policy-rc.d
    restore=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && restore=yes
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ -n "$restore" ] && rm -f "$policy"
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "install-test-deps: installing nodejs and npm" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
