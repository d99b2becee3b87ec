/**
 * The gates of a deploy with real Salt (master + salt-api + hook proxy + 1 test-mode minion),
 * configured as a prod-like environment: a semver tag policy, an approval gate, a pre-switch
 * step, and signed notifications to a local receiver plus a black-hole receiver (accepts the
 * connection, never answers) that must not slow deploys by more than the notify timeout.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import { NOTIFY_SIGNATURE_HEADER } from "../../infra/render/salt-config";
import { Cluster } from "./cluster";
import { waitFor, type SaltEvent } from "./helpers";

jest.setTimeout(240_000);

const ENV = "prod";
const MINION = "gate-minion-1";
const NOTIFY_SECRET = "notify-secret-for-the-gates-test";
const NOTIFY_TIMEOUT = 2;

interface Received {
  event: string;
  body: Record<string, unknown>;
  signatureOk: boolean;
}
const received: Received[] = [];
const receiver = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const raw = Buffer.concat(chunks);
    const want = `sha256=${crypto.createHmac("sha256", NOTIFY_SECRET).update(raw).digest("hex")}`;
    const got = String(req.headers[NOTIFY_SIGNATURE_HEADER.toLowerCase()] ?? "");
    received.push({
      event: String(req.headers["x-saltpipe-event"]),
      body: JSON.parse(raw.toString("utf8")),
      signatureOk: got.length === want.length && crypto.timingSafeEqual(Buffer.from(got), Buffer.from(want)),
    });
    res.writeHead(204).end();
  });
});
const blackHoleSockets: net.Socket[] = [];
const blackHole = net.createServer((socket) => blackHoleSockets.push(socket)); // never answers

let cluster: Cluster;

const isJob = (sls: string) => (e: SaltEvent) =>
  /^salt\/job\/\d+\/new$/.test(e.tag) &&
  e.data.fun === "state.sls" &&
  JSON.stringify(e.data.arg).includes(sls);
const ts = (offsetMs: number) => new Date(Date.parse("2026-02-01T00:00:00Z") + offsetMs).toISOString();

async function status() {
  const r = await cluster.runner("status", [ENV]);
  expect(r.code).toBe(0);
  return r.json;
}

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => blackHole.listen(0, "127.0.0.1", resolve));
  const port = (s: net.Server) => (s.address() as net.AddressInfo).port;
  cluster = new Cluster({
    environment: ENV,
    repository: "saltpipe/app",
    secret: "gates-test-secret-0a1b2c3d4e5f",
    minions: [MINION],
    lifecycle: {
      tagPolicy: "semver:^1.0.0",
      approval: { required: true, expiresMinutes: 30 },
      preSwitch: { command: ["node", "dist/migrate.js"], timeoutSeconds: 60 },
      notify: {
        urls: [`http://127.0.0.1:${port(receiver)}/deploys`, `http://127.0.0.1:${port(blackHole)}/slow`],
        secret: NOTIFY_SECRET,
        timeoutSeconds: NOTIFY_TIMEOUT,
        retries: 1,
      },
      reconcileSeconds: 3600,
    },
  });
  await cluster.start();
});

afterAll(async () => {
  await cluster?.stop();
  blackHoleSockets.forEach((s) => s.destroy());
  await new Promise((r) => blackHole.close(r));
  await new Promise((r) => receiver.close(r));
});

// Real images in the cluster's registry (the master verifies every push with it), made in beforeAll.
let V110 = "";
let V120 = "";
let V130 = "";
beforeAll(async () => {
  [V110, V120, V130] = [
    await cluster.image("1.1.0"),
    await cluster.image("1.2.0"),
    await cluster.image("1.3.0"),
  ];
});

test("a tag outside the policy is ignored and recorded with the reason; nothing deploys", async () => {
  const { digest } = await cluster.push({ tag: "2.0.0", timestamp: ts(1) });
  const ignored = await cluster.events.waitFor(
    "ignored",
    (e) => e.tag === `saltpipe/deploy/${ENV}/ignored`,
    60_000,
  );
  expect(ignored.data).toMatchObject({ digest, reason: "tag 2.0.0 is outside semver:^1.0.0" });
  const { digest: notSemver } = await cluster.push({ tag: "prod-1a2b3c", timestamp: ts(2) });
  await cluster.events.waitFor(
    "ignored",
    (e) => e.tag.endsWith("/ignored") && e.data.digest === notSemver,
    60_000,
  );
  expect(cluster.events.find(isJob("app."))).toEqual([]);
  const audit = (await status()).audit;
  expect(audit.map((e: { action?: string; reason?: string }) => [e.action, e.reason])).toContainEqual([
    "ignored",
    "tag prod-1a2b3c is not a semantic version (policy semver:^1.0.0)",
  ]);
});

test("approval: a push waits, a newer one supersedes it, reject drops it, approve deploys (pre-switch first)", async () => {
  await cluster.push({ digest: V110, tag: "1.1.0", timestamp: ts(10) });
  await cluster.events.waitFor(
    "pending 1.1.0",
    (e) => e.tag.endsWith("/pending-approval") && e.data.digest === V110,
    60_000,
  );
  await cluster.push({ digest: V120, tag: "1.2.0", timestamp: ts(20) });
  const pending = await cluster.events.waitFor(
    "pending 1.2.0",
    (e) => e.tag.endsWith("/pending-approval") && e.data.digest === V120,
    60_000,
  );
  expect(pending.data.superseded).toBe(V110);
  expect((await status()).approval).toMatchObject({ digest: V120, tag: "1.2.0" });

  const wrong = await cluster.runner("approve", [ENV, `digest=${V110}`]);
  expect(wrong.code).not.toBe(0);
  expect(wrong.json.error).toContain(`${V110} does not wait for approval; ${V120} (1.2.0) does`);

  const rejected = await cluster.runner("reject", [ENV, "approver=bob", "reason=not today"]);
  expect(rejected.json).toMatchObject({ result: true, action: "rejected", digest: V120, approver: "bob" });
  expect((await status()).approval).toBeNull();
  expect(cluster.events.find(isJob("app."))).toEqual([]);

  await cluster.push({ digest: V130, tag: "1.3.0", timestamp: ts(30) });
  await cluster.events.waitFor(
    "pending 1.3.0",
    (e) => e.tag.endsWith("/pending-approval") && e.data.digest === V130,
    60_000,
  );
  const t0 = Date.now();
  const approved = await cluster.runner("approve", [ENV, "approver=alice"]);
  const wall = (Date.now() - t0) / 1000;
  expect(approved.code).toBe(0);
  expect(approved.json).toMatchObject({ result: true, digest: V130, kind: "approved", approver: "alice" });
  // The pre-switch step ran from the new image on one minion before the deploy's state run.
  const jobs = cluster.events.events.filter((e) => isJob("app.preswitch")(e) || isJob("app.deploy")(e));
  expect(
    jobs.map((e) => (JSON.stringify(e.data.arg).includes("app.preswitch") ? "preswitch" : "deploy")),
  ).toEqual(["preswitch", "deploy"]);
  expect(JSON.stringify(jobs[0].data.arg)).toContain("dist/migrate.js");
  expect(approved.json.minions[MINION].comment).toContain("would deploy");
  // A black-hole receiver delays the approve command by at most the notify timeout (and the deploy not at all).
  expect(wall - Number(approved.json.duration)).toBeLessThan(NOTIFY_TIMEOUT + 4);
  const s = await status();
  expect(s).toMatchObject({ current: V130, current_tag: "1.3.0", current_by: "approved" });
  expect(s.deploys[0]).toMatchObject({ digest: V130, approver: "alice", result: true });
});

test("a semver downgrade is ignored even when pushed later", async () => {
  const { digest } = await cluster.push({ tag: "1.2.5", timestamp: ts(40) });
  const ignored = await cluster.events.waitFor(
    "downgrade",
    (e) => e.tag.endsWith("/ignored") && e.data.digest === digest,
    60_000,
  );
  expect(ignored.data.reason).toBe("tag 1.2.5 is a downgrade from 1.3.0 (only a rollback goes back)");
  expect((await status()).approval).toBeNull();
});

test("an expired approval cannot be approved", async () => {
  const { digest } = await cluster.push({ tag: "1.4.0", timestamp: ts(50) });
  await cluster.events.waitFor(
    "pending 1.4.0",
    (e) => e.tag.endsWith("/pending-approval") && e.data.digest === digest,
    60_000,
  );
  // Fast-forward: the record says the approval ran out a second ago.
  const file = path.join(cluster.stateDir, `${ENV}.json`);
  const record = JSON.parse(fs.readFileSync(file, "utf8"));
  record.approval.expires = Date.now() / 1000 - 1;
  fs.writeFileSync(file, JSON.stringify(record));
  const r = await cluster.runner("approve", [ENV]);
  expect(r.code).not.toBe(0);
  expect(r.json.error).toBe(`no push of ${ENV} waits for approval (it expired)`);
  expect((await status()).current).toBe(V130);
  await cluster.events.waitFor(
    "expired",
    (e) => e.tag.endsWith("/approval-expired") && e.data.digest === digest,
    10_000,
  );
});

test("every outcome reached the receiver, signed with HMAC-SHA256 of the body", async () => {
  await waitFor(
    "the notifications",
    async () =>
      ["ignored", "pending-approval", "rejected", "started", "succeeded", "approval-expired"].every((ev) =>
        received.some((r) => r.event === ev),
      ),
    30_000,
  );
  expect(received.every((r) => r.signatureOk)).toBe(true);
  expect(received.every((r) => r.body.environment === ENV && typeof r.body.delivery === "string")).toBe(true);
  const succeeded = received.find((r) => r.event === "succeeded")!;
  expect(succeeded.body).toMatchObject({ digest: V130, approver: "alice", result: true });
  expect(JSON.stringify(received)).not.toContain(NOTIFY_SECRET);
});
