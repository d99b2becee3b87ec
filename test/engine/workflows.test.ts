/**
 * .github/workflows/pipeline.yml: actionlint passes (built from the Go module proxy by
 * scripts/actionlint.sh, shellcheck on every run: script), and the workflow does what the README
 * promises: tests everywhere, preview on pull requests, up on pushes to dev/test/main only.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";

jest.setTimeout(5 * 60_000); // the first run builds actionlint (about 20 s on 2 cores)

const repo = path.resolve(__dirname, "../..");
const script = path.join(repo, "scripts/actionlint.sh");
const wf = parse(fs.readFileSync(path.join(repo, ".github/workflows/pipeline.yml"), "utf8"));
const jobs: Record<string, any> = wf.jobs;
const STACK = "${{ needs.route.outputs.stack }}";
/** pulumi/actions v7.0.0, by commit (`git rev-parse v7.0.0^{commit}` in a mirror of pulumi/actions). */
const PULUMI_ACTION = "pulumi/actions@8e5e406f4007fca908480587cb9893c07090f58d";
/** The raw text of the workflow and of every local action: pins carry their release in a comment. */
const rawFiles = [
  path.join(repo, ".github/workflows/pipeline.yml"),
  ...fs
    .readdirSync(path.join(repo, ".github/actions"))
    .map((n) => path.join(repo, ".github/actions", n, "action.yml")),
].map((file) => fs.readFileSync(file, "utf8"));

/** Every step of the workflow and of its local composite actions, with the job it belongs to. */
const localActions = fs
  .readdirSync(path.join(repo, ".github/actions"))
  .map((name) => parse(fs.readFileSync(path.join(repo, ".github/actions", name, "action.yml"), "utf8")));
const allSteps: { job: string; step: any }[] = [
  ...Object.entries(jobs).flatMap(([job, j]) => (j.steps ?? []).map((step: any) => ({ job, step }))),
  ...localActions.flatMap((a) => a.runs.steps.map((step: any) => ({ job: a.name, step }))),
];
const pulumiStep = (job: string) => jobs[job].steps.find((s: any) => s.uses?.startsWith("pulumi/actions@"));
const runs = (job: string) => jobs[job].steps.map((s: any) => s.run ?? "").join("\n");

/** Run scripts/actionlint.sh; on failure the error carries its stderr (e.g. "install Go ≥1.25"). */
function actionlint(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync("bash", [script, ...args], { cwd: repo, encoding: "utf8", env });
  if (r.status !== 0) {
    throw new Error(
      `scripts/actionlint.sh ${args.join(" ")} failed (exit ${r.status}):\n${r.stderr}${r.stdout}`,
    );
  }
  return r.stdout.trim();
}

describe("actionlint", () => {
  test("is built once, keyed by version, and reused", () => {
    const bin = actionlint(["--print-path"]); // builds it on the first run (needs Go ≥1.25)
    expect(bin).toMatch(/\/actionlint-v1\.7\.12\/bin\/actionlint$/);
    const start = Date.now();
    expect(actionlint(["--print-path"])).toBe(bin);
    expect(Date.now() - start).toBeLessThan(2000);
    expect(execFileSync(bin, ["-version"], { encoding: "utf8" })).toMatch(/^v1\.7\.12\n/);
  });

  test("passes on .github/workflows, with shellcheck checking the run: scripts", () => {
    expect(actionlint([])).toBe("");
    expect(spawnSync("shellcheck", ["--version"]).status).toBe(0); // the script installed it or stopped
    // actionlint reads only workflows: the local composite actions' scripts get shellcheck here.
    for (const a of localActions) {
      for (const step of a.runs.steps.filter((s: any) => s.run)) {
        const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: step.run, encoding: "utf8" });
        expect({ action: a.name, step: step.name, findings: r.stdout }).toEqual({
          action: a.name,
          step: step.name,
          findings: "",
        });
      }
    }
  });

  test("without Go and without a cached binary, the script says what to install", () => {
    // A PATH holding only what lib.sh needs, so no `go` can be found wherever it is installed.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-nogo-"));
    for (const tool of ["dirname", "mkdir", "date"]) {
      fs.symlinkSync(
        execFileSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim(),
        path.join(bin, tool),
      );
    }
    const bash = execFileSync("bash", ["-c", "command -v bash"], { encoding: "utf8" }).trim();
    const r = spawnSync(bash, [script, "--print-path"], {
      encoding: "utf8",
      env: { PATH: bin, HOME: bin, SALTPIPE_CACHE: path.join(bin, "cache") },
    });
    fs.rmSync(bin, { recursive: true, force: true });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("go not found: install Go ≥1.25");
  });
});

