/**
 * Issue 16, deploy path, with real Salt (master + salt-api + the hook proxy + minions) and a
 * real registry (Debian's docker-registry) on 127.0.0.1. Each test failed before its fix:
 *
 * 1. the master verifies every push with the registry before any minion job;
 * 2. unauthenticated requests cost nothing: refused by nginx (no event, no job, no audit
 *    line; counted), no credential reaches the event bus, and a real push deploys during a
 *    flood of forged requests at the proxy's limit;
 * 3. an event timestamped far in the future is refused; `saltpipe.reset_order` is audited;
 * 6. a minion configured `test: True` never counts as deployed (deploys run with test=False);
 * 10. the pillar with the registry password goes to the environment's minion ids only, not to
 *     a minion that claims the grains; a minion cannot fire another minion's start event;
 * 12. an approver with a long host name is accepted, a malformed one refused.
 */
import * as fs from "fs";
import { Cluster } from "./cluster";
import {
  REGISTRY_CONTENT_TYPE,
  post,
  randomDigest,
  registryEnvelope,
  run,
  saltBin,
  sleep,
  type SaltEvent,
} from "./helpers";

// One environment's ids: the app minion, and a rogue that has an accepted key and claims its grains.
const [GOOD, ROGUE] = ["hard-minion-1", "hard-rogue-1"];
const [ENV, REPO, SECRET] = ["dev", "saltpipe/app", "hardening-test-secret-0a1b2c3d4e5f"];

jest.setTimeout(300_000);

const isJob = (fun: string) => (e: SaltEvent) => /^salt\/job\/\d+\/new$/.test(e.tag) && e.data.fun === fun;
const isRun = (fun: string) => (e: SaltEvent) => /^salt\/run\/\d+\/new$/.test(e.tag) && e.data.fun === fun;

