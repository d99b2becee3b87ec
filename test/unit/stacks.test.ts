/**
 * Every committed stack file, run through the real program under Pulumi mocks: which
 * resources exist, their key properties, what depends on what, and that secrets stay secret.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  Environment,
  eventQueuePolicy,
  masterQueuePolicy,
  minionPullPolicy,
  readStackConfig,
} from "../../infra";
import { AUTO_NAME_SUFFIX } from "../../infra/config/limits";
import * as bcrypt from "bcryptjs";
import { REGISTRY_PASSWORD, ROOT, stackConfig, testPrivateKey, WEBHOOK_SECRET } from "./fixtures";
import {
  dependencies,
  FAKE_HOOK_CA,
  named,
  ofType,
  promiseOf,
  recordDependencies,
  recorded,
  resetAll,
  settle,
  setupMocks,
  useStackFile as useStack,
  type Recorded,
} from "./mocks";

// Building a whole stack under mocks takes seconds on a busy machine.
jest.setTimeout(120_000);

const SALT_PORTS = [4505, 4506];
const API_PORTS = [8000, 8443];

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
function ingressRules(): { group: string; from: number; to: number; cidrs: string[]; groups: string[] }[] {
  return ofType("aws:ec2/securityGroup:SecurityGroup").flatMap((g) =>
    (g.inputs.ingress ?? []).map(
      (r: { fromPort: number; toPort: number; cidrBlocks?: string[]; securityGroups?: string[] }) => ({
        group: g.name,
        from: r.fromPort,
        to: r.toPort,
        cidrs: r.cidrBlocks ?? [],
        groups: r.securityGroups ?? [],
      }),
    ),
  );
}

function covers(rule: { from: number; to: number }, port: number): boolean {
  return rule.from <= port && port <= rule.to;
}

/** The content a container uploads to `file`. */
function uploadOf(inputs: Recorded["inputs"], file: string): string {
  const upload = (inputs.uploads as { file: string; content: string }[]).find((u) => u.file === file);
  if (!upload) throw new Error(`no upload of ${file}`);
  return upload.content;
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
  // Building the whole program under mocks takes seconds on a loaded machine.
  beforeAll(async () => {
    env = await build(stack);
  }, 60_000);

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
    const ssh = rules.filter((r) => covers(r, 22));
    expect(ssh.map((r) => [r.group, r.cidrs, r.groups])).toEqual([
      [`${stack}-hosts-master`, ["203.0.113.0/24"], []],
      // Minions: SSH only from the master, the jump host.
      [`${stack}-hosts-minion`, [], [`${stack}-hosts-master-id`]],
    ]);
    // salt-api and the hook are not reachable from outside at all: events come through SQS.
    expect(rules.filter((r) => API_PORTS.some((p) => covers(r, p)))).toEqual([]);
  });

  test("one load balancer across the public subnets of at least two zones, checking every minion's proxy", () => {
    const spec = stackConfig(stack) as { minions: { name: string }[]; aws: { availabilityZones?: string[] } };
    const zones = spec.aws.availabilityZones ?? ["eu-west-1a", "eu-west-1b"];
    expect(zones.length).toBeGreaterThanOrEqual(2);
    const [lb] = ofType("aws:lb/loadBalancer:LoadBalancer");
    expect(lb.inputs).toMatchObject({
      loadBalancerType: "application",
      internal: false,
      dropInvalidHeaderFields: true,
    });
    const publicSubnets = ofType("aws:ec2/subnet:Subnet").filter((s) => s.name.includes("-public-"));
    expect(publicSubnets.map((s) => s.inputs.availabilityZone)).toEqual(zones);
    expect(lb.inputs.subnets).toEqual(publicSubnets.map((s) => `${s.name}-id`));
    const [group] = ofType("aws:lb/targetGroup:TargetGroup");
    expect(group.inputs).toMatchObject({
      port: 80,
      protocol: "HTTP",
      targetType: "instance",
      healthCheck: { path: "/healthz", matcher: "200-399", interval: 10, unhealthyThreshold: 2 },
    });
    const drain = (stackConfig(stack) as { deploy: { drainSeconds?: number } }).deploy.drainSeconds ?? 10;
    expect(group.inputs.deregistrationDelay).toBeGreaterThanOrEqual(drain);
    const attached = ofType("aws:lb/targetGroupAttachment:TargetGroupAttachment");
    expect(attached.map((a) => a.inputs.targetId).sort()).toEqual(
      spec.minions.map((m) => `${stack}-hosts-${m.name}-id`).sort(),
    );
    for (const a of attached) expect(a.inputs.port).toBe(80);
  });

  test("listeners: HTTPS with a TLS 1.2+ policy and HTTP → HTTPS when a certificate is set, else plain HTTP", async () => {
    const listeners = ofType("aws:lb/listener:Listener").sort((a, b) => b.inputs.port - a.inputs.port);
    const certificate = (stackConfig(stack) as { aws: { certificateArn?: string } }).aws.certificateArn;
    if (certificate) {
      expect(listeners.map((l) => [l.inputs.port, l.inputs.protocol])).toEqual([
        [443, "HTTPS"],
        [80, "HTTP"],
      ]);
      expect(listeners[0].inputs).toMatchObject({
        sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
        certificateArn: certificate,
        defaultActions: [{ type: "forward" }],
      });
      expect(listeners[1].inputs.defaultActions).toEqual([
        { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
      ]);
      expect(await promiseOf(env.appUrl)).toMatch(/^https:\/\/.*\.elb\.amazonaws\.com\/$/);
    } else {
      expect(
        listeners.map((l) => [l.inputs.port, l.inputs.protocol, l.inputs.defaultActions[0].type]),
      ).toEqual([[80, "HTTP", "forward"]]);
      expect(await promiseOf(env.appUrl)).toMatch(/^http:\/\/.*\.elb\.amazonaws\.com\/$/);
    }
    expect(Boolean(certificate)).toBe(stack === "prod");
  });

  test("minions live in private subnets of at least two zones, without public addresses", () => {
    const minions = (stackConfig(stack) as { minions: { name: string }[] }).minions;
    const subnets = new Map(ofType("aws:ec2/subnet:Subnet").map((s) => [`${s.name}-id`, s]));
    const zones = new Set<string>();
    for (const m of minions) {
      const instance = named(`${stack}-hosts-${m.name}`).inputs;
      expect(instance.associatePublicIpAddress).toBe(false);
      const subnet = subnets.get(instance.subnetId)!;
      expect(subnet.name).toContain("-private-");
      expect(subnet.inputs.mapPublicIpOnLaunch).toBe(false);
      zones.add(subnet.inputs.availabilityZone);
    }
    expect(zones.size).toBeGreaterThanOrEqual(2);
    const master = ofType("aws:ec2/instance:Instance").find(
      (i) => i.name === `${stack}-hosts-master`,
    )!.inputs;
    expect(master.associatePublicIpAddress).toBe(true);
    expect(subnets.get(master.subnetId)!.name).toContain("-public-");
  });

  test("the minions' security group opens the app port to the load balancer only", () => {
    const app = ingressRules().filter((r) => r.group === `${stack}-hosts-minion` && covers(r, 80));
    expect(app).toEqual([
      { group: `${stack}-hosts-minion`, from: 80, to: 80, cidrs: [], groups: [`${stack}-hosts-lb-id`] },
    ]);
  });

  test("egress of the private subnets goes through NAT: one gateway per zone on prod, one on dev/test", () => {
    const zones = ofType("aws:ec2/subnet:Subnet").filter((s) => s.name.includes("-private-")).length;
    const nats = ofType("aws:ec2/natGateway:NatGateway");
    expect(nats.length).toBe(stack === "prod" ? zones : 1);
    const privateRoutes = ofType("aws:ec2/routeTable:RouteTable").filter((r) => r.name.includes("-private-"));
    expect(privateRoutes.length).toBe(zones);
    for (const r of privateRoutes)
      expect(r.inputs.routes[0]).toMatchObject({
        cidrBlock: "0.0.0.0/0",
        natGatewayId: expect.stringMatching(/-nat-[a-z]-id$/),
      });
  });

  test("minions are bootstrapped through the master as SSH jump host, every host key pinned", () => {
    const minions = (stackConfig(stack) as { minions: { name: string }[] }).minions;
    const masterInstall = named(`${stack}-salt-master-install`).inputs.connection;
    expect(masterInstall.proxy).toBeUndefined();
    expect(masterInstall.hostKey).toMatch(/^ssh-ed25519 AAAA/);
    for (const m of minions) {
      const connection = named(`${stack}-salt-${m.name}-install`).inputs.connection;
      expect(connection.host).toMatch(/^10\.42\.129\./);
      expect(connection.hostKey).toMatch(/^ssh-ed25519 AAAA/);
      expect(connection.proxy).toMatchObject({
        host: masterInstall.host,
        user: "ubuntu",
        hostKey: masterInstall.hostKey,
      });
      expect(connection.hostKey).not.toBe(masterInstall.hostKey);
    }
  });

  test("each instance's host key is generated here and installed by cloud-init, as a secret", () => {
    for (const instance of ofType("aws:ec2/instance:Instance")) {
      expect(instance.secretInputs.has("userData")).toBe(true);
      expect(instance.inputs.userDataReplaceOnChange).toBe(true);
      expect(instance.inputs.userData).toMatch(
        /^#cloud-config\n[\s\S]*ed25519_private: \|\n {4}-----BEGIN OPENSSH PRIVATE KEY-----/,
      );
    }
    expect(ofType("tls:index/privateKey:PrivateKey").map((k) => k.inputs.algorithm)).toEqual(
      ofType("aws:ec2/instance:Instance").map(() => "ED25519"),
    );
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
    const queueArn = `arn:aws:sqs:eu-west-1:123456789012:${stack}-registry-events`;
    // The component deploys exactly the rendered documents (their values: infra/registry/__tests__/ecr-policies.test.ts).
    const queuePolicy = JSON.parse(ofType("aws:sqs/queuePolicy:QueuePolicy")[0].inputs.policy);
    expect(queuePolicy).toEqual(
      eventQueuePolicy(queueArn, `arn:aws:events:eu-west-1:123456789012:rule/${stack}-registry-push`),
    );
    const dlqArn = `arn:aws:sqs:eu-west-1:123456789012:${stack}-registry-dlq`;
    expect(JSON.parse(named(`${stack}-registry-events`).inputs.redrivePolicy)).toEqual({
      deadLetterTargetArn: dlqArn,
      maxReceiveCount: 5,
    });
    expect(named(`${stack}-registry-push`, "aws:cloudwatch/eventTarget:EventTarget").inputs).toMatchObject({
      arn: queueArn,
      deadLetterConfig: { arn: dlqArn },
    });
  });

  test("the master's role can only receive, delete and inspect its own queue", () => {
    const policy = JSON.parse(named(`${stack}-registry-master-queue`).inputs.policy);
    expect(policy).toEqual(masterQueuePolicy(`arn:aws:sqs:eu-west-1:123456789012:${stack}-registry-events`));
    // Its only policy: nothing in ECR, no SendMessage, nothing else attached.
    const masterPolicies = ofType("aws:iam/rolePolicy:RolePolicy").filter(
      (r) => r.inputs.role === `${stack}-registry-master-id`,
    );
    expect(masterPolicies.map((r) => r.name)).toEqual([`${stack}-registry-master-queue`]);
    expect(ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")).toEqual([]);
  });

  test("each minion has its own instance role that can pull this repository only", () => {
    const minions = (stackConfig(stack) as { minions: { name: string }[] }).minions;
    for (const [i, m] of minions.entries()) {
      const policy = JSON.parse(named(`${stack}-registry-m${i + 1}-pull`).inputs.policy);
      expect(policy).toEqual(minionPullPolicy("arn:aws:ecr:eu-west-1:123456789012:repository/saltpipe/app"));
      expect(named(`${stack}-hosts-${m.name}`, "aws:ec2/instance:Instance").inputs.iamInstanceProfile).toBe(
        `${stack}-registry-m${i + 1}`,
      );
    }
    expect(named(`${stack}-hosts-master`, "aws:ec2/instance:Instance").inputs.iamInstanceProfile).toBe(
      `${stack}-registry-master`,
    );
    const trust = JSON.parse(named(`${stack}-registry-master`, "aws:iam/role:Role").inputs.assumeRolePolicy);
    expect(trust.Statement).toEqual([
      { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
    ]);
  });

  test("the master reads the queue with the saltpipe_sqs engine; minions pull with the ECR credential helper", () => {
    const master = named(`${stack}-salt-master-config`).inputs.stdin as string;
    expect(master).toContain(
      [
        "engines:",
        "  - saltpipe_sqs:",
        `      queue_url: https://sqs/${stack}-registry-events`,
        "      region: eu-west-1",
        "      wait_seconds: 20",
        "      max_messages: 10",
        "saltpipe:",
        "  events:",
        "    transport: sqs",
        '    account: "123456789012"',
        "    region: eu-west-1",
        "    allow_missing_account: false",
      ].join("\n"),
    );
    expect(master).not.toContain("endpoint_url");
    expect(master).toMatch(/credential_helper: ecr-login\n/);
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
  }, 60_000);

  test("a master, two minions, a load balancer and a registry, as containers on one private network", () => {
    const containers = ofType("docker:index/container:Container");
    expect(containers.map((c) => c.inputs.name).sort()).toEqual([
      "saltpipe-local-lb",
      "saltpipe-local-master",
      "saltpipe-local-minion-1",
      "saltpipe-local-minion-2",
      "saltpipe-local-registry",
      "saltpipe-local-registry-push",
    ]);
    expect(ofType("docker:index/network:Network").map((n) => n.inputs.name)).toEqual(["saltpipe-local-net"]);
    for (const c of containers) {
      expect(c.inputs.networksAdvanced).toEqual([
        { name: "saltpipe-local-net", aliases: [expect.any(String)] },
      ]);
      for (const p of c.inputs.ports ?? []) expect(p.ip).toBe("127.0.0.1");
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
    // Private minions: no SSH port published, only their proxy (for diagnosis; users use the LB).
    expect(minion.ports).toEqual([{ internal: 80, external: 18080, ip: "127.0.0.1" }]);
    expect(named("local-hosts-master").inputs.ports).toEqual([
      { internal: 22, external: 19080, ip: "127.0.0.1" },
    ]);
  });

  test("each container's SSH host key is read from inside it once and pinned on every connection", () => {
    const collect = named("local-hosts-minion-1-host-key").inputs;
    expect(collect.create).toContain("exec saltpipe-local-minion-1 sh -c 'cat /etc/ssh/ssh_host_*_key.pub'");
    // Only a new container collects again; any other change keeps the pinned key.
    expect(collect.triggers).toEqual(["local-hosts-minion-1-id"]);
    expect(collect.update).toBe(`printf '%s\\n' "$PULUMI_COMMAND_STDOUT"`);
    for (const command of ofType("command:remote:Command"))
      expect(command.inputs.connection.hostKey).toMatch(/^ssh-ed25519 AAAA/);
    expect(named("local-salt-minion-1-install").inputs.connection.hostKey).not.toBe(
      named("local-salt-master-install").inputs.connection.hostKey,
    );
  });

  test("minions are reached through the master as SSH jump host; the master directly", () => {
    const viaMaster = {
      host: "127.0.0.1",
      port: 19080,
      user: "root",
      privateKey: expect.stringContaining("PRIVATE KEY"),
      dialErrorLimit: 30,
      perDialTimeout: 5,
    };
    const pinned = expect.stringMatching(/^ssh-ed25519 AAAA/);
    expect(named("local-salt-master-install").inputs.connection).toEqual({ ...viaMaster, hostKey: pinned });
    for (const minion of ["minion-1", "minion-2"]) {
      for (const step of ["install", "config"]) {
        const cmd = named(`local-salt-${minion}-${step}`);
        expect(cmd.inputs.connection).toEqual({
          host: minion,
          port: 22,
          user: "root",
          privateKey: expect.stringContaining("PRIVATE KEY"),
          dialErrorLimit: 90,
          perDialTimeout: 5,
          hostKey: pinned,
          proxy: { ...viaMaster, hostKey: pinned },
        });
        expect(cmd.secretInputs.has("connection")).toBe(true);
      }
      expect(named(`local-salt-${minion}-wheelhouse`).inputs.connection.proxy).toEqual({
        ...viaMaster,
        hostKey: pinned,
      });
    }
  });

  test("one load balancer: HAProxy on 127.0.0.1:lbPort, actively checking every minion's proxy", async () => {
    const lb = named("local-lb-container").inputs;
    expect(lb.ports).toEqual([{ internal: 8080, external: 18580, ip: "127.0.0.1" }]);
    expect(lb.networksAdvanced).toEqual([{ name: "saltpipe-local-net", aliases: ["lb"] }]);
    const config = lb.uploads[0].content as string;
    expect(lb.uploads[0].file).toBe("/etc/haproxy/haproxy.cfg");
    expect(config).toContain("option httpchk");
    expect(config).toContain("http-check send meth GET uri /healthz");
    expect(config).toContain("    server minion-1 minion-1:80\n    server minion-2 minion-2:80\n");
    expect(config).toMatch(/default-server check inter 500ms .* fall 2 rise 2 resolvers docker/);
    expect(named("local-lb-image").inputs.build.args).toEqual({ BASE_IMAGE: "saltpipe/debian-lb:bookworm" });
    expect(dependencies.get("local-lb-container")).toEqual(
      expect.arrayContaining(["local-hosts-minion-1", "local-hosts-minion-2"]),
    );
    expect(await promiseOf(env.appUrl!)).toBe("http://127.0.0.1:18580/");
  });

  test("the hook is TLS only, with a certificate the master makes for itself; the registry trusts its CA only", async () => {
    const tls = named("local-salt-master-hook-tls");
    expect(tls.inputs.stdin).toContain("san=DNS:master");
    expect(dependencies.get("local-salt-master-hook-tls")).toContain("local-salt-master-install");
    expect(dependencies.get("local-salt-master-service")).toContain("local-salt-master-hook-tls");
    const config = named("local-salt-master-config").inputs.stdin as string;
    expect(config).toContain("listen 8443 ssl;");
    expect(config).toContain("ssl_certificate /etc/saltpipe/tls/hook.crt;");
    expect(config).toContain("server_tokens off;");
    // The push instance notifies the hook; the read-only one minions pull from never does.
    const registry = named("local-registry-push").inputs;
    expect(uploadOf(registry, "/etc/docker/registry/hook-ca.pem")).toBe(FAKE_HOOK_CA);
    expect(registry.envs).toEqual(["SSL_CERT_FILE=/etc/docker/registry/hook-ca.pem"]);
    expect(await promiseOf(env.hookCaCertificate)).toBe(FAKE_HOOK_CA);
    // The app is pushed only once the registry (which notifies the hook) runs.
    expect(dependencies.get("local-app")).toEqual(
      expect.arrayContaining(["local-salt-highstate", "local-registry-push", "local-registry-container"]),
    );
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
    const registry = named("local-registry-push");
    expect(registry.secretInputs.has("uploads")).toBe(true);
    const config = uploadOf(registry.inputs, "/etc/docker/registry/config.yml");
    expect(config).toContain("url: https://master:8443/hook/saltpipe/registry");
    expect(config).toContain(`Bearer ${WEBHOOK_SECRET}`);
  });

  test("only the pipeline pushes: credentials on the push instance; minions pull from a read-only, anonymous one", () => {
    const push = named("local-registry-push");
    expect(push.inputs.ports).toEqual([{ internal: 5000, external: 5000, ip: "127.0.0.1" }]);
    expect(uploadOf(push.inputs, "/etc/docker/registry/config.yml")).toContain(
      "auth:\n  htpasswd:\n    realm: saltpipe-registry\n    path: /etc/docker/registry/htpasswd\n",
    );
    const htpasswd = uploadOf(push.inputs, "/etc/docker/registry/htpasswd");
    expect(htpasswd).toMatch(/^saltpipe:\$2b\$05\$/);
    expect(bcrypt.compareSync(REGISTRY_PASSWORD, htpasswd.trim().split(":")[1])).toBe(true);
    const pull = named("local-registry-container");
    expect(pull.inputs.name).toBe("saltpipe-local-registry");
    expect(pull.inputs.networksAdvanced[0].aliases).toEqual(["registry"]);
    expect(pull.inputs.ports ?? []).toEqual([]);
    const pullConfig = uploadOf(pull.inputs, "/etc/docker/registry/config.yml");
    expect(pullConfig).toContain("maintenance:\n    readonly:\n      enabled: true\n");
    expect(pullConfig).not.toContain("notifications");
    expect(pullConfig).not.toContain("htpasswd");
    expect(pull.inputs.volumes).toEqual(push.inputs.volumes);
    // The app image is pushed with the pipeline's credentials; the password is in no minion's pillar.
    expect(named("local-app-image").inputs.registry).toEqual({
      server: "127.0.0.1:5000",
      username: "saltpipe",
      password: REGISTRY_PASSWORD,
    });
    expect(named("local-app-image").secretInputs.has("registry")).toBe(true);
    expect(named("local-salt-master-config").inputs.stdin).not.toContain(REGISTRY_PASSWORD);
    expect(plaintextInputs()).not.toContain(REGISTRY_PASSWORD);
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

describe("local stack with the hook's certificate from stack config", () => {
  const CERT = "-----BEGIN CERTIFICATE-----\nMIIBconfigCert\n-----END CERTIFICATE-----\n";
  const CA = "-----BEGIN CERTIFICATE-----\nMIIBconfigCa\n-----END CERTIFICATE-----\n";
  const KEY = "-----BEGIN PRIVATE KEY-----\nMIIhookKeyOnlyHere\n-----END PRIVATE KEY-----\n";
  let env: Environment;
  beforeAll(async () => {
    resetAll();
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries({
      ...stackConfig("local"),
      hookTls: { certificate: CERT, ca: CA },
    }))
      config[`saltpipe:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
    config["saltpipe:webhookSecret"] = WEBHOOK_SECRET;
    config["saltpipe:sshPrivateKey"] = testPrivateKey();
    config["saltpipe:hookTlsKey"] = KEY;
    config["saltpipe:registryPassword"] = REGISTRY_PASSWORD;
    setupMocks("local", config, [
      "saltpipe:webhookSecret",
      "saltpipe:sshPrivateKey",
      "saltpipe:hookTlsKey",
      "saltpipe:registryPassword",
    ]);
    env = new Environment("local", { spec: readStackConfig(), projectDir: ROOT });
    await promiseOf(env.imageDigest);
    await settle();
  });

  test("no certificate is made; the master gets the given one, its key only as a secret; the registry trusts the given CA", async () => {
    expect(recorded.find((r) => r.name === "local-salt-master-hook-tls")).toBeUndefined();
    const config = named("local-salt-master-config");
    expect(config.secretInputs.has("stdin")).toBe(true);
    expect(config.inputs.stdin).toContain("MIIBconfigCert");
    expect(config.inputs.stdin).toContain("MIIhookKeyOnlyHere");
    expect(plaintextInputs()).not.toContain("MIIhookKeyOnlyHere");
    expect(uploadOf(named("local-registry-push").inputs, "/etc/docker/registry/hook-ca.pem")).toBe(CA);
    expect(await promiseOf(env.hookCaCertificate)).toBe(CA);
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
      "appUrl",
      "appUrls",
      "environmentName",
      "hookCaCertificate",
      "imageDigest",
      "imageName",
      "masterAddress",
      "masterSsh",
      "masterSshKey",
      "registry",
      "webhookUrl",
    ]);
    expect(await promiseOf(program.webhookUrl)).toBe("https://master:8443/hook/saltpipe/registry");
    expect(await promiseOf(program.masterSsh)).toEqual({
      name: "master",
      host: "127.0.0.1",
      port: 19080,
      user: "root",
      hostKey: expect.stringMatching(/^ssh-ed25519 AAAA/),
    });
    expect(await pulumi.isSecret(program.masterSsh)).toBe(false);
    expect(await pulumi.isSecret(program.masterSshKey)).toBe(true);
    expect(await promiseOf(program.masterSshKey)).toContain("PRIVATE KEY");
  });
});
