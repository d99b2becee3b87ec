# shellcheck shell=bash
# Shared helpers for the project's shell scripts. Source it; do not run it.
# Caches live outside the repo, keyed by version, so a second run reuses them.
SALTPIPE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SALTPIPE_CACHE="${SALTPIPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/saltpipe}"
export SALTPIPE_ROOT SALTPIPE_CACHE
mkdir -p "$SALTPIPE_CACHE"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Hold an exclusive lock named NAME (a file under $SALTPIPE_CACHE/locks) until this shell
# exits, so two callers never build the same cache entry at once (the second one waits,
# then finds it built). Usage: cache_lock pulumi-toolchain
cache_lock() {
  mkdir -p "$SALTPIPE_CACHE/locks"
  local fd
  exec {fd}>"$SALTPIPE_CACHE/locks/$1.lock"
  flock "$fd"
}
