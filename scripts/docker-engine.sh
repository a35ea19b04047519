#!/usr/bin/env bash
# Makes sure a Docker engine answers and the base image the Dockerfiles build FROM exists.
# - An engine that already answers (Docker Desktop, a systemd dockerd, DOCKER_HOST) is used as it is.
# - Otherwise Debian's docker.io is installed if missing and dockerd started in the background.
# - The base image is pulled when a registry answers, else built with debootstrap from apt's own Debian mirror.
set -euo pipefail
BASE_IMAGE="${BASE_IMAGE:-debian:bookworm-slim}"
log() { echo "docker-engine: $*" >&2; }
apt_install() {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! docker info >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null 2>&1; then
    log "installing docker.io"
    apt_install docker.io
  fi
  command -v docker >/dev/null || { log "no docker client after installing docker.io"; exit 1; }
  log "starting dockerd (log: /var/log/dockerd.log)"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { log "dockerd did not answer within 60 s; see /var/log/dockerd.log"; exit 1; }
fi
log "engine $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"

if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  log "base image $BASE_IMAGE present"
  exit 0
fi
if timeout 60 docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
  log "pulled $BASE_IMAGE"
  exit 0
fi
[[ "$BASE_IMAGE" == debian:bookworm-slim ]] || { log "cannot pull $BASE_IMAGE and can only build debian:bookworm-slim"; exit 1; }
command -v debootstrap >/dev/null || apt_install debootstrap
mirror="$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
  | awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
log "no registry: building $BASE_IMAGE with debootstrap from $mirror"
debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
tar -C "$root" -c . | docker import - "$BASE_IMAGE" >/dev/null
log "imported $BASE_IMAGE"
