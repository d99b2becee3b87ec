#!/usr/bin/env bash
# Project-local Salt for the real-Salt tests (`npm run setup:salt`), and an offline
# wheelhouse of the same pins for hosts that install Salt with the `pip` method.
#
#   scripts/setup-salt.sh               venv in $SALTPIPE_CACHE/salt-<ver>-py<pyver>-<pins>/ (reused when complete)
#   scripts/setup-salt.sh --wheelhouse  also build $SALTPIPE_CACHE/wheelhouse-salt-<ver>-py<pyver>-<pins>/
#                                       first, and install the venv's Salt from it (one download)
#   scripts/setup-salt.sh --wheelhouse-only  only the wheelhouse (what `up:local`'s hosts install
#                                       from; the venv is for the real-Salt tests)
#   scripts/setup-salt.sh --print-venv  print the venv path and exit (used by the tests' error messages)
#   scripts/setup-salt.sh --print-wheelhouse  print the wheelhouse path and exit
# <pins> is a hash of the pin files: a changed closure builds beside the old one, never over it.
#   scripts/setup-salt.sh --force       rebuild the venv even if it looks complete
#
# Environment: SALTPIPE_PYTHON (default python3) picks the interpreter.
# Pins: requirements/salt.txt (Salt + CherryPy closure), requirements/salt-lint.txt (dev only).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

want_wheelhouse=0
force=0
print_only=0
for arg in "$@"; do
  case "$arg" in
    --wheelhouse) want_wheelhouse=1 ;;
    --wheelhouse-only) want_wheelhouse=2 ;;
    --force) force=1 ;;
    --print-venv) print_only=1 ;;
    --print-wheelhouse) print_only=2 ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown argument: $arg (try --help)" ;;
  esac
done

req="$SALTPIPE_ROOT/requirements/salt.txt"
lint_req="$SALTPIPE_ROOT/requirements/salt-lint.txt"
[[ -f $req ]] || die "missing $req"
salt_version="$(sed -n 's/^salt==\([0-9.]*\)$/\1/p' "$req")"
[[ -n $salt_version ]] || die "no exact 'salt==<version>' pin in $req"

python="${SALTPIPE_PYTHON:-python3}"
command -v "$python" >/dev/null || die "$python not found (set SALTPIPE_PYTHON)"
pyver="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
# The venv is complete when this stamp holds the hash of both pin files.
pins_hash="$(cat "$req" "$lint_req" | sha256sum | cut -c1-16)"
venv="$SALTPIPE_CACHE/salt-$salt_version-py$pyver-$pins_hash"
wheelhouse="$SALTPIPE_CACHE/wheelhouse-salt-$salt_version-py$pyver-$pins_hash"
stamp="$venv/.saltpipe-complete"

if ((print_only == 1)); then
  echo "$venv"
  exit 0
elif ((print_only == 2)); then
  echo "$wheelhouse"
  exit 0
fi

# The wheelhouse: every pinned wheel, built once from PyPI with this interpreter's pip.
ensure_wheelhouse() {
  if [[ -f $wheelhouse/.saltpipe-complete && "$(cat "$wheelhouse/.saltpipe-complete")" == "$pins_hash" ]]; then
    log "wheelhouse present: $wheelhouse"
    return
  fi
  "$python" -m pip --version >/dev/null 2>&1 || die "$python has no pip (apt-get install python3-pip)"
  log "building wheelhouse $wheelhouse (pip wheel -r requirements/salt.txt)"
  rm -rf "$wheelhouse"
  mkdir -p "$wheelhouse"
  "$python" -m pip wheel --disable-pip-version-check --progress-bar off -q -r "$req" -w "$wheelhouse"
  # pip and setuptools too, so an offline host can upgrade its venv's pip first.
  "$python" -m pip download --disable-pip-version-check --progress-bar off -q pip setuptools wheel -d "$wheelhouse"
  cp "$req" "$wheelhouse/requirements.txt"
  echo "$pins_hash" >"$wheelhouse/.saltpipe-complete"
  log "wheelhouse ready: $(find "$wheelhouse" -name '*.whl' | wc -l) wheels; install offline with:"
  log "  pip install --no-index --find-links $wheelhouse -r $wheelhouse/requirements.txt"
}

# Complete = stamped with the pins' hash, every entry point there, the interpreter the venv
# was made from still there, the pinned salt installed; with `import`, also importable (run
# after an install; a warm run checks files only, as starting Python takes a second or two).
venv_complete() {
  [[ -f $stamp && "$(cat "$stamp")" == "$pins_hash" ]] || return 1
  local bin
  for bin in salt-master salt-minion salt-api salt-call salt-run salt-key salt-lint; do
    [[ -x $venv/bin/$bin ]] || return 1
  done
  [[ -x "$(sed -n 's/^executable = //p' "$venv/pyvenv.cfg")" ]] || return 1
  compgen -G "$venv/lib/python*/site-packages/salt-$salt_version.dist-info" >/dev/null || return 1
  [[ ${1:-} != import ]] ||
    "$venv/bin/python" -c "import sys, cherrypy, salt.version; sys.exit(salt.version.__version__ != '$salt_version')" 2>/dev/null
}

# One builder at a time: a second caller waits here, then finds the venv complete.
cache_lock "salt-$salt_version-py$pyver"
if ((want_wheelhouse)); then
  ensure_wheelhouse
  if ((want_wheelhouse == 2)); then
    echo "$wheelhouse"
    exit 0
  fi
fi
if ((force == 0)) && venv_complete; then
  log "salt venv present: $venv (salt $salt_version, python $pyver)"
else
  log "creating salt venv $venv (salt $salt_version, python $pyver)"
  # venvs hard-code their path, so build at the final path; the stamp written last marks
  # it complete, so a half-built venv is never mistaken for a complete one.
  rm -rf "$venv"
  "$python" -m venv "$venv"
  log "pip install -r requirements/salt.txt (first run: ~1-3 min)"
  # From the wheelhouse when there is one: nothing downloaded or built twice, and an
  # offline install proves the wheelhouse complete, as the hosts will need it.
  from_wheelhouse=()
  ((want_wheelhouse)) && from_wheelhouse=(--no-index --find-links "$wheelhouse")
  "$venv/bin/pip" install --disable-pip-version-check --progress-bar off -q "${from_wheelhouse[@]}" -r "$req"
  log "pip install -r requirements/salt-lint.txt"
  "$venv/bin/pip" install --disable-pip-version-check --progress-bar off -q -r "$lint_req"
  echo "$pins_hash" >"$stamp"
  venv_complete import || die "salt venv at $venv is incomplete after install"
fi
log "salt $salt_version" # venv_complete checked that this is the version installed

# The real-Salt tests put nginx (the hook proxy) in front of salt-api, as on a master.
if command -v nginx >/dev/null; then
  log "nginx present: $(command -v nginx)"
elif [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  log "installing nginx-light (the tests' hook proxy; Debian package, not started)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx-light >/dev/null ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx-light >/dev/null; } ||
    die "could not install nginx-light"
else
  log "warning: nginx not found; the salt tests need it (apt-get install nginx-light)"
fi

echo "$venv"
