/**
 * The deploy lifecycle with real Salt (master + salt-api + hook proxy + 2 test-mode minions):
 * the record of desired state, newest-wins queueing with no overlapping deploys, replays and
 * duplicates, rollback, a restarting minion converging, status, and a master killed in the
 * middle of a deploy. Tag policy, approvals, pre-switch and notifications: gates.test.ts.
 */
import * as fs from "fs";
import * as path from "path";
import { Cluster } from "./cluster";
import { EventWatcher, randomDigest, waitFor, type SaltEvent } from "./helpers";

jest.setTimeout(300_000);

const ENV = "dev";
const M1 = "life-minion-1";
const M2 = "life-minion-2";
const cluster = new Cluster({
  environment: ENV,
  repository: "saltpipe/app",
  secret: "lifecycle-test-secret-0a1b2c3d4e",
  minions: [M1, M2],
  batch: "1",
  // The periodic pass would converge the test-mode minions (they never really serve): only at start here.
  lifecycle: { reconcileSeconds: 3600 },
});

const ts = (offsetMs: number) => new Date(Date.parse("2026-01-01T00:00:00Z") + offsetMs).toISOString();
const isJob = (fun: string, digest?: string) => (e: SaltEvent) =>
  /^salt\/job\/\d+\/new$/.test(e.tag) &&
  e.data.fun === fun &&
  (!digest || JSON.stringify(e.data.arg).includes(digest));
const deployJobs = (digest?: string) => cluster.events.find(isJob("state.sls", digest));

function signal(id: string, sig: NodeJS.Signals) {
  process.kill(cluster.minions.get(id)!.child.pid!, sig);
}

async function status() {
  const r = await cluster.runner("status", [ENV]);
  expect(r.code).toBe(0);
  return r.json;
}

// Real images in the cluster's registry (the master verifies every push with it).
let A = "";
let B = "";
let C = "";

beforeAll(async () => {
  await cluster.start();
  [A, B, C] = [await cluster.image("dev-a"), await cluster.image("dev-b"), await cluster.image("dev-c")];
});
afterAll(async () => {
  for (const id of [M1, M2]) {
    try {
      signal(id, "SIGCONT");
    } catch {
      /* not running */
    }
  }
  await cluster.stop();
});

test("pushes during a deploy collapse to the newest, which runs next; deploys never overlap", async () => {
  signal(M2, "SIGSTOP"); // A's second batch waits on M2: B and C arrive while A deploys
  try {
    await cluster.push({ digest: A, tag: "dev-a", id: "ev-a", timestamp: ts(1000) });
    await cluster.deployEvent("start", A);
    await cluster.push({ digest: B, tag: "dev-b", id: "ev-b", timestamp: ts(2000) });
    await cluster.push({ digest: C, tag: "dev-c", id: "ev-c", timestamp: ts(3000) });
    // Both handled while A still deploys: queued, or - when C got there first - skipped as older.
    const handled = (e: SaltEvent) =>
      /\/(queued|skipped)$/.test(e.tag) && ["ev-b", "ev-c"].includes(String(e.data.event_id));
    await cluster.events.waitForCount("B and C received", handled, 2, 60_000);
  } finally {
    signal(M2, "SIGCONT");
  }
  const a = await cluster.outcome(A);
  const c = await cluster.outcome(C);
  expect(a.data.result).toBe(true);
  expect(c.data).toMatchObject({ result: true, kind: "push", previous: A, batches: [[M1], [M2]] });
  expect(cluster.deployEvents("start").map((e) => e.data.digest)).toEqual([A, C]); // B never started
  expect(deployJobs(B)).toEqual([]);
  expect(Number(a.data.finished)).toBeLessThanOrEqual(Number(c.data.started));

  const s = await status();
  expect(s).toMatchObject({ current: C, current_tag: "dev-c", current_by: "push" });
  expect(s.claim).toBeNull();
  expect(s.pending).toBeNull();
  expect(s.deploys.map((d: { digest: string }) => d.digest)).toEqual([C, A]);
  const received = new Map<string, { action: string; superseded?: string }>(
    s.audit
      .filter((e: { event: string }) => e.event === "received")
      .map((e: { digest: string }) => [e.digest, e]),
  );
  expect(received.get(A)!.action).toBe("deploy");
  expect(received.get(C)!.action).toBe("deploy");
  // B: queued then superseded by C, or (arriving after C) refused as older than the queued push.
  if (received.get(B)!.action === "deploy") expect(received.get(C)!.superseded).toBe(B);
  else expect(received.get(B)!.action).toBe("replay");
});

