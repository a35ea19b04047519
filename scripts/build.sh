#!/usr/bin/env bash
# The npm packages (installed when missing or older than package-lock.json) and the compiled tree in build/, for
# every script that runs the project's code:  bash scripts/build.sh [--clean]   (--clean compiles from scratch)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    # --ignore-scripts: no package may download a plugin binary at install time.
    npm ci --ignore-scripts --no-audit --no-fund >&2
fi
if [ "${1:-}" = --clean ]; then
    rm -rf build
fi
npx tsc -p tsconfig.json >&2
