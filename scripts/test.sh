#!/usr/bin/env bash
# The project's test command (README, `npm test`, CI): installs what the tests need, type-checks and compiles,
# then runs the generator unit tests, the resource-graph tests (Pulumi mocks) and the daemon tests (Debian's
# HAProxy, nginx, PHP-FPM, MariaDB, Redis/Sentinel and nfs-ganesha started on loopback from generated files).
#   bash scripts/test.sh            everything
#   bash scripts/test.sh unit       generators, config and resource graph only (no root, no daemons)
#   bash scripts/test.sh daemons    daemon tests only (root: they start daemons as their service users)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
if [ "$what" != unit ]; then
    [ "$(id -u)" = 0 ] || { echo "test.sh: the daemon tests need root (run 'bash scripts/test.sh unit' for the rest)" >&2; exit 2; }
    bash scripts/install-test-deps.sh
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    # --ignore-scripts: no package may download a plugin binary at install time.
    npm ci --ignore-scripts --no-audit --no-fund
fi
rm -rf build
npx tsc -p tsconfig.json
case "$what" in
    unit) dirs=(build/tests/components build/tests/project) ;;
    daemons) dirs=(build/tests/daemons) ;;
    all) dirs=(build/tests) ;;
    *) echo "test.sh: unknown suite '$what' (all, unit, daemons)" >&2; exit 2 ;;
esac
start=$(date +%s)
node --test "${dirs[@]}"
echo "test.sh: $what passed in $(( $(date +%s) - start )) s"
