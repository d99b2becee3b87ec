#!/usr/bin/env bash
# `npm test`: prepares the machine (scripts/prepare.sh: the same step `npm run up:local` and
# `.ci/run` call; a few seconds when everything is cached), then runs every suite the project
# has. A suite whose prerequisite is missing fails with a message saying what to install;
# none passes by skipping.
# Light suites run in parallel; the ones that start real daemons, containers and the
# Pulumi engine run one project at a time so they do not starve each other on 2 cores.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
status=0

# A failed step is reported (with its log's tail) and fails the run; the suites still run,
# so the ones that do not need it give their answer too.
bash scripts/prepare.sh || { status=1; echo "npm test: the machine preparation failed (above); suites that need it will fail" >&2; }

npx tsc -p tsconfig.json --noEmit || status=1
npx tsc -p app/tsconfig.json --noEmit || status=1

run_jest() {
  local name="$1"
  shift
  local start=$SECONDS
  npx jest --json --outputFile="$results/$name.json" "$@" || status=1
  durations+=("$name $((SECONDS - start))s")
}
durations=()
run_jest light --selectProjects unit app policy
# Two files at once: each starts its own Salt daemons on free ports under its own temp root,
# and they mostly wait on them (2 workers: 130 s here, against about 300 s with jest's one).
run_jest salt --selectProjects salt --maxWorkers=2
run_jest engine --selectProjects engine package
run_jest e2e --selectProjects e2e --runInBand --testPathIgnorePatterns '(existing|aws-events|operator|shape)\.test\.ts'
# The suites below bring up environments of their own, one after the other.
# The saltpipe command against its own local stack.
run_jest operator --selectProjects e2e --runInBand test/e2e/operator.test.ts
# Existing servers (made by the test, outside Pulumi).
run_jest existing --selectProjects e2e --runInBand test/e2e/existing.test.ts
# The AWS event path against the moto emulator.
run_jest aws-events --selectProjects e2e --runInBand test/e2e/aws-events.test.ts
# The production shape of the local twin (load balancer, jump host, TLS hook).
run_jest shape --selectProjects e2e --runInBand test/e2e/shape.test.ts

# One closing line for all suites together ("total: N passed, M failed").
node -e '
  const fs = require("fs"), dir = process.argv[1];
  let passed = 0, failed = 0;
  for (const f of fs.readdirSync(dir)) {
    const r = JSON.parse(fs.readFileSync(dir + "/" + f, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
  }
  console.log("total: " + passed + " passed, " + failed + " failed");
' "$results"
echo "suite times: ${durations[*]}"
exit "$status"
