#!/usr/bin/env bash
# Lint the GitHub Actions workflows (.github/workflows) with actionlint.
#
#   scripts/actionlint.sh [args]        run actionlint from the repo root (args go to actionlint)
#   scripts/actionlint.sh --print-path  install it if needed, print the binary's path, exit
#
# actionlint is built from the Go module proxy with `go install` (Go >= 1.25: its go.mod says
# `go 1.25.0`) into $SALTPIPE_CACHE/actionlint-<version>/bin, reused on the next run. The Go
# module and build caches live under $SALTPIPE_CACHE/go (shared with pulumi-toolchain.sh).
# actionlint checks every `run:` script with shellcheck when that is on PATH; when it is missing,
# we install it from Debian if we are root, otherwise the script stops and says what to install.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VERSION="v1.7.12"
GO_MIN="1.25"
BIN_DIR="$SALTPIPE_CACHE/actionlint-$VERSION/bin"
BIN="$BIN_DIR/actionlint"

install_actionlint() {
  command -v go >/dev/null || die "go not found: install Go ≥$GO_MIN to build actionlint $VERSION (https://go.dev/dl/)"
  local have
  have="$(go env GOVERSION)"
  have="${have#go}"
  [[ "$(printf '%s\n' "$GO_MIN" "$have" | sort -V | head -n1)" == "$GO_MIN" ]] ||
    die "go $have is too old: install Go ≥$GO_MIN to build actionlint $VERSION (https://go.dev/dl/)"
  log "building actionlint $VERSION from the Go module proxy (go $have)"
  local start=$SECONDS tmp
  tmp="$(mktemp -d "$SALTPIPE_CACHE/actionlint-build.XXXXXX")"
  # Into a temporary GOBIN, then renamed: an interrupted build never leaves a broken binary.
  GOBIN="$tmp" GOMODCACHE="$SALTPIPE_CACHE/go/mod" GOCACHE="$SALTPIPE_CACHE/go/build" \
    GOTOOLCHAIN=local GOFLAGS=-buildvcs=false \
    go install "github.com/rhysd/actionlint/cmd/actionlint@$VERSION" ||
    { rm -rf "$tmp"; die "go install of actionlint $VERSION failed"; }
  mkdir -p "$BIN_DIR"
  mv "$tmp/actionlint" "$BIN"
  rm -rf "$tmp"
  log "built $BIN in $((SECONDS - start))s"
}

ensure_shellcheck() {
  command -v shellcheck >/dev/null && return
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    die "shellcheck not found: install it (Debian/Ubuntu: apt-get install shellcheck) so actionlint checks the run: scripts"
  fi
  log "installing shellcheck (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends shellcheck >/dev/null 2>&1 || {
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends shellcheck >/dev/null
  }
}

[[ -x "$BIN" ]] || install_actionlint
if [[ "${1:-}" == "--print-path" ]]; then
  echo "$BIN"
  exit 0
fi
ensure_shellcheck
cd "$SALTPIPE_ROOT"
exec "$BIN" "$@"
