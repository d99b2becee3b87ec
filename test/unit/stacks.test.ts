/**
 * Every committed stack file, run through the real program under Pulumi mocks: which
 * resources exist, their key properties, what depends on what, and that secrets stay secret.
 */
import * as pulumi from "@pulumi/pulumi";
import { Environment, readStackConfig } from "../../infra";
import { AUTO_NAME_SUFFIX } from "../../infra/config/limits";
import { ROOT, stackConfig, testPrivateKey, WEBHOOK_SECRET } from "./fixtures";
import {
  dependencies,
  named,
  ofType,
  promiseOf,
  recordDependencies,
  recorded,
  resetAll,
  settle,
  setupMocks,
  type Recorded,
} from "./mocks";

// Building a whole stack under mocks takes seconds on a busy machine.
jest.setTimeout(60_000);

const SALT_PORTS = [4505, 4506];
const API_PORTS = [8000, 8443];

/** Loads a stack file into the mock engine's config, secrets as secrets. */
function useStack(stack: string, extra: Record<string, unknown> = {}): void {
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...stackConfig(stack), ...extra })) {
    config[`saltpipe:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  }
  config["saltpipe:webhookSecret"] = WEBHOOK_SECRET;
  config["saltpipe:sshPrivateKey"] = testPrivateKey();
  setupMocks(stack, config, ["saltpipe:webhookSecret", "saltpipe:sshPrivateKey"]);
}

async function build(stack: string, extra: Record<string, unknown> = {}): Promise<Environment> {
  resetAll();
  useStack(stack, extra);
  const env = new Environment(
    stack,
    { spec: readStackConfig(), projectDir: ROOT },
    { transformations: [recordDependencies] },
  );
  await promiseOf(env.imageDigest);
  await settle();
  return env;
}

/** Every security-group ingress rule as [port range, CIDRs]. */
function ingressRules(): { group: string; from: number; to: number; cidrs: string[] }[] {
  return ofType("aws:ec2/securityGroup:SecurityGroup").flatMap((g) =>
    (g.inputs.ingress ?? []).map((r: { fromPort: number; toPort: number; cidrBlocks: string[] }) => ({
      group: g.name,
      from: r.fromPort,
      to: r.toPort,
      cidrs: r.cidrBlocks,
    })),
  );
}

function covers(rule: { from: number; to: number }, port: number): boolean {
  return rule.from <= port && port <= rule.to;
}

/** Every recorded input, serialized: what the engine (and so the state file) would hold. */
function plaintextInputs(filter: (r: Recorded) => boolean = () => true): string {
  return recorded
    .filter(filter)
    .map((r) =>
      JSON.stringify(Object.fromEntries(Object.entries(r.inputs).filter(([k]) => !r.secretInputs.has(k)))),
    )
    .join("\n");
}

describe.each(["dev", "test", "prod"])("aws stack %s", (stack) => {
  let env: Environment;
  beforeAll(async () => {
    env = await build(stack);
  });

  test("one instance per machine, each with an encrypted root volume and IMDSv2", () => {
    const spec = stackConfig(stack) as { minions: { name: string }[] };
    const instances = ofType("aws:ec2/instance:Instance");
    expect(instances.map((i) => i.name).sort()).toEqual(
      [`${stack}-hosts-master`, ...spec.minions.map((m) => `${stack}-hosts-${m.name}`)].sort(),
    );
    for (const i of instances) {
      expect(i.inputs.rootBlockDevice).toMatchObject({ encrypted: true, volumeType: "gp3" });
      expect(i.inputs.metadataOptions.httpTokens).toBe("required");
      expect(i.inputs.disableApiTermination).toBe(stack === "prod");
    }
  });

  test("AMIs are looked up per OS: Ubuntu by Canonical, CentOS Stream by the CentOS account", () => {
    const owners = { ubuntu: "ami-09972010", centos: "ami-12552308" } as Record<string, string>;
    const minions = (stackConfig(stack) as { minions: { name: string; os: string }[] }).minions;
    for (const m of minions) expect(named(`${stack}-hosts-${m.name}`).inputs.ami).toBe(owners[m.os]);
    expect(new Set(minions.map((m) => m.os))).toEqual(new Set(["ubuntu", "centos"]));
  });

  test("no security-group rule opens Salt, salt-api or SSH to the world", () => {
    const rules = ingressRules();
    for (const port of [...SALT_PORTS, ...API_PORTS, 22]) {
      for (const rule of rules.filter((r) => covers(r, port))) expect(rule.cidrs).not.toContain("0.0.0.0/0");
    }
    const salt = rules.filter((r) => covers(r, 4505) || covers(r, 4506));
    expect(salt.length).toBe(2);
    for (const rule of salt) expect(rule.cidrs).toEqual(["10.42.0.0/16"]);
    for (const rule of rules.filter((r) => covers(r, 22))) expect(rule.cidrs).toEqual(["203.0.113.0/24"]);
    // salt-api and the hook are not reachable from outside at all: events come through SQS.
    expect(rules.filter((r) => API_PORTS.some((p) => covers(r, p)))).toEqual([]);
  });

  test("ECR scans on push, keeps a bounded history, and forwards pushes to SQS for the master only", () => {
    expect(named(`${stack}-registry-repo`).inputs).toMatchObject({
      name: "saltpipe/app",
      imageScanningConfiguration: { scanOnPush: true },
    });
    const lifecycle = JSON.parse(named(`${stack}-registry-lifecycle`).inputs.policy);
    expect(lifecycle.rules[0].selection).toMatchObject({ countType: "imageCountMoreThan", countNumber: 30 });
    const pattern = JSON.parse(named(`${stack}-registry-push`).inputs.eventPattern ?? "{}");
    expect(pattern).toEqual({
      source: ["aws.ecr"],
      "detail-type": ["ECR Image Action"],
      detail: { "action-type": ["PUSH"], result: ["SUCCESS"], "repository-name": ["saltpipe/app"] },
    });
    const queuePolicy = JSON.parse(ofType("aws:sqs/queuePolicy:QueuePolicy")[0].inputs.policy);
    expect(queuePolicy.Statement[0].Condition.ArnEquals["aws:SourceArn"]).toMatch(/rule\/.*-registry-push$/);
    const rolePolicy = JSON.parse(named(`${stack}-registry-master-queue`).inputs.policy);
    expect(rolePolicy.Statement).toEqual([
      expect.objectContaining({ Resource: expect.stringMatching(/^arn:aws:sqs:.*-registry-events$/) }),
      { Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
      expect.objectContaining({ Resource: "arn:aws:ecr:eu-west-1:123456789012:repository/saltpipe/app" }),
    ]);
    const withProfile = ofType("aws:ec2/instance:Instance").filter((i) => i.inputs.iamInstanceProfile);
    expect(withProfile.map((i) => i.name)).toEqual([`${stack}-hosts-master`]);
  });

  test("the master reads the queue with the sqs_events engine", () => {
    expect(named(`${stack}-salt-master-config`).inputs.stdin).toMatch(
      /engines:\n {2}- sqs_events:\n {6}queue: /,
    );
  });

  test("hosts are bootstrapped as their cloud user through sudo", () => {
    const users = { ubuntu: "ubuntu", centos: "ec2-user" } as Record<string, string>;
    for (const m of (stackConfig(stack) as { minions: { name: string; os: string }[] }).minions) {
      const install = named(`${stack}-salt-${m.name}-install`).inputs;
      expect(install.connection.user).toBe(users[m.os]);
      expect(install.create).toBe("sudo -n bash -s");
    }
  });

  test("the image is pushed to ECR with a fresh token, tagged <environment>-<commit>, after the cluster is ready", async () => {
    const image = ofType("docker:index/image:Image")[0];
    expect(image.inputs.imageName).toMatch(
      new RegExp(
        `^123456789012\\.dkr\\.ecr\\.eu-west-1\\.amazonaws\\.com/saltpipe/app:${stack}-[0-9a-f]{12}(-dirty)?$`,
      ),
    );
    expect(image.secretInputs.has("registry")).toBe(true);
    expect(dependencies.get(`${stack}-app`)).toEqual([`${stack}-salt-highstate`]);
    expect(await promiseOf(env.imageDigest)).toBe(`sha256:${"ab".repeat(32)}`);
  });

  test("secrets never reach plain inputs or outputs", async () => {
    const plain = plaintextInputs();
    expect(plain).not.toContain(WEBHOOK_SECRET);
    expect(plain).not.toContain("PRIVATE KEY");
    expect(plain).not.toContain("ecr-token-password");
    for (const output of [env.masterAddress, env.webhookUrl, env.registry, env.imageDigest]) {
      expect(await pulumi.isSecret(output)).toBe(false);
      expect(JSON.stringify(await promiseOf(output))).not.toContain(WEBHOOK_SECRET);
    }
  });
});

describe("local stack", () => {
  let env: Environment;
  beforeAll(async () => {
    env = await build("local");
  });

  test("a master, two minions and a registry, as containers on one private network", () => {
    const containers = ofType("docker:index/container:Container");
    expect(containers.map((c) => c.inputs.name).sort()).toEqual([
      "saltpipe-local-master",
      "saltpipe-local-minion-1",
      "saltpipe-local-minion-2",
      "saltpipe-local-registry",
    ]);
    expect(ofType("docker:index/network:Network").map((n) => n.inputs.name)).toEqual(["saltpipe-local-net"]);
    for (const c of containers) {
      expect(c.inputs.networksAdvanced).toEqual([
        { name: "saltpipe-local-net", aliases: [expect.any(String)] },
      ]);
      for (const p of c.inputs.ports) expect(p.ip).toBe("127.0.0.1");
    }
  });

  test("hosts run systemd without --privileged and keep their engine's storage on a volume", () => {
    const minion = named("local-hosts-minion-1").inputs;
    expect(minion.privileged).toBeUndefined();
    expect(minion.capabilities).toEqual({ adds: ["SYS_ADMIN", "NET_ADMIN"] });
    expect(minion.command).toEqual(["/sbin/init"]);
    expect(minion.volumes).toContainEqual({
      volumeName: "saltpipe-local-minion-1-docker",
      containerPath: "/var/lib/docker",
    });
    expect(minion.ports).toEqual([
      { internal: 22, external: 19081, ip: "127.0.0.1" },
      { internal: 80, external: 18080, ip: "127.0.0.1" },
    ]);
    expect(named("local-hosts-master").inputs.ports).toEqual([
      { internal: 22, external: 19080, ip: "127.0.0.1" },
    ]);
  });

  test("the host image's base is a build argument", () => {
    const hostImage = named("local-hosts-image").inputs;
    expect(hostImage.build.args).toEqual({ BASE_IMAGE: "saltpipe/debian-host:bookworm" });
    expect(named("local-registry-image").inputs.build.args).toEqual({
      BASE_IMAGE: "saltpipe/debian-registry:bookworm",
    });
    expect(hostImage.skipPush).toBe(true);
  });

  test("the registry notifies the master's hook proxy with the bearer token, as a secret", () => {
    const registry = named("local-registry-container");
    expect(registry.secretInputs.has("uploads")).toBe(true);
    const config = registry.inputs.uploads[0].content as string;
    expect(config).toContain("url: http://master:8443/hook/saltpipe/registry");
    expect(config).toContain(`Bearer ${WEBHOOK_SECRET}`);
  });

  test("Salt is installed with pip from the uploaded wheelhouse", () => {
    const copies = ofType("command:remote:CopyToRemote");
    expect(copies.map((c) => c.name).sort()).toEqual([
      "local-salt-master-wheelhouse",
      "local-salt-minion-1-wheelhouse",
      "local-salt-minion-2-wheelhouse",
    ]);
    expect(named("local-salt-master-install").inputs.stdin).toContain(
      "--no-index --find-links /var/cache/saltpipe-wheelhouse/wheelhouse salt==3008.4",
    );
    expect(dependencies.get("local-salt-master-install")).toContain("local-salt-master-wheelhouse");
  });

  test("minions trust the local registry over plain HTTP (pillar) and know their master by name", () => {
    expect(named("local-salt-master-config").inputs.stdin).toMatch(
      /insecure-registries:\n\s+- registry:5000/,
    );
    expect(named("local-salt-minion-1-config").inputs.stdin).toContain("master: master\n");
  });

  test("the app is pushed to the local registry and every minion's proxy is an app URL", async () => {
    expect(ofType("docker:index/image:Image").map((i) => i.inputs.imageName)).toContainEqual(
      expect.stringMatching(/^127\.0\.0\.1:5000\/saltpipe\/app:local-/),
    );
    expect(await promiseOf(env.appUrls)).toEqual(["http://127.0.0.1:18080/", "http://127.0.0.1:18081/"]);
  });

  test("secrets never reach plain inputs", () => {
    const plain = plaintextInputs();
    expect(plain).not.toContain(WEBHOOK_SECRET);
    expect(plain).not.toContain("PRIVATE KEY");
  });
});

describe("bad config fails before any resource is registered", () => {
  test.each([
    ["dev", { minions: 0 }, "saltpipe:minions: 0 is out of range"],
    ["local", { deploy: { batch: "0%" } }, "saltpipe:deploy.batch: invalid value"],
    ["prod", { adminCidrs: ["0.0.0.0/0"] }, "would open SSH to the whole internet"],
  ])("%s with %j", (stack, extra, message) => {
    resetAll();
    useStack(stack, extra);
    expect(() => readStackConfig()).toThrow(message);
    expect(() => readStackConfig()).toThrow(`Pulumi.${stack}.yaml`);
    expect(recorded).toEqual([]);
  });
});

describe("names fit AWS limits", () => {
  // Pulumi names these from the logical name plus "-" and 7 random characters.
  const LIMITS: Record<string, number> = {
    "aws:iam/role:Role": 64,
    "aws:iam/instanceProfile:InstanceProfile": 128,
    "aws:iam/rolePolicy:RolePolicy": 128,
    "aws:cloudwatch/eventRule:EventRule": 64,
    "aws:cloudwatch/eventTarget:EventTarget": 64,
    "aws:sqs/queue:Queue": 80,
    "aws:ec2/securityGroup:SecurityGroup": 255,
  };

  test("the longest environment name validation admits gives auto-names within every limit", async () => {
    const environment = "e".repeat(40);
    resetAll();
    useStack("dev", { environment });
    const env = new Environment(environment, { spec: readStackConfig(), projectDir: ROOT });
    await promiseOf(env.imageDigest);
    await settle();
    const named = recorded.filter((r) => r.type in LIMITS && r.inputs.name === undefined);
    expect(named.map((r) => r.type)).toEqual(expect.arrayContaining(Object.keys(LIMITS)));
    const over = named.filter((r) => r.name.length + AUTO_NAME_SUFFIX > LIMITS[r.type]);
    expect(over.map((r) => `${r.type} ${r.name}`)).toEqual([]);
    // One character more is refused before any resource.
    resetAll();
    useStack("dev", { environment: `${environment}e` });
    expect(() => readStackConfig()).toThrow("saltpipe:environment:");
    expect(recorded).toEqual([]);
  });
});

describe("the program", () => {
  test("stacks/index.ts exports the environment's outputs", async () => {
    resetAll();
    useStack("local");
    const program = await import("../../stacks/index");
    expect(Object.keys(program).sort()).toEqual([
      "appUrls",
      "environmentName",
      "imageDigest",
      "imageName",
      "masterAddress",
      "masterSsh",
      "masterSshKey",
      "registry",
      "webhookUrl",
    ]);
    expect(await promiseOf(program.webhookUrl)).toBe("http://master:8443/hook/saltpipe/registry");
    expect(await promiseOf(program.masterSsh)).toEqual({ host: "127.0.0.1", port: 19080, user: "root" });
    expect(await pulumi.isSecret(program.masterSsh)).toBe(false);
    expect(await pulumi.isSecret(program.masterSshKey)).toBe(true);
    expect(await promiseOf(program.masterSshKey)).toContain("PRIVATE KEY");
  });
});
