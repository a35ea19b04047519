#!/bin/sh
# Prepares Prometheus's and Alertmanager's data directories (a fresh volume is root's), checks the generated
# configs with the packages' own tools, then starts the processes.
set -eu
mkdir -p /var/lib/prometheus/metrics2 /var/lib/prometheus/alertmanager
chown -R prometheus:prometheus /var/lib/prometheus
promtool check config /etc/bitrix-monitoring/prometheus.yml >/dev/null
amtool check-config /etc/bitrix-monitoring/alertmanager.yml >/dev/null
exec "$@"
