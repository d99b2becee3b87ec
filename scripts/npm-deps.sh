#!/usr/bin/env bash
# npm dependencies (`npm ci`), only when node_modules does not match package-lock.json:
# every package the lock file names (optional ones excepted) must be installed at its
# locked version. Checking takes ~0.1 s; `npm ci` (a fresh machine, a changed lock) ~20 s.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SALTPIPE_ROOT"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  die "node and npm are needed (Node.js >= 20: https://nodejs.org/en/download, or your package manager)"
fi

# Prints the first package that is missing or at another version than locked; nothing when all match.
stale() {
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    const fs = require("fs");
    const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
    for (const [where, meta] of Object.entries(lock.packages ?? {})) {
      if (where === "" || meta.link) continue;
      let version;
      try { version = JSON.parse(fs.readFileSync(`${where}/package.json`, "utf8")).version; } catch { version = undefined; }
      if (version?.replace(/^[v=]+/, "") === meta.version) continue; // some write "v1.2.3"
      if (version === undefined && meta.optional) continue; // another platform`s binary
      console.log(`${where} (${version ?? "missing"}, locked ${meta.version})`);
      process.exit(0);
    }'
}

first="$(stale)"
if [[ -z $first ]]; then
  log "npm dependencies match package-lock.json"
  exit 0
fi
cache_lock "npm-$(printf %s "$SALTPIPE_ROOT" | sha256sum | cut -c1-12)"
first="$(stale)"
[[ -z $first ]] && exit 0 # another caller installed them while we waited
log "installing npm dependencies: $first"
npm ci --no-audit --no-fund
log "npm dependencies installed"
