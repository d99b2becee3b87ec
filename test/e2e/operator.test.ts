/**
 * The operator's side for real, on the local stack: `up:local` as a person sees it (no
 * tracebacks, a closing summary), the app and `saltpipe status` agreeing on the digest,
 * `saltpipe watch` following a real push (JSON lines, in order, exit 0), an unhealthy push
 * (exit 1 with the reason), `watch` under a pseudo-terminal (the rendered lines), the master's
 * operator engine answering the command's own request script (and salt-run without it), and
 * `rollback --watch` and `history`.
 *
 * Its own state dir, names and ports (prefix saltpipe-ops), so it runs beside a user's `local`.
 */
import { spawn } from "child_process";
import { PACKAGE_ROOT } from "../../infra/paths";
import { OPERATOR_DIR, operatorRequestScript } from "../../infra/cli/master";
import { get } from "./support/http";
import { run, sleep, waitFor } from "./support/run";
import { LocalStack, OPERATOR_CLI, type PushedImage, type StackOutputs } from "./support/stack";

jest.setTimeout(30 * 60_000);

const stack = new LocalStack("saltpipe-ops", { appPortBase: 20080, registryPort: 21580 });
const WATCH_BOUND_MS = 5 * 60_000;

let outputs: StackOutputs;
let upText = "";

