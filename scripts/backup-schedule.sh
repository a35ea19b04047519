#!/usr/bin/env bash
# Scheduled backups of a stack on this machine (the one that runs `pulumi up`): a systemd service and timer.
#   bash scripts/backup-schedule.sh --stack prod [--on-calendar "*-*-* 02:30"] [--method logical|physical]
#   (defaults: the stack's backupOnCalendar, written into the timer now; the stack's backupMethod, read at each run)
#                                                                   (npm run backup:schedule -- --stack prod)
# Writes /etc/systemd/system/bitrix-cluster-backup-<stack>.{service,timer}, checks them with systemd-analyze verify
# and enables the timer. The run uses BITRIX_CLUSTER_HOME (as set now, else ~/.bitrix-cluster) and reads
# /etc/bitrix-cluster/backup-<stack>.env if present (RESTIC_REPOSITORY, RESTIC_PASSWORD_FILE, ...; keep it 0600).
# `systemctl list-timers 'bitrix-cluster-backup-*'` shows the next run; `journalctl -u bitrix-cluster-backup-<stack>`
# the last ones. Remove: systemctl disable --now bitrix-cluster-backup-<stack>.timer, then delete both files.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "backup-schedule.sh: run as root (it writes to /etc/systemd/system)" >&2; exit 2; }
bash scripts/build.sh
# pulumi reads the stack's backupOnCalendar when --on-calendar is not given.
# shellcheck source=scripts/pulumi-env.sh
source scripts/pulumi-env.sh
mapfile -t units < <(node build/tools/backup-schedule-cli.js "$@")
systemd-analyze verify "${units[@]}"
systemctl daemon-reload
systemctl enable --now "$(basename "${units[1]}")"
systemctl list-timers --no-pager "$(basename "${units[1]}")"
