/**
 * scripts/prepare.sh, the machine preparation `npm test`, `npm run up:local` and `.ci/run`
 * share: run for real on steps files of its own (steps that sleep, write timestamps and fail),
 * so what is checked is the scheduler: order, concurrency, cpu slots, selection, failures.
 * The committed scripts/prepare.steps is checked for shape (every step's command exists).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const REPO = path.resolve(__dirname, "../..");
const PREPARE = path.join(REPO, "scripts/prepare.sh");

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-prepare-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs prepare.sh on STEPS (lines of a steps file); `$T` in a command is a timestamp file. */
function prepare(steps: string[], args: string[] = []) {
  const file = path.join(dir, "steps");
  fs.writeFileSync(file, steps.join("\n") + "\n");
  const r = spawnSync("bash", [PREPARE, ...args], {
    encoding: "utf8",
    env: {
      ...process.env,
      SALTPIPE_CACHE: path.join(dir, "cache"),
      SALTPIPE_PREPARE_STEPS: file,
      T: path.join(dir, "times"),
    },
  });
  return { code: r.status, out: r.stderr + r.stdout };
}

/** `NAME start|end MS` lines the test steps wrote, as { name: {start, end} }. */
function times(): Record<string, { start: number; end: number }> {
  const result: Record<string, { start: number; end: number }> = {};
  for (const line of fs.readFileSync(path.join(dir, "times"), "utf8").trim().split("\n")) {
    const [name, what, ms] = line.split(" ");
    result[name] ??= { start: 0, end: 0 };
    result[name][what as "start" | "end"] = Number(ms);
  }
  return result;
}

/** A step command that records its start and end around a sleep. */
const timed = (name: string, seconds: number) =>
  `echo "${name} start $(date +%s%3N)" >>"$T"; sleep ${seconds}; echo "${name} end $(date +%s%3N)" >>"$T"; echo "${name} finished"`;

test("independent steps run at the same time; a step starts only after what it needs is done", () => {
  const r = prepare([
    "# a comment, then blank lines are ignored",
    "",
    `a  -    up,test  io  ${timed("a", 1)}`,
    `b  -    up,test  io  ${timed("b", 1)}`,
    `c  a,b  up,test  io  ${timed("c", 0)}`,
  ]);
  expect(r.code).toBe(0);
  const t = times();
  expect(t.b.start).toBeLessThan(t.a.end); // a and b overlapped
  expect(t.c.start).toBeGreaterThanOrEqual(Math.max(t.a.end, t.b.end));
  // One line per step event, the step's own output only in its log.
  expect(r.out).toMatch(/prepare: a +started/);
  expect(r.out).toMatch(/prepare: a +done in 1\.\d s: a finished/);
  expect(r.out).toMatch(/prepare: ready +3 steps in/);
  expect(r.out).not.toMatch(/^a finished/m);
  expect(fs.readFileSync(path.join(dir, "cache/logs/prepare/a.log"), "utf8")).toBe("a finished\n");
});

test("cpu steps run one at a time, beside io steps", () => {
  const r = prepare([
    `k1  -  test  cpu  ${timed("k1", 0.6)}`,
    `k2  -  test  cpu  ${timed("k2", 0.6)}`,
    `io  -  test  io   ${timed("io", 0.6)}`,
  ]);
  expect(r.code).toBe(0);
  const t = times();
  expect(t.k2.start).toBeGreaterThanOrEqual(t.k1.end);
  expect(t.io.start).toBeLessThan(t.k1.end);
});

