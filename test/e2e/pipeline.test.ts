/**
 * The whole pipeline for real on this machine, brought up by the main command's own code
 * path (scripts/local-stack.sh → the Pulumi engine): build → push → registry notification
 * → hook proxy → salt-api → reactor → lifecycle runner → minions, under load and faults.
 *
 * Runs beside a user's own `local` environment: its own state dir, names and ports.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PACKAGE_ROOT } from "../../infra/paths";
import { Load, servedVersion } from "./support/http";
import { DEPLOY_BOUND_MS, MASTER_STATE_DIR, overlapping, Pipeline, pushEvent } from "./support/pipeline";
import { run, sleep, waitFor } from "./support/run";
import { docker, DOCKER, LocalStack, type PushedImage } from "./support/stack";

jest.setTimeout(30 * 60_000);

const stack = new LocalStack("saltpipe-e2e", { appPortBase: 28080, registryPort: 25000 });
const pipeline = new Pipeline(stack);
const { served, waitServing, masterAnswers, outcomeOf, masterStatus, masterAudit, notify } = pipeline;
const LOAD_RPS_PER_PROXY = 20;
/** A minion's deploy plan (salt/_modules/saltpipe_app.py, <cachedir>/saltpipe). */
const MINION_PLAN = "/var/cache/salt/minion/saltpipe/deploy-plan.json";
/** Where `up` uploads salt-states/ on the master (a file root: part of the generation). */
const MASTER_STATES_DIR = "/srv/saltpipe/salt-states";
/** deploy.keepImages of the committed local stack (the default). */
const KEEP_IMAGES = 3;

const timings: Record<string, number> = {};

beforeAll(async () => {
  timings.upFromNothing = await pipeline.up();
});

afterAll(async () => {
  pipeline.events?.stop();
  await stack.cleanUp();
  console.log(`e2e timings (ms): ${JSON.stringify(timings)}`);
});

