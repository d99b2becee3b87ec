/**
 * Real salt-master + salt-minion + salt-api + the hook proxy (nginx) on 127.0.0.1, in a
 * temporary root, on free ports; stopped in afterAll even when a test fails.
 *
 * registry-style POST → nginx (Content-Type → application/json, body cap) → salt-api /hook
 * → reactor (verify, filter) → runner.saltpipe.receive → the rollout →
 * state.sls app.deploy on the minion (test mode: the minion runs with `test: true`, so the
 * deploy is planned against this machine's docker engine but changes nothing) → outcome event.
 */
import * as fs from "fs";
import * as path from "path";
import { HOOK_URL_PATH } from "../../infra/render/salt-config";
import { Cluster } from "./cluster";
import {
  REGISTRY_CONTENT_TYPE,
  hmacSha256Hex,
  post,
  randomDigest,
  registryEnvelope,
  run,
  saltBin,
  type SaltEvent,
} from "./helpers";

jest.setTimeout(240_000);

const ENV = "dev";
const REPO = "saltpipe/app";
const SECRET = "pipeline-test-secret-9f8e7d6c5b4a";
const MINION = "app-minion-1";

const cluster = new Cluster({ environment: ENV, repository: REPO, secret: SECRET, minions: [MINION] });
let masterConf = "";
let hookUrl = "";

function bearer(): Record<string, string> {
  return { "Content-Type": REGISTRY_CONTENT_TYPE, Authorization: `Bearer ${SECRET}` };
}

const saltCmd = (args: string[], timeoutMs = 60_000) => cluster.salt(args, timeoutMs);
const isReceiveStart = (e: SaltEvent) =>
  /^salt\/run\/\d+\/new$/.test(e.tag) && e.data.fun === "runner.saltpipe.receive";
const isDeployJob = (e: SaltEvent) => /^salt\/job\/\d+\/new$/.test(e.tag) && e.data.fun === "state.sls";
const outcomeOf = (digest: string) => (e: SaltEvent) =>
  e.tag === `saltpipe/deploy/${ENV}/outcome` && e.data.digest === digest;
const waitOutcome = (digest: string, timeoutMs = 90_000) => cluster.outcome(digest, undefined, timeoutMs);
const events = () => cluster.events;

beforeAll(async () => {
  await cluster.start();
  masterConf = cluster.masterConf;
  hookUrl = cluster.hookUrl;
});

afterAll(() => cluster.stop());

test("the minion key was pre-seeded: accepted with auto_accept and open_mode off", async () => {
  const keys = await run(saltBin("salt-key"), ["-c", masterConf, "-L", "--out", "json"]);
  expect(JSON.parse(keys.stdout)).toMatchObject({ minions: [MINION], minions_pre: [], minions_rejected: [] });
  const conf = fs.readFileSync(path.join(masterConf, "master.d", "saltpipe.conf"), "utf8");
  expect(conf).toMatch(/^auto_accept: false$/m);
  expect(conf).toMatch(/^open_mode: false$/m);
});

test("salt-api alone refuses the registry's content type (why the hook proxy exists)", async () => {
  const api = /rest_cherrypy:[\s\S]*?port: (\d+)/.exec(
    fs.readFileSync(path.join(masterConf, "master.d", "saltpipe-api.conf"), "utf8"),
  )![1];
  const res = await post(`http://127.0.0.1:${api}${HOOK_URL_PATH}`, "{}", {
    "Content-Type": REGISTRY_CONTENT_TYPE,
  });
  expect(res.status).toBe(406);
});

