/**
 * salt-lint (pinned in requirements/salt-lint.txt, installed by `npm run setup:salt`) on
 * every SLS of salt-states/ (formulas, reactors, pillar top) with all rules on.
 * pillar.example is linted too, with one rule off: 205 ("use .sls as a Salt State file
 * extension") - `pillar.example` is the formula convention's name for the example pillar,
 * not a state file. Jinja helpers (map.jinja, files/**.jinja) are not SLS and are covered by
 * the render tests instead.
 */
import * as fs from "fs";
import * as path from "path";
import { STATES_DIR, run, saltBin } from "./helpers";

jest.setTimeout(60_000);

function slsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? slsFiles(p) : e.name.endsWith(".sls") ? [p] : [];
  });
}

test("salt-lint passes on every SLS with all rules", async () => {
  const files = slsFiles(STATES_DIR);
  expect(files.length).toBeGreaterThan(20);
  const res = await run(saltBin("salt-lint"), ["--nocolor", ...files]);
  expect(res.stdout + res.stderr).toBe("");
  expect(res.code).toBe(0);
});

test("salt-lint passes on pillar.example (rule 205 off: not a state file)", async () => {
  const res = await run(saltBin("salt-lint"), [
    "--nocolor",
    "-x",
    "205",
    path.join(STATES_DIR, "pillar.example"),
  ]);
  expect(res.stdout + res.stderr).toBe("");
  expect(res.code).toBe(0);
});
