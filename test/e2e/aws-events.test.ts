/**
 * The AWS event path for real, against the moto AWS API emulator: ECR push event →
 * EventBridge rule → SQS queue (dead-letter queue by redrive) → the master's `saltpipe_sqs`
 * engine → the same record as the hook path → every minion serves the digest.
 *
 * A real local environment (real master, two real minions with their own Docker engines,
 * the real local registry) whose master uses `events.transport: sqs` pointed at moto
 * (`events.sqs.endpointUrl`, `metadataEndpoint`: emulators/testing only). moto runs in a
 * container on the environment's network (`saltpipe/moto`, scripts/moto-image.sh: pinned,
 * from a cached wheelhouse, on the project's Debian base). The rule, target, queues,
 * policies and roles are created from the functions of infra/registry/ecr-policies.ts.
 *
 * What moto cannot do and what is used instead: ECR's own emission (the test calls
 * `events.put_events` with the documented ECR shape), image layers (minions pull from the
 * local registry), IAM enforcement (policies are created and asserted by value, not enforced),
 * and the instance-metadata service (images/moto/serve.py serves EC2's shape: the role of the
 * calling container's address, with credentials from moto's STS AssumeRole of that role).
 */
import { X509Certificate } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  ec2AssumeRolePolicy,
  ecrDockerConfig,
  ecrPushEventPattern,
  ecrRegistryHost,
  eventQueuePolicy,
  masterQueuePolicy,
  minionPullPolicy,
  redrivePolicy,
} from "../../infra/registry/ecr-policies";
import { PACKAGE_ROOT } from "../../infra/paths";
import { servedVersion } from "./support/http";
import { mustRun, sleep, waitFor } from "./support/run";
import { docker, LocalStack, type PushedImage, type StackOutputs } from "./support/stack";

jest.setTimeout(30 * 60_000);

const PREFIX = "saltpipe-awsev";
const ACCOUNT = "123456789012";
const REGION = "eu-west-1";
const REPOSITORY = "saltpipe/app";
const MOTO = `${PREFIX}-moto`;
const QUEUE = `${PREFIX}-events`;
const DLQ = `${PREFIX}-dlq`;
const RULE = `${PREFIX}-push`;
const QUEUE_URL = `http://moto:5000/${ACCOUNT}/${QUEUE}`;
const QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:${QUEUE}`;
const DLQ_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:${DLQ}`;
const RULE_ARN = `arn:aws:events:${REGION}:${ACCOUNT}:rule/${RULE}`;
const REPOSITORY_ARN = `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${REPOSITORY}`;
/** Short, so an unparseable message reaches the DLQ within seconds (AWS: 60 s × 5, EVENT_QUEUE). */
const VISIBILITY_S = 2;
/** The engine's long poll (`events.sqs.waitSeconds`). */
const LONG_POLL_S = 20;
const MAX_RECEIVES = 2;
/** Generous: a rolling deploy of two minions took ~60 s with ~45 loaded cores' worth of work queued here. */
const DEPLOY_BOUND_MS = 300_000;
const MASTER_STATE_DIR = "/var/cache/salt/master/saltpipe";
const ECR_HOST = ecrRegistryHost(ACCOUNT, REGION);
const CA_ON_MINION = "/root/saltpipe-awsev-ca.pem";

const stack = new LocalStack(PREFIX, {
  appPortBase: 14080,
  registryPort: 15580,
  config: {
    minions: 2,
    events: {
      transport: "sqs",
      sqs: {
        queueUrl: QUEUE_URL,
        region: REGION,
        account: ACCOUNT,
        endpointUrl: "http://moto:5000",
        metadataEndpoint: "http://moto:5000",
        waitSeconds: LONG_POLL_S,
      },
    },
  },
});

let outputs: StackOutputs;
let certDir: string;
let lastEventSecond = 0;
const hostIp: Record<string, string> = {};
const timings: Record<string, number> = {};

