#!/bin/sh
# Prepares Prometheus's and Alertmanager's data directories (a fresh volume is root's), checks the generated
# configs with the packages' own tools, then starts the processes.
set -eu
mkdir -p /var/lib/prometheus/metrics2 /var/lib/prometheus/alertmanager
chown -R prometheus:prometheus /var/lib/prometheus
# Reading groups of secret files ("group:path ...", set by the Docker placement: a container upload carries no group;
# hosts get the group at install). -h: a symlink planted by the app user is changed itself, never its target.
for pair in ${BITRIX_FILE_GROUPS:-}; do chgrp -h "${pair%%:*}" "${pair#*:}"; done
promtool check config /etc/bitrix-monitoring/prometheus.yml >/dev/null
amtool check-config /etc/bitrix-monitoring/alertmanager.yml >/dev/null
exec "$@"
