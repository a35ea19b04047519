#!/usr/bin/env bash
# Makes Pulumi's official docker, random and command provider plugins available, at the exact versions the npm
# packages pin (node_modules/@pulumi/<name>/package.json "pulumi.version"). For each plugin, in this order:
#   1. a plugin Pulumi already has installed (~/.pulumi/plugins/resource-<name>-v<version>) is used as it is
#      (a machine with internet gets them from Pulumi as usual: `pulumi plugin install`);
#   2. a binary built earlier from the same source archive is taken from the cache beside the CLI
#      (${BITRIX_TOOLCHAIN_CACHE:-~/.cache/bitrix-cluster/toolchain}/plugins/<name>-<version>-<archive sha>);
#   3. otherwise it is built from the provider's source archive (BITRIX_PLUGIN_SOURCES, default ../shared/upstream
#      beside the repository) with Go modules from the module proxy, then installed under its exact name and version.
# The archives are checked against the SHA-256 sums below before anything is built from them.
# Needs `pulumi` on PATH (scripts/pulumi-env.sh) and node_modules (scripts/build.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
sources="${BITRIX_PLUGIN_SOURCES:-$root/../shared/upstream}"
cache="${BITRIX_TOOLCHAIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bitrix-cluster/toolchain}/plugins"
plugins_home="${PULUMI_HOME:-$HOME/.pulumi}/plugins"
log() { echo "plugins: $*" >&2; }

# name | source archive | its SHA-256 | Go package path of the version variable (set by -ldflags -X)
declare -A archive sha versionvar
archive[command]=pulumi-command-v1.2.1.tar.gz
sha[command]=802a8d32dba65f13c1af083f3513121c4c0e18a62d28801b3b0cfe5160cf3910
versionvar[command]=github.com/pulumi/pulumi-command/provider/pkg/version.Version
archive[random]=pulumi-random-f64d8726.tar.gz
sha[random]=f2170d3258040855f4aa0833f2bddc6c49970d8bed3544debbeb7eb704da222a
versionvar[random]=github.com/pulumi/pulumi-random/provider/v4/pkg/version.Version
archive[docker]=pulumi-docker-237b7899.tar.gz
sha[docker]=f7cc3476b42ae183ddc410915d6b5c4f7f9ffa4144a8826baec6a09e793258ab
versionvar[docker]=github.com/pulumi/pulumi-docker/provider/v5/pkg/version.Version
# The Terraform docker provider that pulumi-docker patches and builds in (its `upstream/` git submodule).
tf_docker_archive=terraform-provider-docker-5074970c.tar.gz
tf_docker_sha=dbc27d5e427c10c38374c43b858142f565a407754535c2f0cb22b650dab6e465

missing_source() { # name version archive
  log "no $1 $2 plugin is installed and its source archive $sources/$3 is not there."
  log "  On a machine with internet:  pulumi plugin install resource $1 $2"
  log "  Offline: copy the archives listed in docs/plugins.md into a folder and set BITRIX_PLUGIN_SOURCES to it,"
  log "  or install a plugin binary you built yourself: pulumi plugin install resource $1 $2 --file <binary>"
  exit 1
}

check_sum() { # file expected
  local got
  got="$(sha256sum "$1" | cut -d' ' -f1)"
  [[ "$got" == "$2" ]] || { log "$1: SHA-256 $got, expected $2 (not the archive this project was built against)"; exit 1; }
}

build() { # name version -> prints the binary's path
  local name="$1" version="$2" work out
  work="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" RETURN
  tar -C "$work" -xzf "$sources/${archive[$name]}"
  local src="$work/pulumi-$name"
  if [[ "$name" == docker ]]; then
    # pulumi-docker builds the Terraform provider from ../upstream (go.mod replace) with its patches applied.
    check_sum "$sources/$tf_docker_archive" "$tf_docker_sha"
    tar -C "$work" -xzf "$sources/$tf_docker_archive"
    mv "$work/terraform-provider-docker" "$src/upstream"
    (cd "$src/upstream" && git init -q && git add -A && git -c user.name=build -c user.email=build@localhost \
      commit -qm upstream && for p in "$src"/patches/*.patch; do git apply --3way "$p"; done) >&2
  fi
  local tags=()
  [[ "$name" == docker ]] && tags=(-tags no_compose)
  export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false"
  if [[ -f "$src/provider/cmd/pulumi-resource-$name/generate.go" ]]; then
    (cd "$src/provider/cmd/pulumi-resource-$name" && VERSION="$version" go generate ./main.go) >&2
  fi
  out="$work/pulumi-resource-$name"
  (cd "$src/provider" && go build -trimpath "${tags[@]}" -o "$out" \
    -ldflags "-s -w -X ${versionvar[$name]}=$version" "./cmd/pulumi-resource-$name") >&2
  mkdir -p "$cache/$name-$version-${sha[$name]:0:12}"
  mv "$out" "$cache/$name-$version-${sha[$name]:0:12}/pulumi-resource-$name"
}

# Pulumi's plugin directory is read only through the CLI's own layout; the CLI itself is needed to install.
todo=()
for name in command random docker; do
  version="$(node -p "require('$root/node_modules/@pulumi/$name/package.json').pulumi.version")"
  dir="$plugins_home/resource-$name-v$version"
  if [[ -x "$dir/pulumi-resource-$name" && ! -f "$dir/.bitrix-cluster-offline" ]]; then
    log "$name $version: installed ($dir)"
    continue
  fi
  [[ -f "$sources/${archive[$name]}" ]] || missing_source "$name" "$version" "${archive[$name]}"
  check_sum "$sources/${archive[$name]}" "${sha[$name]}"
  bin="$cache/$name-$version-${sha[$name]:0:12}/pulumi-resource-$name"
  if [[ ! -x "$bin" ]]; then
    [[ -x /usr/local/go/bin/go ]] && PATH="$PATH:/usr/local/go/bin"
    command -v go >/dev/null || { log "Go (1.25 or newer) is needed to build the $name plugin from source"; exit 1; }
    start=$SECONDS
    log "$name $version: building from ${archive[$name]} (minutes with cold Go caches)"
    build "$name" "$version"
    log "$name $version: built in $((SECONDS - start)) s"
  fi
  todo+=("$name:$version:$bin")
done
[[ "${1:-}" == --build-only ]] && exit 0
[[ ${#todo[@]} -eq 0 ]] && exit 0
command -v pulumi >/dev/null || source "$root/scripts/pulumi-env.sh"
for item in "${todo[@]}"; do
  IFS=: read -r name version bin <<<"$item"
  dir="$plugins_home/resource-$name-v$version"
  # A stand-in left by an earlier version of this project is replaced by the official plugin.
  pulumi plugin install resource "$name" "$version" --file "$bin" --reinstall >/dev/null
  [[ -x "$dir/pulumi-resource-$name" ]] || { log "$name $version: pulumi did not install to $dir"; exit 1; }
  log "$name $version: installed from $bin"
done
