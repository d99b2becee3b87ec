#!/usr/bin/env bash
# No source file over 500 lines (tests included): a file that long does more than one job.
# Fixtures, snapshots, lock files and generated files are data, not code, and are left out.
#   bash scripts/file-lengths.sh [MAX]     lists every tracked source file over MAX lines, exits 1 if any
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
max="${1:-500}"
[[ $max =~ ^[1-9][0-9]*$ ]] || { echo "file-lengths: MAX '$max' is not a positive number" >&2; exit 2; }
status=0
while IFS= read -r file; do
  [[ -f $file ]] || continue
  count=$(wc -l <"$file")
  if ((count > max)); then
    echo "file-lengths: $file has $count lines (at most $max: split it by job)" >&2
    status=1
  fi
done < <(git ls-files -- '*.ts' '*.js' '*.mjs' '*.py' '*.sh' '*.sls' '*.jinja' '*.go' |
  grep -Ev '(^|/)(__snapshots__|fixtures)/|\.d\.ts$')
exit "$status"
