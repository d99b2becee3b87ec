/**
 * The deploy gates of a prod-like environment, for real on the local stack: a semver tag
 * policy, an approval gate with expiry, a pre-switch step run from the new image, and
 * signed outcome notifications to a receiver (running inside the master's host, so the
 * master reaches it on 127.0.0.1), including a receiver that never answers.
 *
 * One minion is enough for the gates (rolling behaviour is the pipeline suite's); its own
 * state dir, names and ports, so it runs beside a user's `local` environment.
 */
import { createHmac } from "crypto";
import * as path from "path";
import { PACKAGE_ROOT } from "../../infra/paths";
import { Load, servedVersion } from "./support/http";
import { sleep, waitFor } from "./support/run";
import { docker, EventWatch, LocalStack, type PushedImage, type StackOutputs } from "./support/stack";

jest.setTimeout(30 * 60_000);

const RECEIVER_PORT = 9876;
const RECEIVER_LOG = "/root/notifications.jsonl";
const NOTIFY_TIMEOUT_S = 3;
const EXPIRES_MINUTES = 1;
/** The pre-switch step fails for this version only (it exits 3 from the new image). */
const FAILING_PRESWITCH_VERSION = "1.4.0";
const DEPLOY_BOUND_MS = 90_000;

const DEPLOY = {
  batch: "1",
  healthTimeoutSeconds: 30,
  drainSeconds: 2,
  tagPolicy: "semver:^1.0.0",
  approval: { required: true, expiresMinutes: EXPIRES_MINUTES },
  preSwitch: {
    command: [
      "node",
      "-e",
      `process.exit(process.env.APP_VERSION === "${FAILING_PRESWITCH_VERSION}" ? 3 : 0)`,
    ],
    timeoutSeconds: 60,
  },
  notify: {
    urls: [`http://127.0.0.1:${RECEIVER_PORT}/saltpipe`],
    timeoutSeconds: NOTIFY_TIMEOUT_S,
    retries: 1,
  },
  reconcileSeconds: 10,
};

const stack = new LocalStack("saltpipe-gate", {
  appPortBase: 28280,
  registryPort: 25200,
  config: { minions: 1, deploy: DEPLOY },
});

let outputs: StackOutputs;
let events: EventWatch;
const timings: Record<string, number> = {};

const tag = (event: string) => `saltpipe/deploy/local/${event}`;

async function served(): Promise<string | undefined> {
  return servedVersion(outputs.appUrls[0]).catch(() => undefined);
}

async function waitServing(version: string): Promise<number> {
  const start = Date.now();
  await waitFor(`the minion to serve ${version}`, DEPLOY_BOUND_MS, async () =>
    (await served()) === version ? true : undefined,
  );
  return Date.now() - start;
}

/** The first master event `event` about `digest` (waits for it). */
function eventFor(event: string, digest: string, timeoutMs = DEPLOY_BOUND_MS) {
  return waitFor(`${event} of ${digest}`, timeoutMs, async () =>
    events.matching(tag(event)).find((e) => e.data.digest === digest),
  );
}

/** Pushes version `version` under the semver tag `version` itself. */
async function pushSemver(version: string): Promise<PushedImage> {
  return stack.push(await stack.build(outputs.registry, version, { tag: version }));
}

async function ops(...args: string[]) {
  const result = await stack.ops(...args);
  return { ...result, text: result.stdout + result.stderr };
}

/** The audit trail as `saltpipe history --audit --json` shows it (status leaves the audit out). */
async function auditText(): Promise<string> {
  const history = await ops("history", "--audit", "--json", "--limit", "1000");
  if (history.code !== 0) throw new Error(`history exited ${history.code}: ${history.text}`);
  return JSON.stringify((JSON.parse(history.stdout) as { items: unknown[] }).items);
}

interface Delivery {
  readonly headers: Record<string, string>;
  readonly body: string;
}

