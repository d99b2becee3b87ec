/**
 * Issue 16 on the real local stack (scripts/local-stack.sh → the Pulumi engine), under its own
 * names and ports (`saltpipe-hard`, 46080, 47580): the hook proxy refuses what is not
 * authenticated at no cost to Salt, the master verifies pushes with the registry before any
 * minion job, and a real push still deploys.
 */
import { servedVersion } from "./support/http";
import { waitFor } from "./support/run";
import { docker, EventWatch, LocalStack, type StackOutputs } from "./support/stack";

jest.setTimeout(30 * 60_000);

const stack = new LocalStack("saltpipe-hard", { appPortBase: 46080, registryPort: 47580 });
const MASTER_STATE_DIR = "/var/cache/salt/master/saltpipe";
let outputs: StackOutputs;
let events: EventWatch;

/** POST an event to the master's hook from inside the network (the token in the exec's environment). */
function notify(digest: string, tag: string, id: string, token: string): Promise<string> {
  const body = JSON.stringify({
    events: [
      {
        id,
        timestamp: new Date().toISOString(),
        action: "push",
        target: {
          mediaType: "application/vnd.docker.distribution.manifest.v2+json",
          digest,
          repository: "saltpipe/app",
          tag,
        },
      },
    ],
  });
  const curl = [
    "curl -s -o /dev/null -w '%{http_code}' -X POST http://master:8443/hook/saltpipe/registry",
    "-H 'Content-Type: application/vnd.docker.distribution.events.v1+json'",
    '-H "Authorization: Bearer $TOKEN"',
    `--data '${body}'`,
  ].join(" ");
  return docker("exec", "-e", `TOKEN=${token}`, stack.container("minion-1"), "bash", "-c", curl);
}

async function audit(): Promise<Record<string, unknown>[]> {
  const text = await stack.onHost("master", `cat ${MASTER_STATE_DIR}/local.audit.jsonl`);
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

beforeAll(async () => {
  ({ outputs } = await stack.upFresh());
  events = new EventWatch(stack.container("master"));
});

afterAll(async () => {
  events?.stop();
  await stack.cleanUp();
});

test("forged requests stop at the proxy; an unknown digest is refused by the registry check; a real push deploys", async () => {
  const token = await stack.secret("webhookSecret");
  const unknown = `sha256:${"ab".repeat(32)}`;
  const auditBefore = (await audit()).length;
  // No token: nginx answers 401, nothing reaches Salt.
  expect(await notify(unknown, "local-forged", "hard-forged-1", "not-the-token")).toBe("401");
  // The token, but a digest the registry does not hold: refused before any minion job.
  expect(await notify(unknown, "local-unknown", "hard-unknown-1", token)).toBe("200");
  const refused = await waitFor("the refusal in the audit", 90_000, async () =>
    (await audit()).slice(auditBefore).find((e) => e.event === "refused" && e.digest === unknown),
  );
  expect(String(refused.reason)).toContain("the registry does not hold saltpipe/app@");
  expect((await audit()).slice(auditBefore).filter((e) => e.event_id === "hard-forged-1")).toEqual([]);
  expect(
    events.matching(/^salt\/netapi\/hook\//).filter((e) => JSON.stringify(e.data).includes("hard-forged-1")),
  ).toEqual([]);
  expect(JSON.stringify(events.matching(/./))).not.toContain(token);
  // A real push deploys to every minion.
  const v2 = await stack.pushVersion(outputs.registry, "v2");
  await waitFor("every minion to serve v2", 180_000, async () =>
    (await Promise.all(outputs.appUrls.map((u) => servedVersion(u).catch(() => undefined)))).every(
      (v) => v === "v2",
    )
      ? true
      : undefined,
  );
  expect((await audit()).find((e) => e.event === "deploy" && e.digest === v2.digest)).toMatchObject({
    result: true,
  });
  // The minions got the pillar by id.
  const pillar = await stack.onHost("master", "salt --out=json --static '*' pillar.item app:name");
  expect(Object.values(JSON.parse(pillar)).every((p) => (p as { "app:name"?: string })["app:name"])).toBe(
    true,
  );
});

test("tear-down", async () => {
  await stack.destroy();
  expect(await docker("ps", "-a", "--filter", "name=saltpipe-hard", "--format", "{{.Names}}")).toBe("");
});