test("a duplicate of the latest event and a replay of an earlier one start nothing", async () => {
  const jobs = deployJobs().length;
  const skippedBefore = cluster.deployEvents("skipped").length;
  await cluster.push({ digest: C, tag: "dev-c", id: "ev-c", timestamp: ts(3000) }); // redelivery
  await cluster.push({ digest: B, tag: "dev-b", id: "ev-b-again", timestamp: ts(2000) }); // replay, new id
  await cluster.push({ digest: A, tag: "dev-a", id: "ev-a", timestamp: ts(1000) }); // old redelivery
  const skipped = await cluster.events.waitForCount(
    "three skipped",
    (e) => e.tag === `saltpipe/deploy/${ENV}/skipped`,
    skippedBefore + 3,
    60_000,
  );
  const reasons = skipped.slice(skippedBefore).map((e) => `${e.data.event_id}: ${e.data.reason}`);
  expect(reasons.sort()).toEqual([
    "ev-a: duplicate event id",
    "ev-b-again: event is not newer than the current digest's (dev-c)",
    "ev-c: duplicate event id",
  ]);
  expect(deployJobs().length).toBe(jobs);
  expect((await status()).current).toBe(C);
});

test("a burst of 24 redeliveries back to back: every one is received and skipped, none is lost", async () => {
  // The registry delivers at least once and stops at a 200: a delivery dropped between the
  // hook and the runner (the reactor's pool, a failed reaction) would be lost for good.
  const jobs = deployJobs().length;
  const skippedBefore = cluster.deployEvents("skipped").length;
  const ids = Array.from({ length: 24 }, (_, i) => `ev-burst-${i}`);
  // One after the other, as fast as the proxy answers (the registry sends one at a time).
  for (const [i, id] of ids.entries()) {
    const odd = i % 2 === 1;
    const sent = await cluster.push({
      digest: odd ? C : B,
      tag: odd ? "dev-c" : "dev-b",
      id,
      timestamp: ts(odd ? 3000 : 2000),
    });
    expect({ id, status: sent.status }).toEqual({ id, status: 200 });
  }
  const skipped = await cluster.events.waitForCount(
    "24 skipped",
    (e) => e.tag === `saltpipe/deploy/${ENV}/skipped` && ids.includes(String(e.data.event_id)),
    ids.length,
    120_000,
  );
  expect(skipped.map((e) => String(e.data.event_id)).sort()).toEqual([...ids].sort());
  expect(cluster.deployEvents("skipped").length).toBe(skippedBefore + ids.length);
  expect(deployJobs().length).toBe(jobs);
});

test("status: per-minion OS, Salt version, running digest; deploys with durations; audit; claim", async () => {
  const s = await status();
  expect(s.minions.map((m: { id: string }) => m.id)).toEqual([M1, M2]);
  for (const m of s.minions) {
    // Test-mode minions plan deploys but never run a container: nothing serves.
    expect(m).toMatchObject({
      answered: true,
      salt: "3008.4",
      serving: false,
      on_current: false,
      last_result: "ok",
    });
    expect(m.os).toMatch(/\S/);
    expect(m.last_deploy).toMatchObject({ result: true, digest: C });
  }
  expect(typeof s.deploys[0].duration).toBe("number");
  expect(Object.keys(s.deploys[0].minions).sort()).toEqual([M1, M2]);
  expect(s.known_digests).toEqual([C, A]);
  expect(s.audit.length).toBeGreaterThan(3);
  expect(JSON.stringify(s)).not.toContain(cluster.o.secret);
});

