/**
 * scripts/lint.sh (`npm run lint`): a missing checker fails the lint, saying what to install,
 * before any checker runs (it never passes by skipping one). That it passes on the repo is
 * `npm run lint` itself (CI's test job, .ci/run).
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const repo = path.resolve(__dirname, "../..");
const which = (tool: string) =>
  execFileSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim();

/** Runs lint.sh with a PATH holding only TOOLS (symlinks), in a fresh cache. */
function lintWith(tools: string[], env: Record<string, string> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-lint-"));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  for (const tool of tools) fs.symlinkSync(which(tool), path.join(bin, tool));
  const r = spawnSync(which("bash"), [path.join(repo, "scripts/lint.sh")], {
    cwd: repo,
    encoding: "utf8",
    env: { PATH: bin, HOME: dir, SALTPIPE_CACHE: path.join(dir, "cache"), ...env },
    timeout: 120_000,
  });
  fs.rmSync(dir, { recursive: true, force: true });
  return r;
}

const BASE_TOOLS = ["bash", "dirname", "mkdir", "date", "git", "head", "grep", "sed", "cut", "sha256sum"];

test("without shellcheck: fails saying how to install it", () => {
  const r = lintWith(BASE_TOOLS);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain("shellcheck not found: install it (Debian/Ubuntu: apt-get install shellcheck)");
  expect(r.stderr).not.toContain("lint: eslint"); // nothing ran
});

test("without the PyPI checkers and no way to install them: fails saying what to run", () => {
  const r = lintWith([...BASE_TOOLS, "shellcheck"], { SALTPIPE_PYTHON: "python-that-is-not-there" });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain("python-that-is-not-there not found: install Python 3 with venv");
  expect(r.stderr).toContain(
    "zizmor and hadolint are missing and could not be installed: run bash scripts/setup-lint.sh",
  );
  expect(r.stderr).not.toContain("lint: eslint");
});