describe("pipeline.yml", () => {
  test("runs on every push to a branch and on every pull request (never pull_request_target)", () => {
    expect(Object.keys(wf.on).sort()).toEqual(["pull_request", "push"]);
    expect(wf.on.push).toEqual({ branches: ["**"] });
    expect(wf.on.pull_request ?? {}).toEqual({});
  });

  test("one step maps the branch (a PR's base branch) to its stack: dev→dev, test→test, main→prod", () => {
    const step = jobs.route.steps.find((s: any) => s.id === "map");
    expect(jobs.route.outputs.stack).toBe("${{ steps.map.outputs.stack }}");
    expect(step.env.BRANCH).toBe("${{ github.base_ref || github.ref_name }}");
    const stackOf = (branch: string) => {
      const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-route-")), "output");
      execFileSync("bash", ["-e", "-c", step.run], {
        env: { ...process.env, BRANCH: branch, GITHUB_OUTPUT: out },
      });
      const text = fs.readFileSync(out, "utf8");
      fs.rmSync(path.dirname(out), { recursive: true });
      return text;
    };
    expect(stackOf("dev")).toBe("stack=dev\n");
    expect(stackOf("test")).toBe("stack=test\n");
    expect(stackOf("main")).toBe("stack=prod\n");
    for (const other of ["feature/x", "prod", "maintenance", "dev2"]) expect(stackOf(other)).toBe("stack=\n");
    // Nobody else knows the mapping: stacks come from the route job's output.
    for (const job of ["preview", "up"]) {
      expect(jobs[job].needs).toContain("route");
      expect(pulumiStep(job).with["stack-name"]).toBe(STACK);
    }
    expect(Object.entries(jobs).filter(([name]) => name !== "route" && /main\)/.test(runs(name)))).toEqual(
      [],
    );
  });

  test("every push and pull request: npm ci, lint, unit/app/policy tests, workflow lint, one app image build", () => {
    expect(jobs.test.if).toBeUndefined();
    expect(jobs.build.if).toBeUndefined();
    const test = runs("test");
    for (const cmd of [
      "npm ci",
      "npm run lint",
      "npm run test:unit",
      "npm run test:app",
      "npm run test:policy",
    ]) {
      expect(test).toContain(cmd);
    }
    expect(test).toContain("test/engine/workflows.test.ts");
    const builds = Object.keys(jobs).filter((job) => /docker build/.test(runs(job)));
    expect(builds).toEqual(["build"]);
    expect(jobs.full.steps.map((s: any) => s.run).filter(Boolean)).toEqual(["bash .ci/run"]);
    // The heavy suites run on a runner you name, never for a fork's pull request.
    expect(jobs.full["runs-on"]).toBe("${{ vars.SALTPIPE_FULL_RUNNER }}");
    expect(jobs.full.if).toContain("github.event.pull_request.head.repo.full_name == github.repository");
  });

  test("pull request: preview --diff of the base branch's stack, with the policy pack, commented on the PR", () => {
    const j = jobs.preview;
    expect(j.if).toMatch(/github\.event_name == 'pull_request'/);
    expect(j.if).toContain("needs.route.outputs.stack != ''");
    expect(j.steps.findIndex((s: any) => /npm ci/.test(s.run ?? ""))).toBeLessThan(
      j.steps.indexOf(pulumiStep("preview")),
    );
    expect(pulumiStep("preview")).toMatchObject({
      uses: PULUMI_ACTION,
      with: {
        command: "preview",
        "stack-name": STACK,
        diff: true,
        "comment-on-pr": true,
        "github-token": "${{ secrets.GITHUB_TOKEN }}",
        policyPacks: "policy",
      },
    });
    expect(j.concurrency).toEqual({
      group: `pulumi-preview-${STACK}-pr\${{ github.event.pull_request.number }}`,
      "cancel-in-progress": true,
    });
  });

  test("push to dev/test/main only: up of that stack, in its Environment, one at a time, never cancelled", () => {
    const j = jobs.up;
    expect(j.if).toMatch(/github\.event_name == 'push'/);
    expect(j.if).toContain("needs.route.outputs.stack != ''");
    expect(j.if).toContain("!failure()");
    expect(j.needs).toEqual(expect.arrayContaining(["route", "test", "build"]));
    expect(j.environment).toBe(STACK);
    expect(j.concurrency).toEqual({ group: `pulumi-up-${STACK}`, "cancel-in-progress": false });
    expect(j.steps.findIndex((s: any) => /npm ci/.test(s.run ?? ""))).toBeLessThan(
      j.steps.indexOf(pulumiStep("up")),
    );
    expect(pulumiStep("up")).toMatchObject({
      uses: PULUMI_ACTION,
      with: { command: "up", "stack-name": STACK, policyPacks: "policy" },
    });
    // No other job changes a stack.
    const changers = Object.keys(jobs).filter((job) =>
      /^(up|update|destroy|refresh)$/.test(pulumiStep(job)?.with?.command ?? ""),
    );
    expect(changers).toEqual(["up"]);
    expect(Object.keys(jobs).map(runs).join("\n")).not.toMatch(/pulumi (up|destroy)/);
  });

  test("uses only pulumi/actions v7 inputs (actionlint v1.7.12 knows that action only up to v6)", () => {
    // From pulumi/actions action.yml at tag v7 (7.0.0).
    const v7 = new Set(
      `command stack-name pulumi-version pulumi-version-file work-dir comment-on-pr comment-on-pr-number
       comment-on-summary github-token cloud-url secrets-provider parallel message config-map expect-no-changes
       diff replace exclude exclude-dependents target target-dependents policyPacks policyPackConfigs refresh
       upsert remove edit-pr-comment color exclude-protected plan suppress-outputs suppress-progress
       always-include-summary continue-on-error log-verbosity log-flow debug`.split(/\s+/),
    );
    for (const job of ["preview", "up"]) {
      expect(Object.keys(pulumiStep(job).with).filter((input) => !v7.has(input))).toEqual([]);
    }
  });

  test("permissions are least privilege: read by default, writes only where needed", () => {
    expect(wf.permissions).toEqual({ contents: "read" });
    expect(jobs.route.permissions).toEqual({});
    const writes = Object.fromEntries(
      Object.entries(jobs).map(([name, j]) => [
        name,
        Object.entries(j.permissions ?? {})
          .filter(([, level]) => level === "write")
          .map(([scope]) => scope)
          .sort(),
      ]),
    );
    expect(writes).toEqual({
      route: [],
      test: [],
      build: [],
      full: [],
      preview: ["id-token", "pull-requests"],
      up: ["id-token"],
    });
    expect(JSON.stringify(wf)).not.toMatch(/write-all|read-all/);
  });

  test("secrets come from repository/environment secrets, AWS by OIDC, and no run: script sees or prints one", () => {
    const used = new Set<string>();
    for (const { step } of allSteps) {
      const text = JSON.stringify({ with: step.with, env: step.env });
      for (const m of text.matchAll(/secrets\.([A-Za-z_]+)/g)) used.add(m[1]);
      expect(step.run ?? "").not.toMatch(
        /secrets\.|PULUMI_ACCESS_TOKEN|PULUMI_CONFIG_PASSPHRASE|AWS_ROLE_ARN/,
      );
      expect(step.with ?? {}).not.toHaveProperty("aws-access-key-id"); // OIDC, not static keys
    }
    expect([...used].sort()).toEqual([
      "AWS_ROLE_ARN",
      "GITHUB_TOKEN",
      "PULUMI_ACCESS_TOKEN",
      "PULUMI_BACKEND_URL",
      "PULUMI_CONFIG_PASSPHRASE",
    ]);
    // The hosts' SSH key and the webhook secret are Pulumi stack secrets, never workflow secrets.
    expect(JSON.stringify(wf)).not.toMatch(/sshPrivateKey|webhookSecret|SSH_PRIVATE_KEY|WEBHOOK/i);
    // Job-level env holds no secret (it would reach every step).
    for (const j of Object.values(jobs)) expect(JSON.stringify(j.env ?? {})).not.toContain("secrets.");
    expect(JSON.stringify(wf.env ?? {})).not.toContain("secrets.");
  });

  test("every third-party action is pinned to a full commit SHA, its release in a comment", () => {
    const refs = allSteps.map(({ step }) => step.uses).filter(Boolean);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      if (ref.startsWith("./")) continue;
      expect(ref).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
    }
    const lines = rawFiles.flatMap((text) => text.split("\n")).filter((l) => /^\s*(- )?uses: [^.]/.test(l));
    expect(lines.length).toBe(refs.filter((r: string) => !r.startsWith("./")).length);
    for (const line of lines) expect(line).toMatch(/@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    // One release per action everywhere.
    const byAction = new Map<string, Set<string>>();
    for (const ref of refs.filter((r: string) => !r.startsWith("./"))) {
      const [name, sha] = ref.split("@");
      byAction.set(name, (byAction.get(name) ?? new Set()).add(sha));
    }
    for (const [name, shas] of byAction) expect({ name, shas: shas.size }).toEqual({ name, shas: 1 });
  });

  test("checkouts keep no credentials; one run per branch or pull request at a time", () => {
    const checkouts = allSteps.filter(({ step }) => step.uses?.startsWith("actions/checkout@"));
    expect(checkouts.length).toBeGreaterThan(0);
    for (const { job, step } of checkouts)
      expect({ job, persist: step.with?.["persist-credentials"] }).toEqual({ job, persist: false });
    expect(wf.concurrency).toEqual({
      group: "${{ github.workflow }}-${{ github.event_name }}-${{ github.ref }}",
      // Pull requests: a new push cancels the old run. Pushes queue: an `up` is never cancelled.
      "cancel-in-progress": "${{ github.event_name == 'pull_request' }}",
    });
  });
});
