#!/usr/bin/env bash
# The main command: bring up (or preview, or destroy) the embedded `local` stack through
# the real Pulumi engine, from a fresh clone, offline.
#
#   scripts/local-stack.sh up        install what is missing, `pulumi up`, print the URLs (default)
#   scripts/local-stack.sh preview   `pulumi preview --diff`
#   scripts/local-stack.sh destroy   `pulumi destroy`: no container, network or volume is left
#   scripts/local-stack.sh outputs   the stack outputs as JSON
#   scripts/local-stack.sh pulumi …  any pulumi command against the local stack
#
# State lives in .state/ (gitignored): a file backend, a generated passphrase, the SSH key,
# webhook secret and notification secret this machine generated, and a working project
# (.state/project) whose Pulumi.yaml runs stacks/index.ts and whose Pulumi.local.yaml is
# the committed one plus this machine's secrets — so the committed stack file is never rewritten.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$SALTPIPE_ROOT"
action="${1:-up}"
[[ $# -gt 0 ]] && shift

# SALTPIPE_STATE_DIR and SALTPIPE_CONFIG_OVERRIDES (a JSON object of saltpipe keys merged
# over the committed file, e.g. another namePrefix and ports) let a second local
# environment run beside the first: the end-to-end tests use them.
STATE="${SALTPIPE_STATE_DIR:-$SALTPIPE_ROOT/.state}"
PROJECT="$STATE/project"
CONFIG_FILE="$PROJECT/Pulumi.local.yaml"

prepare_machine() {
  mkdir -p "$STATE"
  bash scripts/os-packages.sh >&2
  [[ -d node_modules/@pulumi/pulumi ]] || { log "installing npm dependencies"; npm ci --no-audit --no-fund >&2; }
  bash scripts/docker-engine.sh >&2
  for flavour in host registry runtime node-build; do bash scripts/base-image.sh "$flavour" >/dev/null; done
  bash scripts/setup-salt.sh --wheelhouse >&2
  local wheelhouse
  wheelhouse="$(bash scripts/setup-salt.sh --print-wheelhouse)"
  # Pulumi.local.yaml names .state/wheelhouse (relative to the project): point it at the cache.
  mkdir -p "$SALTPIPE_ROOT/.state"
  ln -sfn "$wheelhouse" "$SALTPIPE_ROOT/.state/wheelhouse"
}

prepare_engine() {
  mkdir -p "$STATE/backend"
  chmod 700 "$STATE"
  PATH="$(bash scripts/pulumi-toolchain.sh --path):$PATH"
  export PATH
  export PULUMI_BACKEND_URL="file://$STATE/backend"
  export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_SKIP_CONFIRMATIONS=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
  [[ -s "$STATE/passphrase" ]] || (umask 077 && openssl rand -hex 32 >"$STATE/passphrase")
  export PULUMI_CONFIG_PASSPHRASE_FILE="$STATE/passphrase"
  mkdir -p "$PROJECT"
  sed -e "s|^main: .*|main: $(realpath --relative-to="$PROJECT" "$SALTPIPE_ROOT/stacks/index.ts")|" Pulumi.yaml >"$PROJECT/Pulumi.yaml"
  node scripts/local-config.js Pulumi.local.yaml "$CONFIG_FILE"
  cd "$PROJECT"
  pulumi stack select local --create >/dev/null
  # Secrets are generated once per machine and only ever handed to Pulumi as secrets.
  if [[ ! -s "$STATE/ssh/id_ed25519" ]]; then
    mkdir -p "$STATE/ssh" && ssh-keygen -q -t ed25519 -N "" -C saltpipe-local -f "$STATE/ssh/id_ed25519"
  fi
  if ! grep -q "saltpipe:sshPrivateKey" "$CONFIG_FILE"; then
    pulumi config set --secret --stack local saltpipe:sshPrivateKey <"$STATE/ssh/id_ed25519" >/dev/null
  fi
  for key in webhookSecret notifySecret; do
    if ! grep -q "saltpipe:$key" "$CONFIG_FILE"; then
      openssl rand -hex 32 | pulumi config set --secret --stack local "saltpipe:$key" >/dev/null
    fi
  done
}

run_pulumi() {
  pulumi "$@" --stack local
}

case "$action" in
  up)
    prepare_machine
    prepare_engine
    run_pulumi up --yes --skip-preview "$@"
    log "local environment is up:"
    run_pulumi stack output --json
    ;;
  preview) prepare_engine && run_pulumi preview --diff "$@" ;;
  destroy) prepare_engine && run_pulumi destroy --yes --skip-preview "$@" ;;
  outputs) prepare_engine && run_pulumi stack output --json "$@" ;;
  pulumi) prepare_engine && run_pulumi "$@" ;;
  *) die "unknown action '$action' (up, preview, destroy, outputs, pulumi …)" ;;
esac