async function deliveries(): Promise<Delivery[]> {
  const log = await stack.onHost("master", `cat ${RECEIVER_LOG} 2>/dev/null || true`);
  return log
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Delivery);
}

async function startReceiver(mode: "answer" | "hang"): Promise<void> {
  await stack.onHost("master", "pkill -f '[s]altpipe-receiver.py' || true");
  await docker(
    "exec",
    "-d",
    stack.container("master"),
    "python3",
    "/root/saltpipe-receiver.py",
    String(RECEIVER_PORT),
    RECEIVER_LOG,
    mode,
  );
  await waitFor("the receiver to listen", 10_000, async () =>
    (await stack.onHost("master", `ss -ltn 'sport = :${RECEIVER_PORT}' | tail -n +2`)).trim()
      ? true
      : undefined,
  );
}

beforeAll(async () => {
  ({ outputs, ms: timings.upFromNothing } = await stack.upFresh());
  events = new EventWatch(stack.container("master"));
  await docker(
    "cp",
    path.join(PACKAGE_ROOT, "test/e2e/support/receiver.py"),
    `${stack.container("master")}:/root/saltpipe-receiver.py`,
  );
  await startReceiver("answer");
});

afterAll(async () => {
  events?.stop();
  await stack.cleanUp();
  console.log(`e2e gates timings (ms): ${JSON.stringify(timings)}`);
});

