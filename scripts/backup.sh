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
home="${BITRIX_CLUSTER_HOME:-$HOME/.bitrix-cluster}"
# One backup, restore or clone per stack at a time (the clone's target): a scheduled backup that starts during a
# restore would copy a half-restored replica, and two restores would stop each other's servers. The lock is held by
# the open descriptor until the tool exits.
arg_of() {
    local want=$1
    shift
    while [ $# -gt 0 ]; do
        [ "$1" = "$want" ] && { echo "${2:-}"; return; }
        shift
    done
}
if [ "${1:-}" = clone ]; then locked=$(arg_of --to "$@"); else locked=$(arg_of --stack "$@"); fi
if [ -n "$locked" ]; then
    [[ "$locked" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || { echo "backup.sh: '$locked' is not a stack name" >&2; exit 2; }
    mkdir -p "$home/locks"
    exec 9>"$home/locks/$locked.lock"
    flock -n 9 || {
        echo "backup.sh: another backup, restore or clone of stack $locked is running (lock $home/locks/$locked.lock); run this again when it has ended" >&2
        exit 3
    }
fi
if ! command -v restic >/dev/null; then
    [ "$(id -u)" = 0 ] || { echo "backup.sh: restic is not installed (apt-get install restic)" >&2; exit 2; }
    apt-get install -y -q restic >/dev/null || { apt-get update -qq && apt-get install -y -q restic >/dev/null; }
fi
bash scripts/build.sh
# shellcheck source=scripts/pulumi-env.sh
source scripts/pulumi-env.sh
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