describe("a plan-only environment with one app minion and one rogue minion", () => {
  // ROGUE has an accepted key and claims the environment's grains, but is not one of its minion ids.
  const cluster = new Cluster({
    environment: ENV,
    repository: REPO,
    secret: SECRET,
    minions: [GOOD, ROGUE],
    appMinions: [GOOD],
    lifecycle: { reconcileSeconds: 3600 },
  });
  beforeAll(() => cluster.start());
  afterAll(() => cluster.stop());

  const deployJobs = () => cluster.events.find(isJob("state.sls"));

  test("1: a push the registry does not hold, or whose tag points elsewhere, is refused and audited; no minion job", async () => {
    const jobs = deployJobs().length;
    const missing = randomDigest();
    await cluster.push({ digest: missing, tag: "dev-missing" });
    const elsewhere = await cluster.image("dev-moved");
    await cluster.image("dev-moved"); // the tag moves on to a newer image
    await cluster.push({ digest: elsewhere, tag: "dev-moved" });
    const refused = await cluster.events.waitForCount(
      "two refusals",
      (e) => e.tag === `saltpipe/hook/${ENV}/refused`,
      2,
      60_000,
    );
    expect(refused.map((e) => e.data.reason).join("\n")).toMatch(
      /registry does not hold saltpipe\/app@sha256:[0-9a-f]{64}/,
    );
    expect(refused.map((e) => e.data.reason).join("\n")).toMatch(
      /tag dev-moved of saltpipe\/app resolves to sha256:[0-9a-f]{64}, not/,
    );
    // A real one deploys (only to the environment's own minion id).
    const { digest } = await cluster.push({ tag: "dev-real-1" });
    const outcome = await cluster.outcome(digest);
    expect(outcome.data.result).toBe(true);
    expect(Object.keys(outcome.data.minions as object)).toEqual([GOOD]);
    expect(deployJobs().length - jobs).toBe(1);
    for (const job of deployJobs()) {
      expect(JSON.stringify(job.data)).not.toContain(missing);
      expect(JSON.stringify(job.data)).not.toContain(elsewhere);
    }
    const status = (await cluster.runner("status", [ENV])).json;
    const audited = status.audit.filter((a: { event: string }) => a.event === "refused");
    expect(audited.map((a: { digest: string }) => a.digest)).toEqual(
      expect.arrayContaining([missing, elsewhere]),
    );
    expect(status.current).toBe(digest);
  });

  test("2: forged requests are refused by the proxy at no cost; a real push deploys during a flood at the limit", async () => {
    const since = cluster.events.events.length;
    const auditBefore = (await cluster.runner("status", [ENV])).json.audit.length;
    const forged = (i: number) =>
      post(
        cluster.hookUrl,
        registryEnvelope({ repository: REPO, tag: `dev-forged-${i}`, digest: randomDigest() }),
        {
          "Content-Type": REGISTRY_CONTENT_TYPE,
          ...(i % 3 === 0 ? {} : { Authorization: `Bearer forged-${i}-0000000000000000` }),
        },
      ).then((r) => r.status);
    // Flood: 6 s at ~40 requests/s from one address (twice the proxy's 20 r/s per address).
    const statuses: number[] = [];
    let stop = false;
    const flood = (async () => {
      for (let i = 0; !stop; i++) {
        const batch = await Promise.all([0, 1, 2, 3].map((k) => forged(i * 4 + k).catch(() => 0)));
        statuses.push(...batch);
        await sleep(100);
      }
    })();
    await sleep(1500);
    const { digest } = await cluster.push({ tag: "dev-during-flood" });
    const outcome = await cluster.outcome(digest);
    await sleep(Math.max(0, 4500));
    stop = true;
    await flood;
    expect(outcome.data.result).toBe(true);
    expect(statuses.length).toBeGreaterThan(100);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    expect(statuses).toContain(401);
    expect(statuses).toContain(429); // past the per-address rate
    const after = cluster.events.events.slice(since);
    // Exactly one hook event (the real push): no forged request reached Salt.
    const hooks = after.filter((e) => e.tag === "salt/netapi/hook/saltpipe/registry");
    expect(hooks).toHaveLength(1);
    expect(after.filter((e) => e.tag === `saltpipe/hook/${ENV}/refused`)).toEqual([]);
    expect(after.filter(isRun("runner.saltpipe.refused"))).toEqual([]);
    // No credential on the bus: the proxy stripped the token and passed its marker instead.
    const headers = hooks[0].data.headers as Record<string, string>;
    expect(Object.keys(headers).map((h) => h.toLowerCase())).not.toContain("authorization");
    expect(headers["X-Saltpipe-Proxy-Auth"]).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(cluster.events.events)).not.toContain(SECRET);
    // The audit got the real push's lines only; the refusals are counts.
    const status = (await cluster.runner("status", [ENV])).json;
    const fresh = status.audit.slice(auditBefore);
    expect(fresh.filter((a: { event: string }) => a.event === "refused")).toEqual([]);
    expect(status.refused_at_proxy.total).toBeGreaterThanOrEqual(statuses.length);
    expect(status.refused_at_proxy.by_status["401"]).toBeGreaterThan(0);
    expect(status.refused_at_proxy.by_status["429"]).toBeGreaterThan(0);
    expect(fs.statSync(cluster.refusedLog).size).toBe(0);
  });

  test("3: an event from the far future is refused; reset_order lowers the mark and is audited", async () => {
    const future = new Date(Date.now() + 3600_000).toISOString();
    const { digest } = await cluster.push({ tag: "dev-future", timestamp: future });
    const refused = await cluster.events.waitFor(
      "the refusal",
      (e) => e.tag === `saltpipe/hook/${ENV}/refused` && e.data.digest === digest,
      60_000,
    );
    expect(String(refused.data.reason)).toMatch(/ahead of the master's clock/);
    const status = (await cluster.runner("status", [ENV])).json;
    expect(status.current).not.toBe(digest);
    const reset = await cluster.runner("reset_order", [ENV, "approver=ops"]);
    expect(reset.code).toBe(0);
    expect(reset.json).toMatchObject({ result: true, action: "order-reset", approver: "ops" });
    const audit = (await cluster.runner("status", [ENV])).json.audit;
    expect(audit.at(-1)).toMatchObject({ event: "order-reset", approver: "ops" });
  });

  test("10: the registry pillar goes to the environment's minion ids, not to a minion claiming the grains", async () => {
    const pillar = await cluster.salt(["--static", "-L", `${GOOD},${ROGUE}`, "pillar.items", "-t", "20"]);
    const out = JSON.parse(pillar.stdout);
    expect(out[GOOD].app).toBeDefined();
    expect(out[ROGUE].app).toBeUndefined();
    expect(out[ROGUE].saltpipe).toBeUndefined();
  });

  test("10: a minion firing another minion's start event starts nothing", async () => {
    const since = cluster.events.events.length;
    const fired = await cluster.salt([
      ROGUE,
      "event.fire_master",
      `{"id": "${GOOD}"}`,
      `salt/minion/${GOOD}/start`,
    ]);
    expect(fired.code).toBe(0);
    await cluster.events.waitFor(
      "the forged start event",
      (e) => e.tag === `salt/minion/${GOOD}/start` && cluster.events.events.indexOf(e) >= since,
      30_000,
    );
    await sleep(5000);
    expect(cluster.events.events.slice(since).filter(isRun("runner.saltpipe.converge"))).toEqual([]);
  });

  test("12: an approver with a long host name is accepted, a malformed one is refused", async () => {
    const host = `${"a".repeat(60)}.${"b".repeat(60)}.example.internal`;
    const ok = await cluster.runner("reset_order", [ENV, `approver=alice@${host}`]);
    expect(ok.json).toMatchObject({ result: true, approver: `alice@${host}` });
    const bad = await cluster.runner("reset_order", [ENV, "approver=alice@bad host"]);
    expect(bad.code).not.toBe(0);
    expect(bad.json.error).toMatch(/invalid approver/);
  });
});

describe("6: a minion configured with test: True", () => {
  // The master is NOT plan-only here: deploys run with test=False, whatever the minion says.
  const cluster = new Cluster({
    environment: ENV,
    repository: REPO,
    secret: SECRET,
    minions: ["hard-testmode-1"],
    planOnly: false,
    lifecycle: { reconcileSeconds: 3600 },
    // The pull goes to a port nothing listens on: the real run fails fast and touches nothing.
  });
  beforeAll(() => cluster.start());
  afterAll(() => cluster.stop());

  test("never counts as deployed: the deploy runs for real (test=False) and its failure is reported", async () => {
    const { digest } = await cluster.push({ tag: "dev-testmode" });
    const outcome = await cluster.outcome(digest);
    const minion = (outcome.data.minions as Record<string, { result: boolean; comment: string }>)[
      "hard-testmode-1"
    ];
    expect(minion.comment).not.toContain("would deploy");
    expect({ result: outcome.data.result, minion: minion.result }).toEqual({ result: false, minion: false });
    const job = cluster.events.find(isJob("state.sls")).at(-1)!;
    expect(JSON.stringify(job.data.arg)).toContain('"test":false');
    const status = (await cluster.runner("status", [ENV])).json;
    expect(status.current).toBeNull();
    const ran = await run(saltBin("salt-run"), [
      "-c",
      cluster.masterConf,
      "--out",
      "json",
      "jobs.list_jobs",
      "search_function=state.sls",
    ]);
    expect(ran.code).toBe(0);
  });
});