describe("webhook → reactor → saltpipe.receive → app.deploy", () => {
  let goodDigest = "";
  const goodId = `ev-good-${Date.now()}`;
  beforeAll(async () => {
    goodDigest = await cluster.image("dev-600d");
  });

  test("refused requests start no job, each says why, and the master keeps serving", async () => {
    const since = events().events.length;
    const otherDigest = randomDigest();
    const body = (over: Partial<Parameters<typeof registryEnvelope>[0]> = {}) =>
      registryEnvelope({ repository: REPO, tag: "dev-0badc0de", digest: otherDigest, ...over });
    const cases: [string, string, Record<string, string>, number][] = [
      // No valid bearer token: refused by the hook proxy itself (401), nothing reaches Salt.
      ["forged token", body(), { ...bearer(), Authorization: "Bearer forged-token-000000000" }, 401],
      [
        "forged signature",
        body(),
        {
          "Content-Type": REGISTRY_CONTENT_TYPE,
          "X-Saltpipe-Signature": `sha256=${hmacSha256Hex("wrong-secret", body())}`,
        },
        401,
      ],
      ["missing credentials", body(), { "Content-Type": REGISTRY_CONTENT_TYPE }, 401],
      ["wrong environment", body({ tag: "prod-0badc0de" }), bearer(), 200],
      ["wrong repository", body({ repository: "someone/else" }), bearer(), 200],
      ["blob push", body({ tag: undefined, mediaType: "application/octet-stream" }), bearer(), 200],
      ["malformed JSON", '{"events": [ {"action": "push", ', bearer(), 400],
      ["oversized body", JSON.stringify({ events: [], pad: "x".repeat(40_000) }), bearer(), 413],
    ];
    for (const [name, b, headers, status] of cases) {
      const res = await post(hookUrl, b, headers);
      expect({ name, status: res.status }).toEqual({ name, status });
    }
    // Three reached the reactor (unauthenticated ones stop at nginx, malformed JSON at salt-api,
    // oversized at nginx): three refusals.
    const refused = await events().waitForCount(
      "three refused events",
      (e) => e.tag === `saltpipe/hook/${ENV}/refused`,
      3,
      60_000,
    );
    const reasons = refused.map((e) => String(e.data.reason)).join("\n");
    for (const why of ["is not for environment dev", "repository someone/else", "not a manifest"]) {
      expect(reasons).toContain(why);
    }
    // A good request afterwards still works (the master keeps serving) - and is the only deploy.
    const res = await post(
      hookUrl,
      registryEnvelope({ id: goodId, repository: REPO, tag: "dev-600d", digest: goodDigest }),
      bearer(),
    );
    expect(res.status).toBe(200);
    const outcome = await waitOutcome(goodDigest);
    const after = events().events.slice(since);
    expect(after.filter(isReceiveStart)).toHaveLength(1);
    expect(after.filter(isDeployJob)).toHaveLength(1);
    // No job or runner (other than the refusals) ever carried a refused request's digest.
    expect(
      after.filter((e) => /^salt\/(job|run)\//.test(e.tag) && JSON.stringify(e.data).includes(otherDigest)),
    ).toEqual([]);
    expect(outcome.data.result).toBe(true);
    // Job cache: no state.sls ever carried a refused digest.
    const jobs = await run(saltBin("salt-run"), [
      "-c",
      masterConf,
      "--out",
      "json",
      "jobs.list_jobs",
      "search_function=state.sls",
    ]);
    expect(jobs.code).toBe(0);
    expect(Object.keys(JSON.parse(jobs.stdout))).toHaveLength(1);
    expect(jobs.stdout).not.toContain(otherDigest);
    const ping = await saltCmd([MINION, "test.ping", "-t", "10"]);
    expect(JSON.parse(ping.stdout)[MINION]).toBe(true);
  });

  test("the outcome names environment, digest, per-minion result and duration; app.deploy got the digest", async () => {
    const outcome = await waitOutcome(goodDigest, 10_000);
    expect(outcome.data).toMatchObject({
      environment: ENV,
      digest: goodDigest,
      repository: REPO,
      tag: "dev-600d",
      event_id: goodId,
      result: true,
    });
    expect(typeof outcome.data.duration).toBe("number");
    const minions = outcome.data.minions as Record<string, { result: boolean; comment: string }>;
    expect(Object.keys(minions)).toEqual([MINION]);
    expect(minions[MINION].result).toBe(true);
    // test mode: the minion planned the deploy of exactly this digest.
    expect(minions[MINION].comment).toContain(`would deploy 127.0.0.1:5999/${REPO}@${goodDigest}`);
    const ret = events().find(
      (e) => /^salt\/job\/\d+\/ret\//.test(e.tag) && e.data.fun === "state.sls" && e.data.id === MINION,
    );
    expect(JSON.stringify(ret.at(-1)?.data.fun_args)).toContain(goodDigest);
    expect(
      events().find((e) => e.tag === `saltpipe/deploy/${ENV}/start` && e.data.digest === goodDigest),
    ).toHaveLength(1);
  });

  test("a signature alone is refused at the proxy; with the bearer token it deploys and never reaches the bus", async () => {
    const digest = await cluster.image("dev-51gned");
    const body = registryEnvelope({ repository: REPO, tag: "dev-51gned", digest });
    const signature = `sha256=${hmacSha256Hex(SECRET, body)}`;
    const alone = await post(hookUrl, body, {
      "Content-Type": REGISTRY_CONTENT_TYPE,
      "X-Saltpipe-Signature": signature,
    });
    expect(alone.status).toBe(401);
    const res = await post(hookUrl, body, { ...bearer(), "X-Saltpipe-Signature": signature });
    expect(res.status).toBe(200);
    const outcome = await waitOutcome(digest);
    expect(outcome.data.result).toBe(true);
    const bus = JSON.stringify(events().events);
    expect(bus).not.toContain(SECRET);
    expect(bus).not.toContain(signature);
  });

  test("a redelivered event id is skipped (at-least-once delivery)", async () => {
    const res = await post(
      hookUrl,
      registryEnvelope({ id: goodId, repository: REPO, tag: "dev-600d", digest: goodDigest }),
      bearer(),
    );
    expect(res.status).toBe(200);
    const skipped = await events().waitFor(
      "skipped",
      (e) => e.tag === `saltpipe/deploy/${ENV}/skipped` && e.data.event_id === goodId,
      60_000,
    );
    expect(skipped.data).toMatchObject({ result: true, reason: "duplicate event id" });
    // One push outcome (the reconcile pass may converge the plan-only minion: kind converge).
    expect(
      events()
        .find(outcomeOf(goodDigest))
        .filter((e) => e.data.kind !== "converge"),
    ).toHaveLength(1);
  });
});

test("the deploy record on the master: saltpipe.status", async () => {
  const r = await run(saltBin("salt-run"), ["-c", masterConf, "--out", "json", "saltpipe.status", ENV]);
  expect(r.code).toBe(0);
  const status = JSON.parse(r.stdout);
  expect(status.current).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(status.seen).toBeGreaterThanOrEqual(2);
});
