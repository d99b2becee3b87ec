#!/usr/bin/env bash
# The AWS API emulator image for the AWS event-path proof: moto (requirements/moto.txt) from a
# wheelhouse cached in $SALTPIPE_CACHE (downloaded from PyPI once), on the project's Debian
# host base image. Prints the image reference. Idempotent: an image of this recipe is reused.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$SALTPIPE_ROOT"

req=requirements/moto.txt
base="$(bash scripts/base-image.sh host | tail -n1)"
hash="$( (cat "$req" images/moto/Dockerfile images/moto/serve.py; echo "$base") | sha256sum | cut -c1-12)"
ref="saltpipe/moto:$hash"
if docker image inspect "$ref" >/dev/null 2>&1; then
  echo "$ref"
  exit 0
fi
wheels="$SALTPIPE_CACHE/wheelhouse-moto-$(sha256sum "$req" | cut -c1-12)"
exec 9>"$SALTPIPE_CACHE/moto-image.lock"
flock 9
if [[ ! -f $wheels/.complete ]]; then
  # Built with this machine's Python 3.11 for the Debian 12 base (same Python and glibc).
  log "building the moto wheelhouse in $wheels (pip wheel -r $req)"
  rm -rf "$wheels" && mkdir -p "$wheels"
  python3 -m pip wheel --disable-pip-version-check --progress-bar off -q -r "$req" -w "$wheels"
  cp "$req" "$wheels/requirements.txt"
  touch "$wheels/.complete"
fi
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp images/moto/Dockerfile images/moto/serve.py "$ctx/"
cp -r "$wheels" "$ctx/wheels"
log "building $ref from $base"
docker build -q --build-arg "BASE_IMAGE=$base" -t "$ref" "$ctx" >&2
echo "$ref"