async function aws<T = Record<string, unknown>>(op: string, args: Record<string, unknown> = {}): Promise<T> {
  const out = await mustRun(
    "/usr/bin/docker",
    ["exec", "-i", MOTO, "/opt/moto/bin/python", "/opt/moto/aws.py"],
    { input: JSON.stringify({ op, ...args }), timeoutMs: 60_000 },
  );
  return JSON.parse(out) as T;
}

/** Event times have one-second resolution (EventBridge): each new event gets a later second. */
function nextEventTime(): string {
  lastEventSecond = Math.max(lastEventSecond + 1, Math.floor(Date.now() / 1000));
  return new Date(lastEventSecond * 1000).toISOString().replace(/\.000Z$/, "Z");
}

interface Detail {
  readonly digest: string;
  readonly tag: string;
  readonly repository?: string;
  readonly result?: string;
  readonly action?: string;
}

function detailOf(d: Detail): Record<string, string> {
  return {
    result: d.result ?? "SUCCESS",
    "repository-name": d.repository ?? REPOSITORY,
    "image-digest": d.digest,
    "action-type": d.action ?? "PUSH",
    "image-tag": d.tag,
  };
}

/** A PutEvents entry exactly as ECR emits an image push (EventBridge adds id, account, region). */
function ecrEntry(d: Detail, time = nextEventTime()) {
  return {
    Source: "aws.ecr",
    DetailType: "ECR Image Action",
    Time: time,
    Resources: [],
    Detail: JSON.stringify(detailOf(d)),
  };
}

/** The envelope EventBridge delivers to the queue (for copies sent straight to SQS). */
function envelope(id: string, d: Detail, over: Record<string, unknown> = {}, time = nextEventTime()) {
  return {
    version: "0",
    id,
    "detail-type": "ECR Image Action",
    source: "aws.ecr",
    account: ACCOUNT,
    time,
    region: REGION,
    resources: [],
    detail: detailOf(d),
    ...over,
  };
}

async function putPush(d: Detail): Promise<string> {
  const res = await aws<{ failed: number; ids: string[] }>("put_events", { entries: [ecrEntry(d)] });
  expect(res.failed).toBe(0);
  return res.ids[0];
}

async function served(): Promise<(string | undefined)[]> {
  return Promise.all(outputs.appUrls.map((url) => servedVersion(url).catch(() => undefined)));
}

async function waitServing(version: string): Promise<number> {
  const start = Date.now();
  await waitFor(`every minion to serve ${version}`, DEPLOY_BOUND_MS, async () =>
    (await served()).every((v) => v === version) ? true : undefined,
  );
  return Date.now() - start;
}