test("a failed step fails the run with its log's tail; what needs it is not run; the rest finishes", () => {
  const r = prepare([
    `bad   -     up,test  io  echo step output; echo "error: libfoo missing: apt-get install libfoo" >&2; exit 3`,
    `after bad   up,test  io  touch "$T.after"`,
    `last  after up,test  io  touch "$T.last"`,
    `other -     up,test  io  ${timed("other", 0.3)}`,
  ]);
  expect(r.code).toBe(1);
  expect(r.out).toMatch(/prepare: bad +FAILED after \d+\.\d s \(exit 3\); last lines of .*bad\.log:/);
  expect(r.out).toContain("| error: libfoo missing: apt-get install libfoo");
  expect(r.out).toMatch(/prepare: after +not run: it needs bad, which did not succeed/);
  expect(r.out).toMatch(/prepare: last +not run: it needs after/);
  expect(r.out).toMatch(/prepare: other +done in/);
  expect(r.out).toMatch(/prepare: FAILED +bad after last/);
  expect(fs.existsSync(`${path.join(dir, "times")}.after`)).toBe(false);
  expect(times().other.end).toBeGreaterThan(0);
});

test("--for picks the steps a command needs (and what they need); names pick steps", () => {
  const steps = [
    `base  -     test     io  echo base >>"$T.ran"`,
    `tool  base  up       io  echo tool >>"$T.ran"`,
    `lint  -     test     io  echo lint >>"$T.ran"`,
  ];
  const ran = () =>
    fs
      .readFileSync(`${path.join(dir, "times")}.ran`, "utf8")
      .trim()
      .split("\n")
      .sort();
  expect(prepare(steps, ["--for", "up"]).code).toBe(0);
  expect(ran()).toEqual(["base", "tool"]);
  fs.rmSync(`${path.join(dir, "times")}.ran`);
  expect(prepare(steps, ["lint"]).code).toBe(0);
  expect(ran()).toEqual(["lint"]);
});

test("a bad steps file or argument is refused with the line and what is wrong", () => {
  expect(prepare([`a  nope  up  io  true`]).out).toMatch(/step 'a' needs 'nope', which is not a step/);
  expect(prepare([`a  -  up  fast  true`]).out).toMatch(/steps:1: step 'a': CLASS is 'fast' \(io or cpu\)/);
  expect(prepare([`a  -  prod  io  true`]).out).toMatch(/FOR is 'prod' \(up, test or up,test\)/);
  expect(prepare([`a  -  up  io  true`, `a  -  up  io  true`]).out).toMatch(
    /steps:2: step 'a' is listed twice/,
  );
  const cycle = prepare([`a  b  up  io  true`, `b  a  up  io  true`]);
  expect(cycle.code).not.toBe(0);
  expect(cycle.out).toMatch(/a cycle in NEEDS/);
  expect(prepare([`a  -  up  io  true`], ["zz"]).out).toMatch(/unknown step 'zz' \(steps: a\)/);
});

test("the committed steps: every command names a script that exists, npm test and up:local share the core", () => {
  const lines = fs
    .readFileSync(path.join(REPO, "scripts/prepare.steps"), "utf8")
    .split("\n")
    .filter((l) => l.trim() && !l.trim().startsWith("#"))
    .map((l) => l.trim().split(/\s+/));
  const names = lines.map(([name]) => name);
  for (const [name, , forWhom, , ...command] of lines) {
    const script = command.find((w) => /^(scripts|tools)\//.test(w));
    expect({ name, script: script && fs.existsSync(path.join(REPO, script)) }).toEqual({
      name,
      script: true,
    });
    expect(forWhom).toMatch(/test/); // npm test runs every suite: it prepares every step
  }
  for (const core of [
    "os",
    "npm",
    "docker",
    "image-host",
    "image-registry",
    "wheelhouse",
    "salt",
    "pulumi",
    "standins",
  ]) {
    expect(names).toContain(core);
  }
  // up:local's hosts install Salt from the wheelhouse; the venv is only for the real-Salt tests.
  const forOf = Object.fromEntries(lines.map(([name, , forWhom]) => [name, forWhom]));
  expect({ wheelhouse: forOf.wheelhouse, salt: forOf.salt }).toEqual({ wheelhouse: "up,test", salt: "test" });
  const list = spawnSync("bash", [PREPARE, "--list"], { encoding: "utf8" });
  expect(list.status).toBe(0);
  expect(
    list.stdout
      .trim()
      .split("\n")
      .map((l) => l.split(/\s+/)[0]),
  ).toEqual(names);
});
