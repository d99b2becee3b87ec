/**
 * scripts/ci/deployer-access.sh, the CI job's SSH access to the master, dry-run against a fake
 * AWS CLI (an executable that keeps the security group's rules in a JSON file and answers the
 * four EC2 calls the script makes, with the `--query … --output text` shapes the real CLI prints).
 * The workflow runs `open` before `pulumi up` and `close` with `if: always()` after it.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";

const repo = path.resolve(__dirname, "../..");
const script = path.join(repo, "scripts/ci/deployer-access.sh");
const GROUP = "sg-0123456789abcdef0";

/** The fake `aws`: state {groups: [{id, tags}], rules: [{id, group, cidr, description}]}, calls logged. */
const FAKE_AWS = `#!/usr/bin/env node
const fs = require("fs");
const file = process.env.FAKE_AWS_STATE;
const state = JSON.parse(fs.readFileSync(file, "utf8"));
const args = process.argv.slice(2);
fs.appendFileSync(file + ".log", JSON.stringify(args) + "\\n");
const opt = (name) => args[args.indexOf(name) + 1];
const [service, call] = args;
if (service !== "ec2") process.exit(3);
if (state.fail === call) { console.error("An error occurred (UnauthorizedOperation) when calling " + call); process.exit(254); }
if (call === "describe-security-groups") {
  const filters = args.filter((a) => a.startsWith("Name=tag:"));
  const ids = state.groups.filter((g) => filters.every((f) => {
    const [, key, value] = /^Name=tag:(.+),Values=(.*)$/.exec(f);
    return g.tags[key] === value;
  })).map((g) => g.id);
  console.log(ids.join("\\t"));
} else if (call === "describe-security-group-rules") {
  const group = /Values=(.*)$/.exec(opt("--filters"))[1];
  for (const r of state.rules.filter((r) => r.group === group)) console.log(r.id + "\\t" + r.description);
} else if (call === "authorize-security-group-ingress") {
  const perm = opt("--ip-permissions");
  const m = /CidrIp=([^,]+),Description="([^"]*)"/.exec(perm);
  const id = "sgr-" + (state.rules.length + 1).toString(16).padStart(17, "0");
  state.rules.push({ id, group: opt("--group-id"), cidr: m[1], description: m[2], perm });
  console.log(id);
} else if (call === "revoke-security-group-ingress") {
  const id = opt("--security-group-rule-ids");
  if (!state.rules.some((r) => r.id === id)) { console.error("InvalidSecurityGroupRuleId.NotFound"); process.exit(254); }
  state.rules = state.rules.filter((r) => r.id !== id);
} else process.exit(3);
fs.writeFileSync(file, JSON.stringify(state));
`;

interface Rule {
  id: string;
  group: string;
  cidr: string;
  description: string;
}

let dir: string;
let stateFile: string;
let envFile: string;

function writeState(rules: Rule[] = [], extra: Record<string, unknown> = {}) {
  const groups = [
    { id: GROUP, tags: { "saltpipe:access": "deployer", "saltpipe:stack": "prod" } },
    { id: "sg-0aaaaaaaaaaaaaaaa", tags: { "saltpipe:access": "deployer", "saltpipe:stack": "dev" } },
  ];
  fs.writeFileSync(stateFile, JSON.stringify({ groups, rules, ...extra }));
  fs.rmSync(`${stateFile}.log`, { force: true });
}

const state = (): { rules: Rule[] } => JSON.parse(fs.readFileSync(stateFile, "utf8"));
const calls = (): string[][] =>
  fs
    .readFileSync(`${stateFile}.log`, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync("bash", [script, ...args], {
    encoding: "utf8",
    env: {
      PATH: process.env.PATH,
      AWS: path.join(dir, "aws"),
      FAKE_AWS_STATE: stateFile,
      GITHUB_ENV: envFile,
      GITHUB_RUN_ID: "4242",
      SALTPIPE_RUNNER_IP: "198.18.7.9",
      ...env,
    },
  });
  return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-access-"));
  stateFile = path.join(dir, "state.json");
  envFile = path.join(dir, "github-env");
  fs.writeFileSync(path.join(dir, "aws"), FAKE_AWS, { mode: 0o755 });
  fs.writeFileSync(envFile, "");
  writeState();
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test("open adds one SSH rule for the runner's /32, with its run and expiry, and records its id for close", () => {
  const before = Math.floor(Date.now() / 1000);
  const r = run(["open", "--stack", "prod"]);
  expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/^sgr-[0-9a-f]+$/) });
  const [rule] = state().rules;
  expect(rule).toMatchObject({ group: GROUP, cidr: "198.18.7.9/32", id: r.stdout });
  expect(rule.description).toMatch(/^saltpipe CI 4242 until \d+$/);
  const until = Number(rule.description.split(" until ")[1]);
  expect(until - before).toBeGreaterThanOrEqual(120 * 60 - 5);
  expect(until - before).toBeLessThanOrEqual(120 * 60 + 5);
  expect((rule as Rule & { perm: string }).perm).toMatch(/^IpProtocol=tcp,FromPort=22,ToPort=22,/);
  expect(fs.readFileSync(envFile, "utf8")).toBe(`SALTPIPE_ACCESS_RULE=${r.stdout}\n`);
});

