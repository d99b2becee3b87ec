#!/usr/bin/env bash
# Debian packages the project's scripts and test suites need, installed when missing
# (`npm run setup:os`). The Docker engine has its own script (docker-engine.sh).
#   debootstrap        local base images (base-image.sh)
#   openssh-server     a private sshd for the engine tests (the system sshd is never touched)
#   openssh-client     ssh-keygen for the local stack's key
#   nginx-light        the hook proxy in the real-Salt tests
#   docker-registry    the real registry the real-Salt tests push to (the master verifies pushes with it)
#   ShellCheck         npm run lint (every script) and actionlint (the workflow's shell steps)
#   tcpdump            the shape suite's packet capture on the environment's own bridge
#   openssl, curl, git secrets, health probes, the image tag's commit
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

declare -A binary_of=(
  [debootstrap]=/usr/sbin/debootstrap
  [openssh-server]=/usr/sbin/sshd
  [openssh-client]=/usr/bin/ssh-keygen
  [nginx-light]=/usr/sbin/nginx
  [docker-registry]=/usr/bin/docker-registry
  [openssl]=/usr/bin/openssl
  [curl]=/usr/bin/curl
  [git]=/usr/bin/git
  [shellcheck]=/usr/bin/shellcheck
  [tcpdump]=/usr/bin/tcpdump
)
missing=()
for package in "${!binary_of[@]}"; do [[ -x ${binary_of[$package]} ]] || missing+=("$package"); done
if ((${#missing[@]} == 0)); then
  log "OS packages present"
  exit 0
fi
if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
  die "missing packages: ${missing[*]} (install them with your package manager, as root)"
fi
log "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
# Installing openssh-server may start the system sshd; it is not ours to run.
