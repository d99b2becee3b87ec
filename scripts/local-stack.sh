#!/usr/bin/env bash
# The main command: bring up (or preview, or destroy) the embedded `local` stack through
# the real Pulumi engine, from a fresh clone, offline.
#
#   scripts/local-stack.sh up        install what is missing, `pulumi up`, print the app's one URL
#                                    (the load balancer) first, then what to do next (default)
#   scripts/local-stack.sh up --watch  … and follow the first deploy live (saltpipe watch)
#   scripts/local-stack.sh preview   `pulumi preview --diff`
#   scripts/local-stack.sh destroy   `pulumi destroy`: no container, network or volume is left
#   scripts/local-stack.sh outputs   the stack outputs as JSON
#   scripts/local-stack.sh login     `docker login` to the local registry as the pipeline (pushes need it)
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
# SALTPIPE_STACK (default `local`) runs another stack the same way, from
# SALTPIPE_STACK_FILE (default Pulumi.<stack>.yaml of the repository): e.g. an `existing`
# stack of servers this machine reaches, with this machine's file backend and secrets.
STATE="${SALTPIPE_STATE_DIR:-$SALTPIPE_ROOT/.state}"
STACK="${SALTPIPE_STACK:-local}"
[[ $STACK =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "SALTPIPE_STACK: invalid stack name '$STACK'"
STACK_FILE="${SALTPIPE_STACK_FILE:-$SALTPIPE_ROOT/Pulumi.$STACK.yaml}"
[[ -f $STACK_FILE ]] || die "no stack file $STACK_FILE (SALTPIPE_STACK_FILE)"
PROJECT="$STATE/project"
CONFIG_FILE="$PROJECT/Pulumi.$STACK.yaml"

# One preparation step: its output goes to a log; shown (the tail) only when it fails.
step() {
  local what="$1" started=$SECONDS steplog
  shift
  steplog="$STATE/logs/${what// /-}.log"
  mkdir -p "$STATE/logs"
  if "$@" >"$steplog" 2>&1; then
    log "$what: ok ($((SECONDS - started)) s)"
  else
    local code=$?
    log "$what: FAILED (exit $code); its output ($steplog):"
    tail -n 40 "$steplog" >&2
    exit "$code"
  fi
}

# The machine preparation `npm test` and `.ci/run` share (scripts/prepare.steps, FOR has up):
# npm dependencies, Docker engine, base images, Salt wheelhouse, Pulumi CLI, concurrently.
prepare_machine() {
  mkdir -p "$STATE"
  step "machine preparation" bash scripts/prepare.sh --for up
  local wheelhouse
  wheelhouse="$(bash scripts/setup-salt.sh --print-wheelhouse)"
  # Pulumi.local.yaml names .state/wheelhouse (relative to the project): point it at the cache.
  mkdir -p "$SALTPIPE_ROOT/.state"
  ln -sfn "$wheelhouse" "$SALTPIPE_ROOT/.state/wheelhouse"
}

# The Pulumi CLI's environment for this stack: PATH (TOOLCHAIN first), backend, passphrase.
engine_env() {
  PATH="$1:$PATH"
  export PATH
  export PULUMI_BACKEND_URL="file://$STATE/backend"
  export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_SKIP_CONFIRMATIONS=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
  export PULUMI_CONFIG_PASSPHRASE_FILE="$STATE/passphrase"
}

prepare_engine() {
  mkdir -p "$STATE/backend"
  chmod 700 "$STATE"
  local toolchain
  toolchain="$(bash scripts/pulumi-toolchain.sh --path 2>"$STATE/pulumi-toolchain.log")" || {
    cat "$STATE/pulumi-toolchain.log" >&2
    die "the Pulumi toolchain is not ready (log above)"
  }
  [[ -s "$STATE/passphrase" ]] || (umask 077 && openssl rand -hex 32 >"$STATE/passphrase")
  engine_env "$toolchain"
  mkdir -p "$PROJECT"
  sed -e "s|^main: .*|main: $(realpath --relative-to="$PROJECT" "$SALTPIPE_ROOT/stacks/index.ts")|" Pulumi.yaml >"$PROJECT/Pulumi.yaml"
  # The program is type-checked here with the repo's own strict tsconfig, incrementally
  # (`tsc -b`: about a second when nothing changed), so the engine only transpiles it:
  # its ts-node check (default options, weaker) re-checked every file on every run (~10 s).
  export PULUMI_NODEJS_TRANSPILE_ONLY=true
  node scripts/local-config.js "$STACK_FILE" "$CONFIG_FILE"
  cd "$PROJECT"
  pulumi stack select "$STACK" --create >/dev/null
  # Secrets are generated once per machine and only ever handed to Pulumi as secrets.
  if [[ ! -s "$STATE/ssh/id_ed25519" ]]; then
    mkdir -p "$STATE/ssh" && ssh-keygen -q -t ed25519 -N "" -C "saltpipe-$STACK" -f "$STATE/ssh/id_ed25519"
  fi
  if ! grep -q "saltpipe:sshPrivateKey" "$CONFIG_FILE"; then
    pulumi config set --secret --stack "$STACK" saltpipe:sshPrivateKey <"$STATE/ssh/id_ed25519" >/dev/null
  fi
  # Made here when missing: the webhook and notification secrets, and on the local cloud the
  # pipeline's push password of the local registry. hookTlsKey only ever comes from the caller.
  local generated=(webhookSecret notifySecret)
  [[ $(stack_cloud) == local ]] && generated+=(registryPassword)
  for key in "${generated[@]}" hookTlsKey; do
    if ! grep -q "saltpipe:$key" "$CONFIG_FILE"; then
      if [[ -s "$STATE/$key" ]]; then
        # A secret the caller prepared (e.g. shared with a registry it runs itself).
        pulumi config set --secret --stack "$STACK" "saltpipe:$key" <"$STATE/$key" >/dev/null
      elif [[ " ${generated[*]} " == *" $key "* ]]; then
        openssl rand -hex 32 | pulumi config set --secret --stack "$STACK" "saltpipe:$key" >/dev/null
      fi
    fi
  done
}

# The stack's cloud from its working config file (local unless it says otherwise).
stack_cloud() {
  NODE_PATH="$SALTPIPE_ROOT/node_modules" node -e 'const c = require("yaml").parse(require("fs").readFileSync(process.argv[1], "utf8"))?.config ?? {};
    process.stdout.write(String(c["saltpipe:cloud"] ?? "local"))' "$CONFIG_FILE"
}

# `docker login` to the stack's local registry as the pipeline; the password goes by stdin only.
registry_login() {
  local server user
  server="$(run_pulumi stack output registry)" || die "no registry output: run \`npm run up:local\` first"
  server="${server%%/*}"
  user="$(NODE_PATH="$SALTPIPE_ROOT/node_modules" node -e 'const c = require("yaml").parse(require("fs").readFileSync(process.argv[1], "utf8"))?.config ?? {};
    process.stdout.write(String(c["saltpipe:registry"]?.username ?? "saltpipe"))' "$CONFIG_FILE")"
  run_pulumi config get saltpipe:registryPassword | docker login -u "$user" --password-stdin "$server"
}

run_pulumi() {
  pulumi "$@" --stack "$STACK"
}

# What the operator command (infra/cli) asks on every call: `stack output`, `config get`.
# Once a run prepared the project, they need the engine's environment only - not the plugin
# check, the config rewrite and the stack selection (about 0.3 s a call). False: prepare.
read_only_engine() {
  [[ (${1:-} == stack && ${2:-} == output) || (${1:-} == config && ${2:-} == get) ]] || return 1
  [[ -s $CONFIG_FILE && -s $STATE/passphrase && -d $STATE/backend ]] || return 1
  local toolchain
  toolchain="$(bash scripts/pulumi-toolchain.sh 2>/dev/null)" || return 1
  engine_env "$toolchain"
  cd "$PROJECT"
}

# Type errors in the program (stacks/ and what it imports) stop here, named by tsc; the
# build info lives in the state directory, one per environment.
check_program() {
  local config="$STATE/tsconfig.program.json"
  # Rewritten only when it changes: tsc -b takes a newer config for a reason to check again.
  cat >"$config.new" <<EOF
{
  "extends": "$SALTPIPE_ROOT/tsconfig.json",
  "compilerOptions": {
    "noEmit": true, "incremental": true, "tsBuildInfoFile": "$STATE/program.tsbuildinfo",
    "types": ["node"], "typeRoots": ["$SALTPIPE_ROOT/node_modules/@types"]
  },
  "include": ["$SALTPIPE_ROOT/stacks/**/*.ts"]
}
EOF
  if cmp -s "$config.new" "$config"; then rm "$config.new"; else mv "$config.new" "$config"; fi
  local start
  start="$(date +%s)"
  "$SALTPIPE_ROOT/node_modules/.bin/tsc" -b "$config" >&2 ||
    die "the Pulumi program does not type-check (above); nothing was changed"
  # With noEmit, tsc -b leaves its build info as it was when nothing changed, so the next run
  # would find it older than its inputs and check everything again: date it to this check's
  # start (a file edited since is newer, and checked next time).
  touch -d "@$start" "$STATE/program.tsbuildinfo"
}

# `saltpipe` (infra/cli) against this local stack, with the engine prepared above.
saltpipe() {
  node "$SALTPIPE_ROOT/node_modules/ts-node/dist/bin.js" --transpile-only --project "$SALTPIPE_ROOT/tsconfig.json" \
    "$SALTPIPE_ROOT/infra/cli/main.ts" "$@" --stack "$STACK" --cwd "$PROJECT"
}

case "$action" in
  up)
    watch=false
    args=()
    for arg in "$@"; do [[ "$arg" == "--watch" ]] && watch=true || args+=("$arg"); done
    prepare_machine
    prepare_engine
    check_program
    # The engine's progress goes to stderr: stdout starts with the app's one URL.
    run_pulumi up --yes --skip-preview "${args[@]}" >&2
    outputs="$(run_pulumi stack output --json)"
    node "$SALTPIPE_ROOT/scripts/local-summary.js" --url <<<"$outputs"
    if $watch; then
      digest="$(grep -o 'sha256:[0-9a-f]\{64\}' <<<"$outputs" | head -n1)"
      log "following the deploy of ${digest:-the next push} (saltpipe watch)"
      saltpipe watch ${digest:+--digest "$digest"} --timeout 600 || die "the deploy did not succeed (saltpipe status --stack $STACK shows why)"
    fi
    node "$SALTPIPE_ROOT/scripts/local-summary.js" <<<"$outputs"
    ;;
  saltpipe) prepare_engine && saltpipe "$@" ;;
  login) prepare_engine && registry_login ;;
  preview) prepare_engine && check_program && run_pulumi preview --diff "$@" ;;
  destroy) prepare_engine && run_pulumi destroy --yes --skip-preview "$@" ;;
  outputs) prepare_engine && run_pulumi stack output --json "$@" ;;
  pulumi)
    if ! read_only_engine "$@"; then
      prepare_engine
      [[ ${1:-} == up || ${1:-} == preview ]] && check_program
    fi
    run_pulumi "$@"
    ;;
  *) die "unknown action '$action' (up, preview, destroy, outputs, login, pulumi …, saltpipe …)" ;;
esac