test("close removes exactly that rule; a second close finds nothing of its own and changes nothing", () => {
  const other = { id: "sgr-00000000000000abc", group: GROUP, cidr: "10.0.0.1/32", description: "by hand" };
  writeState([other]);
  const opened = run(["open", "--stack", "prod"]).stdout;
  expect(state().rules.map((r) => r.id)).toEqual([other.id, opened]);
  expect(run(["close", "--stack", "prod"], { SALTPIPE_ACCESS_RULE: opened }).code).toBe(0);
  expect(state().rules).toEqual([other]);
  const again = run(["close", "--stack", "prod"]);
  expect(again).toMatchObject({ code: 0, stderr: expect.stringMatching(/no rule of this job to remove/) });
  expect(state().rules).toEqual([other]);
});

test("open sweeps CI rules whose time has passed (a runner that died before close), and keeps the rest", () => {
  const now = Math.floor(Date.now() / 1000);
  const expired = {
    id: "sgr-000000000000000e1",
    group: GROUP,
    cidr: "198.18.0.1/32",
    description: `saltpipe CI 1 until ${now - 60}`,
  };
  const live = {
    id: "sgr-000000000000000e2",
    group: GROUP,
    cidr: "198.18.0.2/32",
    description: `saltpipe CI 2 until ${now + 600}`,
  };
  const manual = { id: "sgr-000000000000000e3", group: GROUP, cidr: "10.1.0.0/16", description: "office" };
  writeState([expired, live, manual]);
  const r = run(["open", "--stack", "prod"]);
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/removed expired rule sgr-000000000000000e1/);
  expect(state().rules.map((x) => x.id)).toEqual([live.id, manual.id, r.stdout]);
});

test("bad input and failures stop with one line naming the value, and nothing is added", () => {
  expect(run(["open", "--stack", "prod"], { SALTPIPE_RUNNER_IP: "300.1.2.3" })).toMatchObject({
    code: 1,
    stderr: "deployer-access: the runner's address '300.1.2.3' is not an IPv4 address",
  });
  expect(run(["open", "--stack", "prod"], { SALTPIPE_RUNNER_IP: "<html>" }).stderr).toMatch(
    /'<html>' is not an IPv4/,
  );
  expect(run(["open", "--stack", "bad stack"]).stderr).toBe(
    "deployer-access: --stack: 'bad stack' is not a stack name",
  );
  expect(run(["open", "--stack", "test"]).stderr).toMatch(
    /stack 'test': expected one security group tagged saltpipe:access=deployer, found 0 .*first 'pulumi up'/,
  );
  expect(run(["close", "--stack", "prod"], { SALTPIPE_ACCESS_RULE: "sgr-;rm" }).stderr).toMatch(
    /SALTPIPE_ACCESS_RULE: 'sgr-;rm' is not a security group rule id/,
  );
  expect(run(["open", "--stack", "prod"], { SALTPIPE_ACCESS_MINUTES: "0" }).stderr).toMatch(
    /SALTPIPE_ACCESS_MINUTES: '0'/,
  );
  writeState([], { fail: "authorize-security-group-ingress" });
  expect(run(["open", "--stack", "prod"])).toMatchObject({
    code: 1,
    stderr: expect.stringMatching(/could not add the rule for 198\.18\.7\.9\/32 to sg-0123456789abcdef0$/),
  });
  expect(state().rules).toEqual([]);
  expect(fs.readFileSync(envFile, "utf8")).toBe("");
  expect(run(["frobnicate"]).code).toBe(2);
});

test("the dev stack's group is never touched by prod's job", () => {
  run(["open", "--stack", "prod"]);
  expect(
    calls()
      .filter((c) => c.includes("--group-id"))
      .map((c) => c[c.indexOf("--group-id") + 1]),
  ).toEqual([GROUP]);
});

describe("the workflow's up job", () => {
  const wf = parse(fs.readFileSync(path.join(repo, ".github/workflows/pipeline.yml"), "utf8"));
  const steps: any[] = wf.jobs.up.steps;
  const at = (pred: (s: any) => boolean) => steps.findIndex(pred);
  const open = at((s) => /deployer-access\.sh open/.test(s.run ?? ""));
  const up = at((s) => s.uses?.startsWith("pulumi/actions@"));
  const close = at((s) => /deployer-access\.sh close/.test(s.run ?? ""));
  const credentials = at((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));

  test("opens after the AWS credentials and before up; closes after up, whatever happened", () => {
    expect(credentials).toBeGreaterThanOrEqual(0);
    expect([credentials < open, open < up, up < close]).toEqual([true, true, true]);
    expect(steps[open].id).toBe("access");
    expect(steps[close].if).toBe("always() && steps.access.outcome != 'skipped'");
    expect(steps[open].if).toBe("vars.SALTPIPE_DEPLOY_ACCESS != 'self-hosted'");
  });

  test("the stack reaches the script through env, never spliced into the script", () => {
    for (const i of [open, close]) {
      expect(steps[i].env).toEqual({ STACK: "${{ needs.route.outputs.stack }}" });
      expect(steps[i].run).not.toMatch(/\$\{\{/);
    }
  });
});