interface Watched {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Starts `saltpipe watch` (or another command given in `args`), waits until it says it is
 * watching (the event stream is subscribed), runs `during`, then waits for it to end.
 * With `pty`, it runs under `script` (a pseudo-terminal), as a person's terminal would.
 */
async function watching(during: () => Promise<unknown>, opts: { pty?: boolean; args?: string[] } = {}) {
  const argv = [
    "node_modules/.bin/ts-node",
    "--transpile-only",
    OPERATOR_CLI,
    ...(opts.args ?? ["watch"]),
    "--stack",
    "local",
  ];
  const [file, args] = opts.pty
    ? ["script", ["-qfec", `COLUMNS=200 ${argv.map((a) => `'${a}'`).join(" ")}`, "/dev/null"]]
    : [argv[0], argv.slice(1)];
  const child = spawn(file, args, {
    cwd: PACKAGE_ROOT,
    env: { ...process.env, ...stack.env, TERM: "xterm" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const ended = new Promise<Watched>((resolve) =>
    child.on("close", (code) => resolve({ code: code ?? 255, stdout, stderr })),
  );
  const timer = setTimeout(() => child.kill("SIGTERM"), WATCH_BOUND_MS);
  try {
    await waitFor("saltpipe watch to subscribe", 180_000, async () => {
      if (child.exitCode !== null)
        throw new Error(`watch ended early (${child.exitCode}): ${stdout}${stderr}`);
      return /watching/.test(stdout) ? true : undefined;
    });
    await during();
    return await ended;
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null) child.kill("SIGTERM");
  }
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** `event`, `event step minion` or `batch N` per JSON line. */
function sequence(events: Record<string, unknown>[]): string[] {
  return events.map((e) =>
    e.event === "minion"
      ? `minion ${String(e.minion)} ${String(e.step)}`
      : e.event === "batch"
        ? `batch ${String(e.index)}/${String(e.of)} ${(e.minions as string[]).join(",")}`
        : String(e.event),
  );
}

const ESC = String.fromCharCode(27);
/** What a terminal shows: per line, the text after the last "erase line", colours removed. */
function screen(output: string): string[] {
  return output
    .replace(/\r\n/g, "\n")
    .split("\n")
    .map((line) => line.split(`\r${ESC}[2K`).at(-1) ?? "")
    .map((line) => line.replace(new RegExp(`${ESC}\\[\\d+m`, "g"), ""))
    .filter((line) => line.trim() !== "");
}

async function versionOf(url: string): Promise<{ version: string; imageDigest: string | null }> {
  const reply = await get(`${url}version`);
  return JSON.parse(reply.body) as { version: string; imageDigest: string | null };
}

async function push(version: string, healthy = true): Promise<PushedImage> {
  return stack.pushVersion(outputs.registry, version, { healthy });
}

beforeAll(async () => {
  await stack.forceClean();
  const up = await stack.scriptResult(["up"]);
  upText = up.stdout + up.stderr;
  if (up.code !== 0) {
    const errors = upText.split("\n").filter((l) => /error|fail/i.test(l));
    const tail = upText.split("\n").slice(-30);
    throw new Error(`up:local exited ${up.code}:\n${errors.slice(-30).join("\n")}\n…\n${tail.join("\n")}`);
  }
  outputs = await stack.outputs();
}, 40 * 60_000);

afterAll(async () => {
  await stack.destroy().catch(() => undefined);
  await stack.cleanUp();
}, 10 * 60_000);

test("up:local speaks to a person: no traceback, no JSON blob, a closing summary", () => {
  expect(upText).not.toMatch(/Traceback|salt\/utils\/crypt\.py|key\.encode/);
  expect(upText).not.toMatch(/^\s*"appUrls": \[/m);
  expect(upText).toMatch(/machine preparation: ok \(\d+ s\)/);
  expect(upText).toContain("The local environment is up.");
  expect(upText).toContain(`Open the app:     ${outputs.appUrl}`);
  expect(upText).toMatch(
    new RegExp(`docker build -t ${outputs.registry}:local-\\d+ --build-arg APP_VERSION=local-\\d+ app`),
  );
  expect(upText).toMatch(new RegExp(`docker push ${outputs.registry}:local-\\d+`));
  for (const cmd of [
    "npm run watch -- --stack local",
    "npm run rollback -- --stack local",
    "npm run destroy:local",
  ])
    expect(upText).toContain(cmd);
});

test("the app knows its digest, and `saltpipe status` agrees with it on every minion", async () => {
  const digest = /sha256:[0-9a-f]{64}/.exec(outputs.imageDigest)?.[0];
  await waitFor("the first deploy", 180_000, async () =>
    (await versionOf(outputs.appUrls[0]).catch(() => undefined))?.imageDigest === digest ? true : undefined,
  );
  // Minion 1 serves before the rolling deploy reaches minion 2 and the record says current.
  const parsed = await waitFor("the record to say the first deploy is current", 180_000, async () => {
    const status = await stack.ops("status", "--json");
    if (status.code !== 0) throw new Error(`status exited ${status.code}: ${status.stderr}`);
    const s = JSON.parse(status.stdout) as {
      current: string;
      claim: { live: boolean } | null;
      minions: { id: string; digest: string }[];
    };
    return s.current === digest && !s.claim?.live ? s : undefined;
  });
  expect(parsed.current).toBe(digest);
  expect(parsed.minions.map((m) => m.id)).toEqual(["minion-1", "minion-2"]);
  for (const [i, url] of outputs.appUrls.entries()) {
    const app = await versionOf(url);
    expect({ minion: parsed.minions[i].id, app: app.imageDigest }).toEqual({
      minion: parsed.minions[i].id,
      app: parsed.minions[i].digest,
    });
  }
  const page = await get(outputs.appUrls[0]);
  expect(page.body).toContain(`<th>image</th><td>${digest}</td>`);

  const human = await stack.ops("status");
  expect(human.stdout).toMatch(/^ {2}current {3}[0-9a-f]{12} {2}tag local-\S+ {2}since /m);
  expect(human.stdout).toMatch(new RegExp(`^minion-1 +${digest!.slice(7, 19)} +yes `, "m"));
  expect(human.stdout).not.toContain("audit");
});

test("watch during a real push: the event, each batch, each minion's steps, the outcome, exit 0", async () => {
  let pushed: PushedImage | undefined;
  const w = await watching(async () => {
    pushed = await push("2.0.0");
  });
  expect({ code: w.code, stderr: w.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  const events = jsonLines(w.stdout);
  const steps = (m: string) =>
    ["pull", "start", "healthy", "switched", "draining"].map((s) => `minion ${m} ${s}`);
  // "queued" when the periodic reconcile held the environment as the push arrived: it runs next.
  expect(sequence(events).filter((e) => e !== "queued")).toEqual([
    "watching",
    "start",
    "batch 1/2 minion-1",
    ...steps("minion-1"),
    "batch 2/2 minion-2",
    ...steps("minion-2"),
    "outcome",
    "end",
  ]);
  expect(events[1]).toMatchObject({ digest: pushed!.digest, tag: pushed!.tag });
  expect(events.at(-2)).toMatchObject({ event: "outcome", result: true, digest: pushed!.digest });
  expect((await versionOf(outputs.appUrls[1])).imageDigest).toBe(pushed!.digest);
});

test("watch during an unhealthy push: exit 1 with the reason", async () => {
  const w = await watching(() => push("2.1.0-broken", false));
  expect(w.code).toBe(1);
  const events = jsonLines(w.stdout);
  expect(events.find((e) => e.event === "minion" && e.step === "failed")).toMatchObject({
    minion: "minion-1",
    reason: expect.stringContaining("health check failed"),
  });
  expect(events.at(-1)).toMatchObject({
    event: "end",
    code: 1,
    message: expect.stringMatching(/failed in [\d.]+ s: batch 1 failed/),
  });
  expect((await versionOf(outputs.appUrls[0])).version).toBe("2.0.0");
});

test("watch on a terminal: the rendered progress lines", async () => {
  const w = await watching(() => push("2.2.0"), { pty: true });
  expect(w.code).toBe(0);
  const lines = screen(w.stdout);
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
  const order = [
    /^watching environment local; Ctrl-C stops watching/,
    /^deploy [0-9a-f]{12} \(tag local-2\.2\.0\): push, batch 1, replacing [0-9a-f]{12}$/,
    /^batch 1\/2: minion-1$/,
    // Two batches: the rollout pre-pulled the image on both minions before the first one.
    /^ {2}minion-1 +pull +(image already present|pulled )/,
    /^ {2}minion-1 +start +started app-(blue|green) /,
    /^ {2}minion-1 +healthy +healthy: http:\/\/127\.0\.0\.1:\d+\/healthz answered 200$/,
    /^ {2}minion-1 +switched +proxy switched to /,
    /^ {2}minion-1 +draining +draining app-(blue|green) \(detached\)$/,
    /^batch 2\/2: minion-2$/,
    /^ {2}minion-2 +draining /,
    /^outcome: succeeded$/,
    /^✔ deployed [0-9a-f]{12} in [\d.]+ s$/,
  ];
  const positions = order.map(at);
  expect({ lines, positions }).toEqual({ lines, positions: [...positions].sort((a, b) => a - b) });
  expect(positions.every((p) => p >= 0)).toBe(true);
});

test("the master's operator engine answers the command's requests; a master without it is asked through salt-run", async () => {
  // The very script the command runs over SSH, here through docker exec on the master.
  const script = operatorRequestScript("root", `e2e-${Date.now().toString(36)}`, "saltpipe.status", [
    "local",
    "audit=0",
    "live=False",
  ]);
  const started = Date.now();
  const answer = JSON.parse(await stack.onHost("master", script)) as {
    code: number;
    data: { result: boolean; environment: string };
  };
  expect(answer).toMatchObject({ code: 0, data: { result: true, environment: "local" } });
  expect(Date.now() - started).toBeLessThan(5000);
  const dirs = `${OPERATOR_DIR}/requests ${OPERATOR_DIR}/answers`;
  expect(await stack.onHost("master", `stat -c '%a %U' ${OPERATOR_DIR} ${dirs}`)).toBe(
    "700 root\n".repeat(3),
  );
  expect(await stack.onHost("master", `find ${dirs} -mindepth 1`)).toBe("");
  // A master without the engine (an older one; here: asked where it has none) is asked
  // through salt-run: the request is never written.
  const status = await run(
    "node_modules/.bin/ts-node",
    ["--transpile-only", OPERATOR_CLI, "status", "--json", "--stack", "local"],
    { env: { ...stack.env, SALTPIPE_OPERATOR_DIR: "/nonexistent/saltpipe/operator" }, timeoutMs: 120_000 },
  );
  expect({ code: status.code, current: (JSON.parse(status.stdout) as { current: string }).current }).toEqual({
    code: 0,
    current: expect.stringMatching(/^sha256:/),
  });
});

test("rollback --watch follows its deploy; history lists the deploys, the audit only with --audit", async () => {
  await sleep(1000);
  const w = await watching(async () => undefined, { args: ["rollback", "--watch", "--json"] });
  expect(w.code).toBe(0);
  const events = jsonLines(w.stdout);
  expect(events.find((e) => e.event === "start")).toMatchObject({ kind: "rollback" });
  expect(events.find((e) => e.event === "outcome")).toMatchObject({ result: true });
  expect((await versionOf(outputs.appUrls[0])).version).toBe("2.0.0");

  const history = await stack.ops("history", "--limit", "3");
  expect(history.code).toBe(0);
  expect(history.stdout).toMatch(/^FINISHED +DIGEST +TAG +KIND +RESULT/m);
  expect(history.stdout).toMatch(/ rollback +ok /);
  expect(history.stdout).toMatch(/page 1 of \d+/);
  const failed = JSON.parse((await stack.ops("history", "--result", "failed", "--json")).stdout) as {
    items: { tag: string }[];
  };
  expect(failed.items.map((d) => d.tag)).toEqual(["local-2.1.0-broken"]);
  const audit = await stack.ops("history", "--audit", "--event", "rollback-requested");
  expect(audit.stdout).toMatch(/rollback-requested/);
});