async function masterAudit(): Promise<Record<string, unknown>[]> {
  const text = await stack.onHost("master", `cat ${MASTER_STATE_DIR}/local.audit.jsonl 2>/dev/null || true`);
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

interface DeploySummary {
  readonly digest: string;
  readonly kind: string;
  readonly result: boolean;
  readonly started: number;
  readonly finished: number;
}

interface MasterRecord {
  readonly current?: { digest: string };
  readonly claim?: unknown;
  readonly deploys: DeploySummary[];
}

async function masterRecord(): Promise<MasterRecord> {
  return JSON.parse(await stack.onHost("master", `cat ${MASTER_STATE_DIR}/local.json`)) as MasterRecord;
}

/** The queues as the emulator's own container reaches them. */
const LOCAL_QUEUE = `http://127.0.0.1:5000/${ACCOUNT}/${QUEUE}`;
const LOCAL_DLQ = `http://127.0.0.1:5000/${ACCOUNT}/${DLQ}`;

/**
 * The record once the deploy of `digest` has ended: the proxies switch before the last batch
 * returns and the record is written after it, so serving alone does not mean recorded.
 */
async function settledRecord(digest: string) {
  return waitFor(`the record to hold ${digest} with no claim`, DEPLOY_BOUND_MS, async () => {
    const record = await masterRecord();
    return record.current?.digest === digest && !record.claim ? record : undefined;
  });
}

async function queueCounts(): Promise<{ queueUrl: number; dlqUrl: number }> {
  return aws("counts", { queueUrl: LOCAL_QUEUE, dlqUrl: LOCAL_DLQ });
}

async function pushVersion(version: string): Promise<PushedImage> {
  // The local registry sends no notification (events.transport sqs): only the ECR event deploys.
  return stack.pushVersion(outputs.registry, version);
}

beforeAll(async () => {
  const image = (await mustRun("bash", [path.join(PACKAGE_ROOT, "scripts/moto-image.sh")]))
    .trim()
    .split("\n")
    .pop()!;
  ({ outputs, ms: timings.upFromNothing } = await stack.upFresh());
  certDir = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-awsev-"));
  await mustRun("bash", ["-c", `cd ${certDir} && ${certScript()}`]);
  expect(new X509Certificate(fs.readFileSync(path.join(certDir, "server.pem"))).subjectAltName).toContain(
    `api.ecr.${REGION}.amazonaws.com`,
  );
  await docker(
    "run",
    "-d",
    "--name",
    MOTO,
    "--network",
    `${PREFIX}-net`,
    "--network-alias",
    "moto",
    "--network-alias",
    `api.ecr.${REGION}.amazonaws.com`,
    "-v",
    `${certDir}:/certs:ro`,
    image,
  );
  await docker("cp", path.join(PACKAGE_ROOT, "test/e2e/support/aws.py"), `${MOTO}:/opt/moto/aws.py`);
  await waitFor("the emulator to answer", 60_000, async () => (await aws("token")).proxyEndpoint);
  const created = await aws<{ queueAttributes: Record<string, string>; roles: Record<string, string> }>(
    "setup",
    {
      queue: QUEUE,
      dlq: DLQ,
      rule: RULE,
      repository: REPOSITORY,
      visibilityTimeout: VISIBILITY_S,
      redrivePolicy: redrivePolicy(DLQ_ARN, MAX_RECEIVES),
      queuePolicy: eventQueuePolicy(QUEUE_ARN, RULE_ARN),
      pattern: ecrPushEventPattern(REPOSITORY),
      roles: {
        [`${PREFIX}-master`]: { trust: ec2AssumeRolePolicy(), policy: masterQueuePolicy(QUEUE_ARN) },
        [`${PREFIX}-minion-1`]: { trust: ec2AssumeRolePolicy(), policy: minionPullPolicy(REPOSITORY_ARN) },
        [`${PREFIX}-minion-2`]: { trust: ec2AssumeRolePolicy(), policy: minionPullPolicy(REPOSITORY_ARN) },
      },
    },
  );
  // The emulated instance metadata hands each host its own role (as EC2 does by instance profile).
  const roleOf: Record<string, string> = {};
  for (const host of ["master", "minion-1", "minion-2"]) {
    const ip = (
      await docker(
        "inspect",
        "-f",
        `{{(index .NetworkSettings.Networks "${PREFIX}-net").IPAddress}}`,
        stack.container(host),
      )
    ).trim();
    hostIp[host] = ip;
    roleOf[ip] = created.roles[`${PREFIX}-${host}`];
  }
  await mustRun(
    "/usr/bin/docker",
    ["exec", "-i", MOTO, "bash", "-c", "mkdir -p /etc/saltpipe-imds && cat > /etc/saltpipe-imds/roles.json"],
    {
      input: JSON.stringify(roleOf),
    },
  );
  // What the emulator holds is what was rendered.
  expect(JSON.parse(created.queueAttributes.RedrivePolicy)).toEqual(redrivePolicy(DLQ_ARN, MAX_RECEIVES));
  expect(JSON.parse(created.queueAttributes.Policy)).toEqual(eventQueuePolicy(QUEUE_ARN, RULE_ARN));
}, 30 * 60_000);

function certScript(): string {
  return [
    `printf 'subjectAltName=DNS:api.ecr.${REGION}.amazonaws.com,DNS:moto\\n' > san.cnf`,
    "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=saltpipe-awsev-ca -keyout ca.key -out ca.pem 2>/dev/null",
    "openssl req -newkey rsa:2048 -nodes -subj /CN=moto -keyout server.key -out server.csr 2>/dev/null",
    "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile san.cnf -out server.pem 2>/dev/null",
    "chmod 644 server.key",
  ].join(" && ");
}

afterAll(async () => {
  console.log(`aws-events timings (ms): ${JSON.stringify(timings)}`);
  await stack.destroy().catch(() => undefined);
  await stack.cleanUp();
  if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
}, 10 * 60_000);

let v2: PushedImage;
let v2Event = "";
let v2Envelope: Record<string, unknown>;

test("an ECR push event put with put_events reaches the queue, the master's engine, and every minion", async () => {
  // Nothing deployed v1: the registry did not notify, and no event was put.
  expect((await masterAudit()).filter((e) => e.event === "received")).toEqual([]);
  v2 = await pushVersion("2.0.0");
  const time = nextEventTime();
  const put = Date.now();
  const res = await aws<{ ids: string[] }>("put_events", { entries: [ecrEntry(v2, time)] });
  v2Event = res.ids[0];
  v2Envelope = envelope(v2Event, v2, { account: null }, time);
  await waitServing("2.0.0");
  timings.putToAllServing = Date.now() - put;
  const received = (await masterAudit()).find((e) => e.event === "received" && e.event_id === v2Event)!;
  expect(received).toMatchObject({ action: "deploy", digest: v2.digest, tag: v2.tag });
  // Long polling: the engine's receive returns as soon as the message is in the queue, so
  // put → recorded is transport time, not a poll interval.
  timings.putToRecorded = Math.round(Number(received.ts) * 1000 - put);
  expect(timings.putToRecorded).toBeLessThan(10_000);
  expect((await settledRecord(v2.digest)).current?.digest).toBe(v2.digest);
  await waitFor("the queue to be empty", 30_000, async () => {
    const c = await queueCounts();
    return c.queueUrl === 0 ? c : undefined;
  });
});

test("refused events: nothing deploys, each is audited with its reason, the queue is left empty", async () => {
  const before = (await masterRecord()).deploys.length;
  const auditBefore = (await masterAudit()).length;
  const base = { digest: `sha256:${"c".repeat(64)}`, tag: "local-refused" };
  // Put through EventBridge, the rule (rendered pattern) drops these: they never reach the queue.
  const filtered = await aws<{ failed: number; ids: string[] }>("put_events", {
    entries: [
      ecrEntry({ ...base, repository: "other/app" }),
      ecrEntry({ ...base, result: "FAILURE" }),
      ecrEntry({ ...base, action: "DELETE" }),
    ],
  });
  expect(filtered.failed).toBe(0);
  const bodies = [
    "{this is not json",
    JSON.stringify(envelope("refuse-repo", { ...base, repository: "other/app" })),
    JSON.stringify(envelope("refuse-account", base, { account: "210987654321" })),
    JSON.stringify(envelope("refuse-region", base, { region: "us-east-1" })),
    JSON.stringify(envelope("refuse-failure", { ...base, result: "FAILURE" })),
    JSON.stringify(envelope("refuse-delete", { ...base, action: "DELETE" })),
  ];
  // Straight to the queue: on AWS the rule would drop them and the queue policy would refuse
  // any other sender; moto enforces neither, so this is the engine's own line of defence.
  await aws("send", { queueUrl: LOCAL_QUEUE, bodies });
  const reasons = await waitFor("every refusal in the audit", 60_000, async () => {
    const refused = (await masterAudit()).slice(auditBefore).filter((e) => e.event === "refused");
    const text = refused.map((e) => String(e.reason));
    return text.length >= 6 && text.some((r) => r.includes("unparseable")) ? text : undefined;
  });
  for (const expected of [
    /^sqs: unparseable message .* \(receive 1\): not JSON.*dead-letter queue$/,
    /^sqs: ECR event refused: repository 'other\/app' is not 'saltpipe\/app'$/,
    /^sqs: ECR event refused: account '210987654321' is not this stack's \(123456789012\)$/,
    /^sqs: ECR event refused: region 'us-east-1' is not this stack's \(eu-west-1\)$/,
    /^sqs: ECR event refused: result 'FAILURE' is not SUCCESS$/,
    /^sqs: ECR event refused: action-type 'DELETE' is not PUSH$/,
  ]) {
    expect(reasons).toContainEqual(expect.stringMatching(expected));
  }
  // The unparseable one moves to the dead-letter queue by the redrive policy; the rest were deleted.
  const counts = await waitFor("the queue empty, the malformed message in the DLQ", 60_000, async () => {
    const c = await queueCounts();
    return c.queueUrl === 0 && c.dlqUrl === 1 ? c : undefined;
  });
  expect(counts).toEqual({ queueUrl: 0, dlqUrl: 1 });
  expect((await aws<{ bodies: string[] }>("dlq_bodies", { dlqUrl: LOCAL_DLQ })).bodies).toEqual([
    "{this is not json",
  ]);
  expect((await masterRecord()).deploys.length).toBe(before);
  expect(await served()).toEqual(["2.0.0", "2.0.0"]);
  const seenIds = new Set((await masterAudit()).map((e) => e.event_id));
  expect(filtered.ids.filter((id) => seenIds.has(id))).toEqual([]);
});

test("master stopped while two pushes and two copies of an old event wait: one redelivered, the newest deploys, no overlap", async () => {
  const before = (await masterRecord()).deploys.length;
  const auditBefore = (await masterAudit()).length;
  await stack.onHost("master", "systemctl stop salt-master");
  // A long poll the engine had in flight when it stopped is still served by the emulator and
  // would take (hide) the next message sent: let it run out first.
  await sleep((LONG_POLL_S + 1) * 1000);
  const v3 = await pushVersion("3.0.0");
  const v4 = await pushVersion("4.0.0");
  // The v2 event again: a copy that a consumer received and never deleted (it comes back
  // after the visibility timeout, ApproximateReceiveCount 2), and a second copy.
  await aws("send", { queueUrl: LOCAL_QUEUE, bodies: [JSON.stringify(v2Envelope)] });
  const held = await aws<{ bodies: string[] }>("hold", { queueUrl: LOCAL_QUEUE, visibility: VISIBILITY_S });
  expect(held.bodies.map((b) => (JSON.parse(b) as { id: string }).id)).toEqual([v2Event]);
  await aws("send", { queueUrl: LOCAL_QUEUE, bodies: [JSON.stringify(v2Envelope)] });
  const e3 = await putPush(v3);
  const e4 = await putPush(v4);
  await sleep(VISIBILITY_S * 1000 + 500);
  const start = Date.now();
  await stack.onHost("master", "systemctl start salt-master");
  await waitServing("4.0.0");
  timings.masterStartToNewestServing = Date.now() - start;
  const audit = (await masterAudit()).slice(auditBefore).filter((e) => e.event === "received");
  const byId = (id: string) => audit.filter((e) => e.event_id === id).map((e) => e.action);
  expect(byId(v2Event)).toEqual(["duplicate", "duplicate"]);
  expect(byId(e4)).toEqual(["deploy"]);
  expect(byId(e3)).toHaveLength(1);
  const record = await settledRecord(v4.digest);
  expect(record.current?.digest).toBe(v4.digest);
  const deploys = record.deploys.slice(0, record.deploys.length - before);
  const sorted = [...deploys].sort((a, b) => a.started - b.started);
  for (let i = 1; i < sorted.length; i++)
    expect(sorted[i].started).toBeGreaterThanOrEqual(sorted[i - 1].finished);
  timings.v3Deployed = deploys.filter((d) => d.digest === v3.digest).length;
  // One rollout of v4 from its push; a reconcile pass that finds the minions already on v4 may
  // add a no-op `converge` entry, which is not a rollout and so is not counted.
  expect(deploys.filter((d) => d.digest === v4.digest && d.kind !== "converge")).toHaveLength(1);
  expect(await served()).toEqual(["4.0.0", "4.0.0"]);
  await waitFor("the queue to be empty", 30_000, async () =>
    (await queueCounts()).queueUrl === 0 ? true : undefined,
  );
});

test("a minion's credential helper gets an ECR token from the emulator; docker asks it for the ECR host; no password stored", async () => {
  const minion = "minion-1";
  // The distribution's package (Debian 12: amazon-ecr-credential-helper); this machine has the
  // Debian mirror, the minion does not: the same .deb is installed from here.
  const debDir = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-awsev-deb-"));
  try {
    await mustRun("bash", [
      "-c",
      `cd ${debDir} && apt-get download -q amazon-ecr-credential-helper 2>/dev/null`,
    ]);
    const deb = fs.readdirSync(debDir).find((f) => f.endsWith(".deb"))!;
    await docker("cp", path.join(debDir, deb), `${stack.container(minion)}:/root/${deb}`);
    await stack.onHost(minion, `dpkg -i /root/${deb} >/dev/null && rm /root/${deb}`);
  } finally {
    fs.rmSync(debDir, { recursive: true, force: true });
  }
  // The real app.registry state with the pillar an AWS stack renders (credential_helper: ecr-login).
  const pillar = JSON.stringify({ app: { registry: { server: ECR_HOST, credential_helper: "ecr-login" } } });
  const applied = await stack.onHost(
    "master",
    `salt --out=json --static ${minion} state.sls app.registry pillar='${pillar}'`,
  );
  const states = Object.values(JSON.parse(applied)[minion] as Record<string, { result: boolean }>);
  expect(states.length).toBeGreaterThan(0);
  expect(states.every((s) => s.result)).toBe(true);
  const config = JSON.parse(await stack.onHost(minion, "cat /etc/saltpipe/docker/config.json"));
  expect(config).toEqual(ecrDockerConfig(ECR_HOST));

  // Emulator only: the helper's instance-metadata and the CA of the emulator's TLS listener.
  await docker("cp", path.join(certDir, "ca.pem"), `${stack.container(minion)}:${CA_ON_MINION}`);
  const envs = [
    "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://moto:5000/",
    `AWS_CA_BUNDLE=${CA_ON_MINION}`,
    "AWS_ECR_DISABLE_CACHE=true",
  ].join(" ");
  const got = JSON.parse(
    await stack.onHost(minion, `echo ${ECR_HOST} | env ${envs} docker-credential-ecr-login get`),
  ) as { Username: string; Secret: string };
  expect(got.Username).toBe("AWS");
  expect(got.Secret.length).toBeGreaterThan(10);
  // ... with the credentials of minion-1's own role (the emulated metadata service's log).
  expect(await docker("logs", MOTO)).toContain(
    `imds: credentials of ${PREFIX}-minion-1 for ${hostIp[minion]}`,
  );

  // docker itself asks the helper for the ECR host; the pull then fails at the registry host,
  // which the emulator does not serve (layers come from the local registry).
  await stack.onHost(minion, "rm -rf /root/.ecr/log");
  const pull = await stack.onHost(
    minion,
    `env ${envs} docker --config /etc/saltpipe/docker pull ${ECR_HOST}/${REPOSITORY}@${v2.digest} 2>&1 || true`,
  );
  expect(pull).not.toMatch(/no basic auth credentials|credentials not found/i);
  const log = await stack.onHost(minion, "cat /root/.ecr/log/ecr-login.log 2>/dev/null || true");
  expect(log).toMatch(/GetAuthorizationToken/);
  console.log(`docker pull from ${ECR_HOST} on ${minion}: ${pull.trim().split("\n").pop()}`);
  // No password anywhere on the minion: no auths in docker configs, no token cache.
  const stored = await stack.onHost(
    minion,
    "grep -rl '\"auth\"' /etc/saltpipe/docker /root/.docker 2>/dev/null; ls /root/.ecr/cache.json 2>/dev/null; true",
  );
  expect(stored.trim()).toBe("");
  // The deploy path still works with the helper configured (it is only asked for the ECR host).
  expect(await served()).toEqual(["4.0.0", "4.0.0"]);
});