describe("the local pipeline", () => {
  let v2: PushedImage;
  let v6: PushedImage;
  let v8: PushedImage;

  test("v1: with no other action, every minion serves what `up` built and pushed", async () => {
    const v1 = pipeline.outputs.imageName.split(":local-")[1];
    timings.v1Serving = await waitServing(v1);
    expect(pipeline.outputs.appUrls).toEqual(["http://127.0.0.1:28080/", "http://127.0.0.1:28081/"]);
  });

  test("the engine: a second `up` reports no changes", async () => {
    const start = Date.now();
    const out = await stack.upAgain();
    timings.noopUp = Date.now() - start;
    expect(out).toMatch(/Resources:\n\s+\d+ unchanged\n/);
  });

  test("the engine: `preview --diff` after editing one state shows only its upload and what must reload", async () => {
    const file = path.join(PACKAGE_ROOT, "salt-states", "salt", "proxy", "init.sls");
    const original = fs.readFileSync(file, "utf8");
    fs.writeFileSync(file, `${original}# e2e preview probe\n`);
    let out: string;
    try {
      const start = Date.now();
      out = await stack.preview();
      timings.preview = Date.now() - start;
    } finally {
      fs.writeFileSync(file, original);
    }
    expect(out).toContain("+ # e2e preview probe");
    expect(out).toMatch(/Resources:\n\s+~ 1 to update\n\s+\+-2 to replace\n\s+3 changes\. \d+ unchanged/);
    for (const name of ["-salt-master-states", "-salt-master-refresh", "-salt-highstate"]) {
      expect(out).toContain(name);
    }
  });

  test("secrets appear nowhere in plain text: not in the state files, not in the engine's output", async () => {
    const secrets = {
      webhookSecret: await stack.secret("webhookSecret"),
      // One base64 line from the middle of the key: unique to it, independent of framing.
      sshPrivateKey: (await stack.secret("sshPrivateKey")).split("\n")[2],
    };
    expect(secrets.webhookSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(secrets.sshPrivateKey.length).toBeGreaterThan(40);
    const files = stack.stateFiles();
    expect(files.length).toBeGreaterThan(0);
    for (const [name, value] of Object.entries(secrets)) {
      expect({ name, files: files.filter((f) => f.text.includes(value)).map((f) => f.file) }).toEqual({
        name,
        files: [],
      });
      expect({ name, inOutput: stack.transcript.some((t) => t.includes(value)) }).toEqual({
        name,
        inOutput: false,
      });
    }
  });

  test("v2 under steady load: every minion ends on v2 and no request fails", async () => {
    const load = new Load(pipeline.outputs.appUrls, LOAD_RPS_PER_PROXY).start();
    await sleep(2000);
    v2 = await stack.pushVersion(pipeline.outputs.registry, "v2");
    timings.v2PushToServing = await waitServing("v2");
    await sleep(2000);
    const report = await load.stop();
    expect(report.failures).toEqual([]);
    expect(report.failed).toBe(0);
    expect(report.sent).toBeGreaterThan(LOAD_RPS_PER_PROXY * pipeline.outputs.appUrls.length * 4);
    expect(report.versions.v2).toBeGreaterThan(0);
    const outcome = await outcomeOf(v2.digest);
    expect(outcome.result).toBe(true);
  });

  test("v3 with a failing health check: the deploy is reported failed, v2 keeps serving, no request fails", async () => {
    const load = new Load(pipeline.outputs.appUrls, LOAD_RPS_PER_PROXY).start();
    const v3 = await stack.pushVersion(pipeline.outputs.registry, "v3", { healthy: false });
    const outcome = await outcomeOf(v3.digest);
    const report = await load.stop();
    expect(outcome.result).toBe(false);
    expect(await served()).toEqual(pipeline.outputs.appUrls.map(() => "v2"));
    expect(report.failures).toEqual([]);
  });

  test("a forged notification (bad token) costs nothing: refused by the hook proxy, counted, never on the bus", async () => {
    const before = pipeline.events.matching(/\/refused$/).length;
    const auditBefore = (await masterAudit()).length;
    const countedBefore = (await masterStatus()).refused_at_proxy?.total ?? 0;
    const status = await notify(pushEvent(v2, "forged-1"), "not-the-webhook-secret");
    expect(status).toBe("401"); // nginx itself: no salt-api call, no event, no job
    await sleep(3000);
    expect(pipeline.events.matching(/\/refused$/).length).toBe(before);
    expect(
      pipeline.events
        .matching(/^salt\/netapi\/hook\//)
        .filter((e) => JSON.stringify(e.data).includes("forged-1")),
    ).toEqual([]);
    expect(await served()).toEqual(pipeline.outputs.appUrls.map(() => "v2"));
    expect((await masterAudit()).slice(auditBefore).filter((e) => e.event === "refused")).toEqual([]);
    expect((await masterStatus()).refused_at_proxy?.total).toBeGreaterThan(countedBefore);
  });

  test("an authenticated notification of a digest the registry does not hold is refused before any minion job", async () => {
    const token = await stack.secret("webhookSecret");
    const unknown = `sha256:${"ab".repeat(32)}`;
    const auditBefore = (await masterAudit()).length;
    const jobsBefore = pipeline.events.matching(/^salt\/job\/\d+\/new$/).length;
    const forged = { digest: unknown, tag: "local-unknown" } as PushedImage;
    expect(await notify(pushEvent(forged, "unknown-digest-1"), token)).toBe("200");
    const refused = await waitFor("the refusal in the audit", 90_000, async () =>
      (await masterAudit()).slice(auditBefore).find((e) => e.event === "refused" && e.digest === unknown),
    );
    expect(String(refused.reason)).toContain("the registry does not hold saltpipe/app@");
    // No state run reached a minion for it (jobs to minions name their targets).
    const minionJobs = pipeline.events
      .matching(/^salt\/job\/\d+\/new$/)
      .slice(jobsBefore)
      .filter(
        (e) =>
          JSON.stringify(e.data).includes(unknown) &&
          Array.isArray((e.data as { minions?: unknown }).minions),
      );
    expect(minionJobs).toEqual([]);
    expect(JSON.stringify(pipeline.events.matching(/./))).not.toContain(token);
    expect(await served()).toEqual(pipeline.outputs.appUrls.map(() => "v2"));
    // The registry-password pillar is targeted by minion id: every minion still gets the app's pillar.
    const pillar = await stack.onHost("master", "salt --out=json --static '*' pillar.item app:name");
    const items = Object.values(JSON.parse(pillar) as Record<string, { "app:name"?: string }>);
    expect(items.length).toBe(pipeline.outputs.appUrls.length);
    expect(items.every((p) => p["app:name"])).toBe(true);
  });

  test("only the pipeline pushes: without its credentials a push is refused, from this machine and from a minion", async () => {
    const auditBefore = (await masterAudit()).length;
    // From this machine, with a Docker client config that holds no credentials.
    const noCredentials = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-nocreds-"));
    const hostRef = `${pipeline.outputs.registry}:local-anonymous`;
    try {
      await docker("tag", `${pipeline.outputs.registry}:local-v2`, hostRef);
      const anonymous = await run(DOCKER, ["--config", noCredentials, "push", hostRef]);
      expect(anonymous.code).not.toBe(0);
      expect(anonymous.stdout + anonymous.stderr).toMatch(/no basic auth credentials|unauthorized/i);
    } finally {
      fs.rmSync(noCredentials, { recursive: true, force: true });
    }
    // From a minion (root there): the name it pulls from is read-only, the push instance wants credentials.
    const onMinion = (script: string) => stack.onHost("minion-1", script);
    const minionRef = "registry:5000/saltpipe/app";
    await onMinion(
      `docker pull -q ${minionRef}@${v2.digest} >/dev/null && docker tag ${minionRef}@${v2.digest} ${minionRef}:local-evil`,
    );
    const pushed = await onMinion(
      `timeout 120 docker push ${minionRef}:local-evil >/dev/null 2>&1 && echo pushed || echo refused`,
    );
    expect(pushed.trim()).toBe("refused");
    const upload = await onMinion(
      "curl -s -o /dev/null -w '%{http_code}' -X POST http://registry-push:5000/v2/saltpipe/app/blobs/uploads/",
    );
    expect(upload).toBe("401");
    const tags = await onMinion("curl -s http://registry:5000/v2/saltpipe/app/tags/list");
    expect(tags).not.toMatch(/local-evil|local-anonymous/);
    expect(
      (await masterAudit()).slice(auditBefore).filter((e) => String(e.tag).match(/evil|anonymous/)),
    ).toEqual([]);
    expect(await served()).toEqual(pipeline.outputs.appUrls.map(() => "v2"));
  });

  test("a minion that is down during a deploy is reported; the others are deployed; it converges when it returns", async () => {
    await docker("stop", "-t", "1", stack.container("minion-2"));
    const v4 = await stack.pushVersion(pipeline.outputs.registry, "v4");
    try {
      const outcome = await outcomeOf(v4.digest);
      // One assertion over the whole outcome: on failure it prints what each minion reported.
      expect(outcome).toMatchObject({
        result: false,
        reason: expect.stringMatching(/did not answer.*minion-2/),
        minions: { "minion-1": { result: true }, "minion-2": { result: false, comment: "did not answer" } },
      });
      expect(await servedVersion(pipeline.outputs.appUrls[0])).toBe("v4");
    } finally {
      await docker("start", stack.container("minion-2"));
    }
    // Back up, it converges to the current digest by itself (the minion start reactor)…
    const back = Date.now();
    await waitServing("v4", 3 * DEPLOY_BOUND_MS);
    timings.minionStartToServing = Date.now() - back;
    // …and takes the next push like the others.
    await stack.pushVersion(pipeline.outputs.registry, "v5");
    timings.convergeAfterMinionReturn = await waitServing("v5", 2 * DEPLOY_BOUND_MS);
  });

  test("the master restarted between two pushes: the next push still deploys", async () => {
    await docker("restart", "-t", "5", stack.container("master"));
    await masterAnswers();
    v6 = await stack.pushVersion(pipeline.outputs.registry, "v6");
    timings.afterMasterRestart = await waitServing("v6", 2 * DEPLOY_BOUND_MS);
  });

  test("replays and duplicates start nothing: every earlier event as the registry sent it, an old push under a new id, and the latest one twice", async () => {
    const token = await stack.secret("webhookSecret");
    // Every push event the master accepted so far, exactly as it arrived (id, time, tag, digest).
    const earlier = (await masterAudit())
      .filter((e) => e.event === "received" && e.digest !== v6.digest)
      .map((e) => ({
        id: String(e.event_id),
        at: new Date(String(e.timestamp)),
        image: { version: "", tag: String(e.tag), digest: String(e.digest) },
      }));
    expect(earlier.length).toBeGreaterThanOrEqual(5); // v1 … v5
    const auditBefore = (await masterAudit()).length;
    for (const { id, at, image } of earlier)
      expect(await notify(pushEvent(image, id, at), token)).toBe("200");
    // v2's push again under a new id, with its old time: older than the current digest's event.
    expect(await notify(pushEvent(v2, "e2e-replay-1", new Date(Date.now() - 3_600_000)), token)).toBe("200");
    // The latest push (v6), delivered twice: the registry delivers at least once.
    const latest = { version: "v6", tag: "local-v6", digest: v6.digest };
    expect(await notify(pushEvent(latest, "e2e-dup-1"), token)).toBe("200");
    expect(await notify(pushEvent(latest, "e2e-dup-1"), token)).toBe("200");
    // The master's audit trail is the source of truth: each delivery received, none deployed.
    const injected = [...earlier.map((e) => e.id), "e2e-replay-1", "e2e-dup-1", "e2e-dup-1"];
    let seen: Record<string, unknown>[] = [];
    const received = await waitFor(`${injected.length} deliveries in the audit`, 90_000, async () => {
      seen = (await masterAudit()).slice(auditBefore);
      const got = seen.filter((e) => e.event === "received");
      return got.length >= injected.length ? seen : undefined;
    }).catch(async (e: Error) => {
      // What did arrive, to tell a slow master from a lost or refused delivery; and what the
      // master logged about the ids that did not (a reactor or runner error names them).
      const arrived = new Set(seen.map((a) => String(a.event_id)));
      const missing = [...new Set(injected)].filter((id) => !arrived.has(id));
      const log = await stack
        .onHost(
          "master",
          `grep -h -F ${missing.map((id) => `-e '${id}'`).join(" ")} -e Traceback -e ERROR /var/log/salt/master | tail -n 40 || true`,
        )
        .catch((err: Error) => err.message);
      throw new Error(
        `${e.message}; the audit since: ${JSON.stringify(seen.map((a) => [a.event, a.event_id, a.reason]))}; missing ${JSON.stringify(missing)}; the master's log: ${log}`,
      );
    });
    expect(
      received
        .filter((e) => e.event === "received")
        .map((e) => ({ id: e.event_id, action: e.action }))
        .sort((a, b) => String(a.id).localeCompare(String(b.id))),
    ).toEqual(
      injected
        .map((id) => ({ id, action: expect.stringMatching(/^(duplicate|replay|current)$/) }))
        .sort((a, b) => a.id.localeCompare(b.id)),
    );
    await sleep(3000);
    const ids = new Set(injected);
    const started = (await masterAudit())
      .slice(auditBefore)
      .filter((e) => e.event === "deploy-start" && ids.has(String(e.event_id)));
    expect(started).toEqual([]);
    expect(await served()).toEqual(pipeline.outputs.appUrls.map(() => "v6"));
  });

  test("two pushes 1 s apart under steady load: every minion ends on the second, the deploys never overlap, no request fails", async () => {
    const first = await stack.build(pipeline.outputs.registry, "v7");
    const second = await stack.build(pipeline.outputs.registry, "v8");
    const load = new Load(pipeline.outputs.appUrls, LOAD_RPS_PER_PROXY).start();
    await sleep(1000);
    await stack.push(first);
    await sleep(1000);
    v8 = await stack.push(second);
    timings.twoPushesToServing = await waitServing("v8");
    await sleep(1000);
    const report = await load.stop();
    expect(report.failures).toEqual([]);
    const status = await masterStatus();
    expect(status.current).toBe(v8.digest);
    expect(overlapping(status.deploys)).toEqual([]);
    expect(status.deploys.filter((d) => d.digest === v8.digest && d.result)).toHaveLength(1);
  });

  test("the master killed during a deploy and started again: the environment ends on the newest digest, no claim is left", async () => {
    const v9 = await stack.push(await stack.build(pipeline.outputs.registry, "v9"));
    // Killed as soon as the first batch's minion has started the new container: the deploy is
    // under way (however fast it is), and the second batch has not begun.
    await waitFor("the first minion to start v9's container", DEPLOY_BOUND_MS, async () =>
      pipeline.events
        .matching("saltpipe/deploy/local/minion/start")
        .some((e) => JSON.stringify(e.data).includes(v9.digest))
        ? true
        : undefined,
    );
    await docker("kill", stack.container("master"));
    pipeline.events.stop();
    const start = Date.now();
    await docker("start", stack.container("master"));
    try {
      await waitServing("v9", 3 * DEPLOY_BOUND_MS);
      timings.masterKilledToServing = Date.now() - start;
      const status = await waitFor("the record to settle on v9 with no claim", 120_000, async () => {
        const now = await masterStatus().catch(() => undefined);
        return now?.current === v9.digest && now.claim === null ? now : undefined;
      });
      expect(overlapping(status.deploys)).toEqual([]);
      // It really died mid-deploy: its claim was taken over, not found released.
      expect(await masterAudit()).toContainEqual(
        expect.objectContaining({ event: "claim-taken-over", digest: v9.digest }),
      );
    } finally {
      // The next tests read the restarted master's events (even when this one failed).
      pipeline.watchEvents();
    }
  });

  test(`after these deploys each minion holds at most keepImages (${KEEP_IMAGES}) app images`, async () => {
    // The prune runs in the deploy's detached drain (after the old container stopped), so
    // the last deploy's prune may still be under way: wait for it, bounded.
    for (const host of ["minion-1", "minion-2"]) {
      const count = await waitFor(`${host} to hold at most ${KEEP_IMAGES} app images`, 60_000, async () => {
        const listing = await stack.onHost(
          host,
          "docker images --digests --no-trunc --format '{{.Repository}} {{.Digest}}'",
        );
        const appImages = listing
          .split("\n")
          .map((line) => line.split(" "))
          .filter(([repo, digest]) => repo?.endsWith("/saltpipe/app") && digest?.startsWith("sha256:"));
        return appImages.length <= KEEP_IMAGES ? appImages.length : undefined;
      });
      expect({ host, some: count > 0 }).toEqual({ host, some: true });
    }
  });

  test("rollback under load serves the previous digest with no failed request; an unknown digest is refused", async () => {
    const load = new Load(pipeline.outputs.appUrls, LOAD_RPS_PER_PROXY).start();
    const start = Date.now();
    const rollback = await stack.ops("rollback");
    expect({ code: rollback.code, stderr: rollback.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    await waitServing("v8");
    timings.rollback = Date.now() - start;
    await sleep(2000);
    const report = await load.stop();
    expect(report.failures).toEqual([]);

    const unknown = await stack.ops("rollback", "--to", `sha256:${"0".repeat(64)}`);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr + unknown.stdout).toContain("never ran in local");
    await sleep(2000);
    expect(await served()).toEqual(pipeline.outputs.appUrls.map(() => "v8"));
  });

  test("an app container removed by hand is restored without a push, within the reconcile bound", async () => {
    await stack.onHost("minion-1", "docker rm -f $(docker ps -aq --filter name=app-)");
    const start = Date.now();
    // deploy.reconcileSeconds (30) + one deploy.
    await waitFor("minion-1 to serve v8 again", 90_000, async () =>
      (await servedVersion(pipeline.outputs.appUrls[0]).catch(() => undefined)) === "v8" ? true : undefined,
    );
    timings.restoreRemovedContainer = Date.now() - start;
  });

  test("status: per-minion digest and the last deploys, from the real master; a clear error when it is unreachable", async () => {
    const status = await stack.ops("status", "--json");
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as { current?: string };
    expect(parsed.current).toMatch(/^sha256:[0-9a-f]{64}$/);
    const human = await stack.ops("status");
    expect(human.stdout).toContain("environment local (stack local)");
    expect(human.stdout).toMatch(/^MINION +DIGEST +CURRENT/m);

    // The record, the audit trail and the notification spool never hold a secret.
    const holding = await docker(
      "exec",
      ...["-e", `WEBHOOK=${await stack.secret("webhookSecret")}`],
      ...["-e", `NOTIFY=${await stack.secret("notifySecret")}`],
      stack.container("master"),
      "bash",
      "-c",
      `ls ${MASTER_STATE_DIR}/local.json >/dev/null && grep -rlF -e "$WEBHOOK" -e "$NOTIFY" ${MASTER_STATE_DIR} || true`,
    );
    expect(holding.trim()).toBe("");

    await docker("stop", "-t", "1", stack.container("master"));
    try {
      const down = await stack.ops("status");
      expect(down.code).toBe(2);
      expect(down.stderr).toMatch(
        /cannot reach the master of stack "local" over SSH: tried root@127\.0\.0\.1:29080 with the key from .*ECONNREFUSED/,
      );
    } finally {
      await docker("start", stack.container("master"));
    }
  });

  test("a push reuses each minion's deploy plan (one direct call) until the master's states or pillar change; then it renders afresh", async () => {
    interface Plan {
      readonly digest: string;
      readonly rendered_at: number;
      readonly generation: string;
    }
    const plans = () =>
      Promise.all(
        ["minion-1", "minion-2"].map(
          async (m) => JSON.parse(await stack.onHost(m, `cat ${MINION_PLAN}`)) as Plan,
        ),
      );
    const summary = (p: Plan) => ({ rendered_at: p.rendered_at, generation: p.generation });
    await masterAnswers(); // the status test stopped and started it
    const before = await plans();
    expect(before.every((p) => /^[0-9a-f]{64}$/.test(p.generation))).toBe(true);
    const reused = await stack.pushVersion(pipeline.outputs.registry, "v3a");
    await waitServing("v3a");
    expect((await outcomeOf(reused.digest)).result).toBe(true);
    // Deployed from the plan rendered before, rebased onto its digest (the prepare round
    // keeps it as the plan of v3a): nothing rendered afresh.
    const rebased = await plans();
    expect(rebased.map((p) => p.digest)).toEqual(before.map(() => reused.digest));
    expect(rebased.map(summary)).toEqual(before.map(summary));
    // What `up` does when a state or the pillar changes: a new file in the master's state tree.
    await stack.onHost("master", `echo '# e2e' > ${MASTER_STATES_DIR}/e2e-generation.txt`);
    try {
      const rendered = await stack.pushVersion(pipeline.outputs.registry, "v3b");
      await waitServing("v3b");
      expect((await outcomeOf(rendered.digest)).result).toBe(true);
      const after = await plans();
      expect(
        after.map((p, i) => [
          p.digest,
          p.generation !== before[i].generation,
          p.rendered_at > before[i].rendered_at,
        ]),
      ).toEqual(after.map(() => [rendered.digest, true, true]));
    } finally {
      await stack.onHost("master", `rm -f ${MASTER_STATES_DIR}/e2e-generation.txt`);
    }
  });

  test("tear-down removes every container, network and volume it made", async () => {
    const start = Date.now();
    await stack.destroy();
    timings.destroy = Date.now() - start;
    expect(await stack.leftovers()).toEqual([]);
  });
});
