#!/usr/bin/env bash
# Ensures a Pulumi CLI and the Node.js language host are available and prints the
# directory that holds them (put it first on PATH).
#
# 1. A `pulumi` already on PATH is used as it is (a user's laptop, a CI runner with
#    internet), unless BITRIX_FORCE_TOOLCHAIN_BUILD=1.
# 2. Otherwise both are built from the Go module proxy into a cache outside the
#    repository, keyed by versions, so a second run takes seconds. Nothing is
#    downloaded except from the Go module proxy.
set -euo pipefail

PULUMI_VERSION="${PULUMI_VERSION:-v3.259.0}"
# The Node.js language host left the SDK module after v3.68.0; that version is the
# newest one the module proxy serves. It runs programs built with @pulumi/pulumi 3.x.
LANGHOST_VERSION="${LANGHOST_VERSION:-v3.68.0}"
CACHE_ROOT="${BITRIX_TOOLCHAIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bitrix-cluster/toolchain}"
BIN_DIR="$CACHE_ROOT/pulumi-$PULUMI_VERSION-nodejs-$LANGHOST_VERSION/bin"

log() { echo "toolchain: $*" >&2; }

if [[ "${BITRIX_FORCE_TOOLCHAIN_BUILD:-0}" != 1 ]] && command -v pulumi >/dev/null 2>&1 \
   && command -v pulumi-language-nodejs >/dev/null 2>&1; then
  log "using $(command -v pulumi) ($(pulumi version))"
  dirname "$(command -v pulumi)"
  exit 0
fi

if [[ -x "$BIN_DIR/pulumi" && -x "$BIN_DIR/pulumi-language-nodejs" ]]; then
  log "cached $BIN_DIR ($("$BIN_DIR/pulumi" version))"
  echo "$BIN_DIR"
  exit 0
fi

[[ -x /usr/local/go/bin/go ]] && PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { log "Go (1.24 or newer, e.g. in /usr/local/go) is needed to build the Pulumi CLI"; exit 1; }

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$BIN_DIR.tmp"

build() { # module-dir package version output ldflags
  local dir="$work/$1" pkg="$2" ver="$3" out="$4" ldflags="$5"
  mkdir -p "$dir"
  (cd "$dir" && go mod init "bitrix-cluster-toolchain/$1" >/dev/null 2>&1 \
     && go get -tool "$pkg@$ver" >&2 \
     && go build -trimpath -ldflags "$ldflags" -o "$BIN_DIR.tmp/$out" "$pkg" >&2)
}

start=$SECONDS
log "building pulumi $PULUMI_VERSION (a few minutes on 2 cores)"
build cli github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$PULUMI_VERSION" pulumi \
  "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"
log "building pulumi-language-nodejs $LANGHOST_VERSION"
build langhost github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs "$LANGHOST_VERSION" \
  pulumi-language-nodejs "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$LANGHOST_VERSION"
rm -rf "$BIN_DIR"
mv "$BIN_DIR.tmp" "$BIN_DIR"
log "built in $((SECONDS - start)) s: $("$BIN_DIR/pulumi" version)"
echo "$BIN_DIR"
