#!/usr/bin/env bash
# `npm test`: every suite the project has. A suite whose prerequisite is missing fails
# with a message saying what to install; none passes by skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json --noEmit
npx tsc -p app/tsconfig.json --noEmit
npx jest --selectProjects unit app salt engine policy package "$@"
