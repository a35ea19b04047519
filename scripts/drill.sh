#!/usr/bin/env bash
# Failure drills against a live stack (placement docker): `bash scripts/drill.sh balancer --stack <name>`
# (`npm run drill -- balancer --stack <name>`). Prints a table and one JSON line; exits 1 when a goal is missed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
# shellcheck source=scripts/pulumi-env.sh
source scripts/pulumi-env.sh
exec node build/tools/drill-cli.js "$@"
