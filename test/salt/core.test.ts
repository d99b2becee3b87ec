/**
 * The master-side lifecycle library (salt-states/lib/saltpipe_core) under plain unittest,
 * with the pinned Salt venv's Python: record, claims, ordering, policy, audit, notifications
 * and the deploy loop over a fake Salt port (test/salt/python/). Fast (a few seconds); the
 * real-Salt paths are in pipeline.test.ts and lifecycle.test.ts.
 */
import * as path from "path";
import { REPO, run, saltBin } from "./helpers";

jest.setTimeout(60_000);

test("saltpipe_core unit tests pass", async () => {
  const res = await run(
    saltBin("python"),
    ["-m", "unittest", "discover", "-s", path.join(REPO, "test/salt/python"), "-p", "test_*.py", "-v"],
    { cwd: REPO, env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" } },
  );
  const summary = res.stderr.split("\n").filter((l) => /^(Ran |OK|FAILED)/.test(l));
  expect({ code: res.code, summary, log: res.code === 0 ? "" : res.stderr }).toEqual({
    code: 0,
    summary: [expect.stringMatching(/^Ran \d+ tests/), expect.stringMatching(/^OK/)],
    log: "",
  });
});
