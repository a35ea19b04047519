#!/usr/bin/env bash
# Backups of a live stack into a restic repository (deduplicated, encrypted), and restores from it:
#   bash scripts/backup.sh backup  --stack <name> [--method logical|physical] [--keep-within 7d]
#                                                                        (npm run backup -- --stack <name>)
#   bash scripts/backup.sh restore --stack <name> [--snapshot <id>]     (npm run restore -- --stack <name>)
#   bash scripts/backup.sh clone --from <stack> --to <new> [--overrides staging.yaml] [--mask <sql>|none]
#                                                                        (npm run clone -- --from prod --to staging)
# Repository: the stack's backupRepository, else RESTIC_REPOSITORY, else ~/.bitrix-cluster/backups (snapshots are
# tagged stack=<name>). Password: RESTIC_PASSWORD(_FILE), else one generated once into
# ~/.bitrix-cluster/restic-password (mode 0600): keep a copy with whoever keeps the backups, they cannot be read
# without it. Prints one JSON line with the figures (snapshot, seconds, GTID position, files, bytes).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v restic >/dev/null; then
    [ "$(id -u)" = 0 ] || { echo "backup.sh: restic is not installed (apt-get install restic)" >&2; exit 2; }
    apt-get install -y -q restic >/dev/null || { apt-get update -qq && apt-get install -y -q restic >/dev/null; }
fi
bash scripts/build.sh
# shellcheck source=scripts/pulumi-env.sh
source scripts/pulumi-env.sh
home="${BITRIX_CLUSTER_HOME:-$HOME/.bitrix-cluster}"
export RESTIC_REPOSITORY="${RESTIC_REPOSITORY:-$home/backups}"
if [ -z "${RESTIC_PASSWORD:-}" ] && [ -z "${RESTIC_PASSWORD_FILE:-}" ]; then
    [ -s "$home/restic-password" ] || (umask 077 && head -c 32 /dev/urandom | base64 > "$home/restic-password")
    export RESTIC_PASSWORD_FILE="$home/restic-password"
fi
if [ "${1:-}" = clone ]; then
    shift
    exec node build/tools/clone-cli.js "$@"
fi
exec node build/tools/backup-cli.js "$@"
