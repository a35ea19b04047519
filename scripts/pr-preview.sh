#!/usr/bin/env bash
# Pull-request preview for any CI system (the GitHub workflow in .github/workflows/ calls this too):
#   bash scripts/pr-preview.sh <stack> [summary.md]
# runs `pulumi preview --json` of the stack and writes its Markdown summary (per layer: create/update/replace/delete
# counts, changed property names, a warning for each replaced or deleted resource that holds data; never a value)
# to summary.md (default: preview-summary.md) and stdout. State stays where PULUMI_BACKEND_URL points (a file://
# or s3:// backend; the local ~/.bitrix-cluster/state when unset): no Pulumi Cloud account is used.
# Exit status: pulumi's. A failed preview (for example one that would destroy a protected volume) still writes the
# summary, naming where it failed and a generic cause; the error's text (which can carry a value) stays in the CI log.
set -euo pipefail
cd "$(dirname "$0")/.."
stack=${1:?usage: bash scripts/pr-preview.sh <stack> [summary.md]}
out=${2:-preview-summary.md}
bash scripts/build.sh
# shellcheck source=scripts/pulumi-env.sh
source scripts/pulumi-env.sh
bash scripts/plugins.sh >&2
json=$(mktemp)
trap 'rm -f "$json"' EXIT
status=0
pulumi preview --json --stack "$stack" --non-interactive > "$json" || status=$?
node build/tools/preview-summary.js --stack "$stack" "$json" > "$out"
cat "$out"
exit "$status"
