#!/usr/bin/env bash
# Make a Pulumi CLI and the Node.js language host available, and print their directory
# as the last line of stdout:   export PATH="$(scripts/pulumi-toolchain.sh):$PATH"
# With --path it prints a PATH prefix instead, which also holds the offline plugin stand-ins
# (tools/standins/bin) when a real `command`, `docker`, `aws` or `tls` plugin is not installed:
#                               export PATH="$(scripts/pulumi-toolchain.sh --path):$PATH"
# (The CLI prefers a plugin found on PATH to an installed one, so the stand-ins go on PATH
# only when a real plugin is missing.)
#
# A `pulumi` already on PATH is used as it is. Otherwise both are built from the Go module
# proxy (no Pulumi download is reachable here) with the wrapper modules in tools/pulumi-cli/,
# into $SALTPIPE_CACHE/pulumi-<version>/bin. The Go module and build caches live under
# $SALTPIPE_CACHE too, so a second run (or a rebuild) is fast. Binaries are never committed.
# SALTPIPE_FORCE_BUILD=1 ignores a pulumi on PATH (the cached build is still reused).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PULUMI_VERSION="v3.274.1"
# The language host's own module is not on the proxy; sdk/v3@v3.68.0 is the newest copy of it.
NODEJS_HOST_VERSION="v3.68.0"

BIN_DIR="$SALTPIPE_CACHE/pulumi-$PULUMI_VERSION/bin"
MODULES="$SALTPIPE_ROOT/tools/pulumi-cli"
[[ "${1:-}" == "--path" ]] && WANT_PATH=1 || WANT_PATH=

# Print DIR (the CLI's directory), with --path preceded by the stand-ins when a real plugin is missing.
finish() {
  local dir="$1" missing
  if [[ -n "$WANT_PATH" ]]; then
    missing="$(PATH="$dir:$PATH" pulumi plugin ls --json 2>/dev/null | node -e '
      const have = JSON.parse(require("fs").readFileSync(0, "utf8") || "[]").filter((p) => p.kind === "resource").map((p) => p.name);
      console.log(["command", "docker", "aws", "tls"].filter((n) => !have.includes(n)).join(" "));')"
    if [[ -n "$missing" ]]; then
      log "no real plugin installed for: $missing; using the offline stand-ins in tools/standins/bin"
      echo "$SALTPIPE_ROOT/tools/standins/bin:$dir"
      exit 0
    fi
  fi
  echo "$dir"
  exit 0
}

if [[ -z "${SALTPIPE_FORCE_BUILD:-}" ]] && existing="$(command -v pulumi)" && [[ "$existing" != "$BIN_DIR/pulumi" ]]; then
  log "using the pulumi CLI on PATH: $existing ($("$existing" version 2>/dev/null || echo 'version unknown'))"
  finish "$(dirname "$existing")"
fi

if [[ -x "$BIN_DIR/pulumi" && -x "$BIN_DIR/pulumi-language-nodejs" ]]; then
  log "pulumi $PULUMI_VERSION already built in $BIN_DIR"
  finish "$BIN_DIR"
fi

# One build at a time per cache: a second caller waits for the first, then reuses its binaries.
mkdir -p "$BIN_DIR"
exec 8>"$BIN_DIR/../toolchain.lock"
flock 8
if [[ -x "$BIN_DIR/pulumi" && -x "$BIN_DIR/pulumi-language-nodejs" ]]; then
  log "pulumi $PULUMI_VERSION built in $BIN_DIR while waiting for the lock"
  finish "$BIN_DIR"
fi

command -v go >/dev/null || die "go is needed to build the Pulumi CLI (Go >= 1.26)"
export GOMODCACHE="$SALTPIPE_CACHE/go/mod" GOCACHE="$SALTPIPE_CACHE/go/build" GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
mkdir -p "$BIN_DIR"

# Pin the wrapper module to MODULE@VERSION (only when go.mod does not already say so).
pin() { # DIR MODULE VERSION
  if ! grep -qE "^\s*(require\s+)?$2 $3\b" "$1/go.mod"; then
    log "pinning $2@$3 in ${1#"$SALTPIPE_ROOT"/}"
    (cd "$1" && go get "$2@$3" && go mod tidy)
  fi
}

# Build PACKAGE from the wrapper module DIR into $BIN_DIR/NAME, logging progress every 100 packages.
build() { # DIR PACKAGE NAME [go build flags...]
  local dir="$1" pkg="$2" name="$3" logfile="${BIN_DIR%/bin}/build-$3.log"
  shift 3
  log "building $name (full log: $logfile)"
  local start=$SECONDS
  # No DWARF (-gcflags -dwarf=false, -ldflags -s -w): nothing here debugs these binaries, and
  # generating then linking it is a good part of the cold build's CPU (the critical path).
  if ! (cd "$dir" && go build -v -trimpath -gcflags=all=-dwarf=false "$@" -o "$BIN_DIR/$name.tmp.$$" "$pkg") 2>&1 | tee "$logfile" |
    awk '{ n++ } n % 100 == 0 { printf "[%s]   %d packages compiled\n", strftime("%H:%M:%S"), n > "/dev/stderr"; fflush() }'; then
    tail -n 30 "$logfile" >&2
    die "building $name failed"
  fi
  mv "$BIN_DIR/$name.tmp.$$" "$BIN_DIR/$name"
  log "built $name in $((SECONDS - start))s"
}

pin "$MODULES/language-nodejs" github.com/pulumi/pulumi/sdk/v3 "$NODEJS_HOST_VERSION"
build "$MODULES/language-nodejs" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs pulumi-language-nodejs \
  -ldflags "-s -w"

pin "$MODULES/cli" github.com/pulumi/pulumi/pkg/v3 "$PULUMI_VERSION"
pin "$MODULES/cli" github.com/pulumi/pulumi/sdk/v3 "$PULUMI_VERSION"
build "$MODULES/cli" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi pulumi \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"

log "pulumi $("$BIN_DIR/pulumi" version) ready in $BIN_DIR"
finish "$BIN_DIR"
