#!/usr/bin/env bash
# The project's test command (README, `npm test`, CI): installs what the tests need, type-checks and compiles,
# checks formatting (Prettier) and lint (ESLint) in the `unit` and full runs, then runs the generator unit tests,
# the resource-graph tests (Pulumi mocks), the daemon tests (Debian's HAProxy, nginx, PHP-FPM, MariaDB,
# Redis/Sentinel and nfs-ganesha started on loopback from generated files) and the end-to-end test (`pulumi up` of a
# whole stack on the local Docker engine).
#   bash scripts/test.sh            everything
#   bash scripts/test.sh unit       generators, config, resource graph and tools only (no root, no daemons)
#   bash scripts/test.sh daemons    daemon tests only (root: they start daemons as their service users)
#   bash scripts/test.sh e2e        end-to-end only (root: installs/starts Docker, builds the Pulumi toolchain and plugins once)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
if [ "$what" != unit ]; then
    [ "$(id -u)" = 0 ] || { echo "test.sh: the daemon tests need root (run 'bash scripts/test.sh unit' for the rest)" >&2; exit 2; }
    bash scripts/install-test-deps.sh
fi
bash scripts/build.sh --clean
if [ "$what" = all ] || [ "$what" = unit ]; then
    # Style first, so CI fails fast: Prettier's formatting (`npm run format` fixes it) and ESLint's rules.
    npm run --silent format:check
    npm run --silent lint
fi
case "$what" in
    unit) dirs=(build/tests/components build/tests/tools build/tests/project) ;;
    daemons) dirs=(build/tests/daemons) ;;
    e2e) dirs=(build/tests/e2e) ;;
    all) dirs=(build/tests) ;;
    *) echo "test.sh: unknown suite '$what' (all, unit, daemons)" >&2; exit 2 ;;
esac
if [ "$what" = all ] || [ "$what" = e2e ]; then
    # The real engine needs a Docker engine with the base image, the Pulumi CLI and language host, and the
    # official provider plugins (built from their source archives where they cannot be downloaded: docs/plugins.md).
    bash scripts/docker-engine.sh
    source scripts/pulumi-env.sh
    bash scripts/plugins.sh
fi
start=$(date +%s)
# One file at a time: the daemon and end-to-end tests share ports and the Docker engine.
node --test --test-concurrency=1 "${dirs[@]}"
echo "test.sh: $what passed in $(( $(date +%s) - start )) s"