describe("the gates of a prod-like environment", () => {
  let approveMs: number;

  test("an invalid tag policy fails the preview, naming the key and the stack file", async () => {
    const result = await stack.scriptResult(["preview"], {
      deploy: { ...DEPLOY, tagPolicy: "semver:>=banana" },
    });
    expect(result.code).not.toBe(0);
    const text = result.stdout + result.stderr;
    expect(text).toContain("saltpipe:deploy.tagPolicy");
    expect(text).toContain('invalid semver comparator ">=banana"');
    expect(text).toContain("Pulumi.local.yaml");
  });

  test("the image `up` pushed (tag local-<commit>) is outside the semver policy: ignored and recorded", async () => {
    const status = JSON.parse((await ops("status", "--json")).stdout) as { current: string | null };
    expect(status.current ?? null).toBeNull();
    expect(await auditText()).toMatch(/is not a semantic version \(policy semver:\^1\.0\.0\)/);
  });

  test("a push waits for approval; `approve` deploys it", async () => {
    const v100 = await pushSemver("1.0.0");
    await eventFor("pending-approval", v100.digest);
    await sleep(3000);
    expect(await served()).toBeUndefined();
    const approved = await ops("approve");
    expect({ code: approved.code, text: approved.text }).toEqual({ code: 0, text: expect.any(String) });
    await waitServing("1.0.0");
    const outcome = await eventFor("outcome", v100.digest);
    expect(outcome.data).toMatchObject({ result: true, approver: expect.stringMatching(/@/) });
  });

  test("a newer push supersedes the pending one; `reject` drops it and nothing deploys", async () => {
    const v110 = await pushSemver("1.1.0");
    await eventFor("pending-approval", v110.digest);
    const v120 = await pushSemver("1.2.0");
    const pending = await eventFor("pending-approval", v120.digest);
    expect(JSON.stringify(pending.data.superseded)).toContain(v110.digest);
    const rejected = await ops("reject");
    expect(rejected.code).toBe(0);
    await eventFor("rejected", v120.digest);
    await sleep(3000);
    expect(await served()).toBe("1.0.0");
    expect(
      events.matching(tag("start")).filter((e) => [v110.digest, v120.digest].includes(String(e.data.digest))),
    ).toEqual([]);
  });

  test("tag policy: an in-policy tag deploys; an out-of-policy tag and a downgrade do nothing and are recorded", async () => {
    const v130 = await pushSemver("1.3.0");
    await eventFor("pending-approval", v130.digest);
    const start = Date.now();
    const approved = await ops("approve");
    approveMs = Date.now() - start;
    expect(approved.code).toBe(0);
    await waitServing("1.3.0");

    const v200 = await pushSemver("2.0.0");
    const outside = await eventFor("ignored", v200.digest);
    expect(outside.data.reason).toBe("tag 2.0.0 is outside semver:^1.0.0");
    const v125 = await pushSemver("1.2.5");
    const downgrade = await eventFor("ignored", v125.digest);
    expect(downgrade.data.reason).toBe("tag 1.2.5 is a downgrade from 1.3.0 (only a rollback goes back)");
    await sleep(3000);
    expect(await served()).toBe("1.3.0");
    const audit = await auditText();
    expect(audit).toContain("tag 2.0.0 is outside semver:^1.0.0");
    expect(audit).toContain("tag 1.2.5 is a downgrade from 1.3.0");
  });

  test("a failing pre-switch step: the deploy is reported failed and the old version keeps serving, no request fails", async () => {
    const failing = await pushSemver(FAILING_PRESWITCH_VERSION);
    await eventFor("pending-approval", failing.digest);
    const load = new Load(outputs.appUrls, 20).start();
    const approved = await ops("approve");
    const outcome = await eventFor("outcome", failing.digest);
    await sleep(2000);
    const report = await load.stop();
    expect(approved.code).not.toBe(0);
    expect(outcome.data.result).toBe(false);
    expect(String(outcome.data.reason)).toMatch(/^pre-switch step failed on /);
    expect(await served()).toBe("1.3.0");
    expect(report.failures).toEqual([]);
    expect(report.versions["1.3.0"]).toBeGreaterThan(0);
  });

  test("a pending push expires: it never deploys, and approve then has nothing to approve", async () => {
    const late = await pushSemver("1.5.0");
    const pending = await eventFor("pending-approval", late.digest);
    const pendingAt = Date.now();
    expect(pending.data.expires).toEqual(expect.any(String));
    // Expired by the reconcile engine (every deploy.reconcileSeconds), with no other action.
    await eventFor("approval-expired", late.digest, (EXPIRES_MINUTES * 60 + 60) * 1000);
    timings.pendingToExpired = Date.now() - pendingAt;
    const approved = await ops("approve");
    expect(approved.code).not.toBe(0);
    expect(approved.text).toContain("no push of local waits for approval");
    expect(await served()).toBe("1.3.0");
  });

  test("every notification is signed with the notify secret, and each kind of outcome was sent", async () => {
    const secret = await stack.secret("notifySecret");
    const received = await waitFor("the notifications to arrive", 30_000, async () => {
      const all = await deliveries();
      const kinds = new Set(all.map((d) => d.headers["X-Saltpipe-Event"]));
      const wanted = [
        "pending-approval",
        "started",
        "succeeded",
        "failed",
        "ignored",
        "rejected",
        "approval-expired",
      ];
      return wanted.every((k) => kinds.has(k)) ? all : undefined;
    });
    const bad = received.filter((d) => {
      const body = Buffer.from(d.body, "base64");
      const want = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
      return d.headers["X-Saltpipe-Signature"] !== want;
    });
    expect(bad).toEqual([]);
    expect(received.length).toBeGreaterThanOrEqual(7);
  });

  test("a receiver that never answers: the deploy still finishes, slowed by at most the notify timeout", async () => {
    await startReceiver("hang");
    const v160 = await pushSemver("1.6.0");
    await eventFor("pending-approval", v160.digest);
    const start = Date.now();
    const approved = await ops("approve");
    timings.approveWithHungReceiver = Date.now() - start;
    timings.approveWithReceiver = approveMs;
    expect(approved.code).toBe(0);
    await waitServing("1.6.0");
    // The rollout never waits on a receiver; the command's exit waits one timeout at most.
    expect(timings.approveWithHungReceiver).toBeLessThanOrEqual(approveMs + NOTIFY_TIMEOUT_S * 1000 + 3000);
  });

  test("tear-down removes every container, network and volume it made", async () => {
    await stack.destroy();
    expect(await stack.leftovers()).toEqual([]);
  });
});
