#!/usr/bin/env bash
# The README's main command: the whole cluster on this machine, from a fresh clone.
#   bash scripts/up.sh [stack]      (default stack: dev, configured by Pulumi.dev.yaml)
# Installs the npm packages, makes sure a Docker engine and the base image are there, uses the Pulumi CLI on PATH
# or builds one (scripts/toolchain.sh), installs the offline plugins where the official ones are missing, then
# runs `pulumi up` on a local file backend and prints the URL and the balancer's view of the web nodes.
set -euo pipefail
cd "$(dirname "$0")/.."
stack="${1:-dev}"
bash scripts/build.sh
bash scripts/docker-engine.sh
source scripts/pulumi-env.sh
bash scripts/plugins.sh
pulumi stack select --create "$stack" --non-interactive
pulumi up --yes --stack "$stack" --non-interactive
url="$(pulumi stack output url --stack "$stack")"
status="$(pulumi stack output statusUrl --stack "$stack")"
echo
echo "Portal:      $url"
echo "Status page: $status"
prometheus="$(pulumi stack output prometheusUrl --stack "$stack" 2>/dev/null || true)"
[ -z "$prometheus" ] || echo "Prometheus:  $prometheus  Alertmanager: $(pulumi stack output alertmanagerUrl --stack "$stack")"
echo "Web nodes as the balancer sees them:"
curl -fsS "${status%/}/;csv" | awk -F, '$1 == "web" && $2 != "BACKEND" { printf "  %-8s %s\n", $2, $18 }'
echo "Try: curl -k '${url}probe/?action=node'    Remove: source scripts/pulumi-env.sh && pulumi destroy --stack $stack"
