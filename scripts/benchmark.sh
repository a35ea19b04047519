#!/usr/bin/env bash
# The product's figures on this machine (`npm run benchmark`): brings up a stack of its own (Docker, subnet
# 172.28.40.0/24, ports 28080/28443/28404/29090/29093, a throw-away backend), measures, runs every drill, destroys it.
# Writes benchmark/latest.json and prints a Markdown table. Needs a running Docker engine (scripts/docker-engine.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
# shellcheck source=scripts/pulumi-env.sh
source scripts/pulumi-env.sh
bash scripts/plugins.sh >/dev/null
exec node build/tools/benchmark.js "$@"
