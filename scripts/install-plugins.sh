#!/usr/bin/env bash
# Installs the project's offline provider plugins (plugins/, compiled to build/plugins) under the names and
# versions the npm packages pin -- only where that plugin is not installed already. A plugin directory without
# our marker file is the official plugin and is never touched. Needs `pulumi` on PATH (scripts/pulumi-env.sh)
# and a compiled tree (`npx tsc`).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
plugins_home="${PULUMI_HOME:-$HOME/.pulumi}/plugins"
log() { echo "install-plugins: $*" >&2; }
command -v pulumi >/dev/null || source "$root/scripts/pulumi-env.sh"
[[ -f "$root/build/plugins/provider.js" ]] || { log "build/plugins is missing: run 'npx tsc' first"; exit 1; }

for name in docker random command; do
  version="$(node -p "require('$root/node_modules/@pulumi/$name/package.json').pulumi.version")"
  dir="$plugins_home/resource-$name-v$version"
  stage="$(mktemp -d)"
  mkdir -p "$stage/lib"
  cp -r "$root/build/plugins/." "$stage/lib/"
  find "$stage/lib" -name '*.map' -delete
  stamp="$(cd "$stage/lib" && find . -type f | sort | xargs sha256sum | sha256sum | cut -c1-16) $root"
  if [[ -d "$dir" && ! -f "$dir/.bitrix-cluster-offline" ]]; then
    log "$name $version: official plugin present, left as it is"
    rm -rf "$stage"; continue
  fi
  if [[ -f "$dir/.bitrix-cluster-offline" && "$(cat "$dir/.bitrix-cluster-offline")" == "$stamp" ]]; then
    log "$name $version: offline plugin up to date"
    rm -rf "$stage"; continue
  fi
  cat > "$stage/pulumi-resource-$name" <<LAUNCHER
#!/bin/sh
# Offline stand-in for the official $name plugin, installed by bitrix-cluster (scripts/install-plugins.sh).
NODE_PATH="$root/node_modules" exec node "\$(dirname "\$0")/lib/$name/main.js" "\$@"
LAUNCHER
  chmod +x "$stage/pulumi-resource-$name"
  echo "$stamp" > "$stage/.bitrix-cluster-offline"
  pulumi plugin install resource "$name" "$version" --file "$stage" --reinstall >/dev/null
  rm -rf "$stage"
  [[ -f "$dir/.bitrix-cluster-offline" ]] || { log "$name $version: pulumi did not install to $dir"; exit 1; }
  log "$name $version: offline plugin installed"
done
