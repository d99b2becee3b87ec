#!/usr/bin/env bash
# Make sure a Docker engine is reachable (`npm run setup:docker`).
# Order: an engine that already answers wins; else start the installed dockerd; else, on
# Debian as root, install docker.io and start it. Never starts a second dockerd: a lock
# serialises concurrent callers and a running dockerd is waited for, not duplicated.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DOCKERD_LOG="${DOCKERD_LOG:-$SALTPIPE_CACHE/dockerd.log}"
WAIT_SECONDS="${DOCKER_WAIT_SECONDS:-60}"

engine_up() { docker info >/dev/null 2>&1; }

wait_for_engine() {
  local i
  for ((i = 0; i < WAIT_SECONDS; i++)); do
    engine_up && return 0
    sleep 1
  done
  die "docker engine did not answer within ${WAIT_SECONDS}s: $(docker info 2>&1 | grep -m1 -i -e error -e denied -e cannot)
(dockerd log: $DOCKERD_LOG)"
}

install_engine() {
  [[ $(id -u) == 0 && -f /etc/debian_version ]] ||
    die "no Docker engine reachable and cannot install one here (need Debian and root).
Install Docker Engine (Debian/Ubuntu: apt-get install docker.io; else https://docs.docker.com/engine/install/),
start it, or point DOCKER_HOST at a running engine."
  log "installing docker.io from Debian"
  export DEBIAN_FRONTEND=noninteractive
  # The package index may be missing or stale in a fresh image: update only when needed.
  apt-get install -y --no-install-recommends docker.io >/dev/null 2>&1 || {
    apt-get update -qq
    apt-get install -y --no-install-recommends docker.io >/dev/null
  }
}

engine_up && { log "docker engine already reachable"; exit 0; }

# /usr/local/bin/docker may be a client only; the engine's client lives in /usr/bin.
exec 9>"$SALTPIPE_CACHE/docker-engine.lock"
flock 9
engine_up && exit 0 # another caller started it while we waited for the lock

if ! pgrep -x dockerd >/dev/null; then
  command -v dockerd >/dev/null || install_engine
  log "starting dockerd (log: $DOCKERD_LOG)"
  # setsid: the daemon must outlive this script and the shell that ran it.
  setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
else
  log "dockerd already running; waiting for it to answer"
fi
wait_for_engine
log "docker engine ready: $(docker version --format '{{.Server.Version}}')"