test("rollback redeploys the previous digest through the rolling path; an unknown digest changes nothing", async () => {
  const r = await cluster.runner("rollback", [ENV, "approver=ops"]);
  expect(r.code).toBe(0);
  expect(r.json).toMatchObject({
    result: true,
    digest: A,
    kind: "rollback",
    approver: "ops",
    batches: [[M1], [M2]],
  });
  expect((await cluster.outcome(A, "rollback")).data.result).toBe(true);
  const before = await status();
  expect(before).toMatchObject({ current: A, current_by: "rollback" });
  expect(before.previous[0].digest).toBe(C);

  const unknown = randomDigest();
  const bad = await cluster.runner("rollback", [ENV, `to=${unknown}`]);
  expect(bad.code).not.toBe(0);
  expect(bad.json).toEqual({
    result: false,
    retcode: 1,
    error: expect.stringContaining(`digest ${unknown} never ran in dev`),
  });
  const after = await status();
  expect([after.current, after.current_since]).toEqual([before.current, before.current_since]);
  expect(after.deploys).toEqual(before.deploys);
  expect(deployJobs(unknown)).toEqual([]);

  // A replay of C's push stays a replay after the rollback (the high-water order is kept).
  await cluster.push({ digest: C, tag: "dev-c", id: "ev-c-replayed", timestamp: ts(3000) });
  await cluster.events.waitFor(
    "C replay skipped",
    (e) => e.tag.endsWith("/skipped") && e.data.event_id === "ev-c-replayed",
    60_000,
  );
  expect((await status()).current).toBe(A);
});

test("a minion that restarts converges to the current digest without a push", async () => {
  const since = cluster.events.events.length;
  await cluster.minions.get(M2)!.stop(3_000);
  cluster.startMinion(M2);
  const converged = await waitFor(
    "M2's convergence",
    async () =>
      cluster.events.events
        .slice(since)
        .find((e) => e.tag === `saltpipe/deploy/${ENV}/outcome` && e.data.kind === "converge"),
    90_000,
  );
  expect(converged.data).toMatchObject({ digest: A, result: true, batches: [[M2]] });
});

test("the master killed during a deploy: the next start takes the claim over and ends on the newest digest", async () => {
  const D = await cluster.image("dev-d");
  signal(M2, "SIGSTOP");
  try {
    await cluster.push({ digest: D, tag: "dev-d", id: "ev-d", timestamp: ts(4000) });
    await cluster.deployEvent("start", D);
    await waitFor("D's first batch", async () => deployJobs(D).length >= 1, 30_000);
    await cluster.events.stop();
    await cluster.killMaster();
  } finally {
    signal(M2, "SIGCONT");
  }
  const record = JSON.parse(fs.readFileSync(path.join(cluster.stateDir, `${ENV}.json`), "utf8"));
  expect(record.claim).toMatchObject({ digest: D, kind: "push" }); // left behind by the dead deploy

  await cluster.startMaster();
  cluster.events = new EventWatcher(cluster.masterConf);
  await cluster.waitMinions([M1, M2]);
  const outcome = await cluster.outcome(D, undefined, 150_000);
  expect(outcome.data.result).toBe(true);
  // Minions that reconnect fire their start event too: their convergence may still hold the claim briefly.
  const s = await waitFor(
    "the claim to be released",
    async () => ((s) => (s.claim ? undefined : s))(await status()),
    60_000,
  );
  expect(s.current).toBe(D);
  expect(s.previous.map((p: { digest: string }) => p.digest)).toEqual([A, C]); // the record survived
  expect(s.audit.some((e: { event: string }) => e.event === "claim-taken-over")).toBe(true);
});

test("the reconcile pass (what the engine runs every reconcileSeconds) converges minions not serving the current digest", async () => {
  // Test-mode minions never really serve, so both count as drifted (a removed container reads the same).
  const r = await cluster.runner("reconcile", [ENV]);
  expect(r.code).toBe(0);
  expect(r.json).toMatchObject({
    result: true,
    drift: { kind: "converge", result: true, batches: [[M1], [M2]] },
  });
  expect((await status()).claim).toBeNull();
});
