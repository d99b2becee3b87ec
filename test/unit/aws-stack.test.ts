/**
 * The aws stack files (dev, test, prod), run through the real program under Pulumi mocks:
 * instances, network, load balancer, ECR and its event path, IAM, bootstrap, and that secrets
 * stay secret.
 */
import * as pulumi from "@pulumi/pulumi";
import { Environment, eventQueuePolicy, masterQueuePolicy, minionPullPolicy } from "../../infra";
import { stackConfig, WEBHOOK_SECRET } from "./fixtures";
import { dependencies, named, ofType, promiseOf } from "./mocks";
import { API_PORTS, build, covers, ingressRules, plaintextInputs, SALT_PORTS } from "./stack-support";

// Building a whole stack under mocks takes seconds on a busy machine.
jest.setTimeout(120_000);

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
