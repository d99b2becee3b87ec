/**
 * The aws stand-in's ELBv2, ECR, SQS, EventBridge and IAM types against a real moto server:
 * outputs, in-place updates, ForceNew replaces, deletes, API errors, and the rules the stand-in
 * checks where moto is silent (a load balancer's subnets in two zones); a repository holding
 * an image is refused without forceDelete (moto's own rule, surfaced as the real provider words it).
 */
import { ECRClient, PutImageCommand } from "@aws-sdk/client-ecr";
import { awsStandIn, type Created, type StandIn } from "./support/aws-standin";
import { ACCOUNT, startMoto, type Moto } from "./support/moto";

jest.setTimeout(5 * 60_000);

const REGION = "eu-west-1";
const PORT = 45182;

let moto: Moto;
let aws: StandIn;
let vpc: Created;
let subnets: Created[];

beforeAll(async () => {
  moto = await startMoto("saltpipe-awsstandin-services", PORT, []);
  aws = await awsStandIn(moto, REGION);
  vpc = await aws.create("aws:ec2/vpc:Vpc", "vpc", { cidrBlock: "10.50.0.0/16" });
  subnets = [];
  for (const [i, zone] of ["a", "b"].entries())
    subnets.push(
      await aws.create("aws:ec2/subnet:Subnet", zone, {
        vpcId: vpc.id,
        cidrBlock: `10.50.${i}.0/24`,
        availabilityZone: `${REGION}${zone}`,
      }),
    );
});
afterAll(async () => {
  await moto?.stop();
});

describe("ELBv2: load balancer, target group, listener, attachment", () => {
  it("an application load balancer in one zone is refused as AWS refuses it (the emulator accepts it)", async () => {
    await expect(
      aws.create("aws:lb/loadBalancer:LoadBalancer", "one", { name: "one-zone", subnets: [subnets[0].id] }),
    ).rejects.toThrow(
      "creating ELBv2 application Load Balancer (one-zone): operation error Elastic Load Balancing v2: CreateLoadBalancer, https response error StatusCode: 400, RequestID: offline-stand-in, api error ValidationError: At least two subnets in two different Availability Zones must be specified",
    );
  });

  it("load balancer, target group, listener and attachment: outputs, updates, replaces", async () => {
    const sg = await aws.create("aws:ec2/securityGroup:SecurityGroup", "lb", { vpcId: vpc.id });
    const lbInputs = {
      name: "svc-lb",
      loadBalancerType: "application",
      subnets: subnets.map((s) => s.id),
      securityGroups: [sg.id],
      tags: { Name: "lb" },
    };
    let lb = await aws.create("aws:lb/loadBalancer:LoadBalancer", "lb", lbInputs);
    expect(lb.id).toMatch(
      new RegExp(`^arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/app/svc-lb/`),
    );
    expect(lb.out).toMatchObject({ arn: lb.id, vpcId: vpc.id, internal: false, tagsAll: { Name: "lb" } });
    expect(lb.out.dnsName).toMatch(/^svc-lb-.*\.elb\.amazonaws\.com$/);
    expect(lb.out.arnSuffix).toMatch(/^app\/svc-lb\//);
    expect((await aws.diff(lb, { ...lbInputs, name: "svc-lb2" })).replaces).toEqual(["name"]);
    expect((await aws.diff(lb, { ...lbInputs, internal: true })).replaces).toEqual(["internal"]);
    lb = await aws.update(lb, { ...lbInputs, dropInvalidHeaderFields: true, tags: { Name: "lb2" } });
    expect(lb.out).toMatchObject({ dropInvalidHeaderFields: true, tagsAll: { Name: "lb2" } });
    await expect(
      aws.update(lb, {
        ...lbInputs,
        dropInvalidHeaderFields: true,
        tags: { Name: "lb2" },
        subnets: [subnets[0].id],
      }),
    ).rejects.toThrow(
      /SetSubnets, .*api error ValidationError: At least two subnets in two different Availability Zones/,
    );

    const tgInputs = {
      name: "svc-app",
      vpcId: vpc.id,
      port: 8080,
      protocol: "HTTP",
      targetType: "instance",
      deregistrationDelay: 10,
      healthCheck: {
        enabled: true,
        path: "/healthz",
        matcher: "200-399",
        interval: 10,
        timeout: 5,
        healthyThreshold: 2,
        unhealthyThreshold: 2,
      },
    };
    let tg = await aws.create("aws:lb/targetGroup:TargetGroup", "app", tgInputs);
    expect(tg.out).toMatchObject({
      arnSuffix: expect.stringMatching(/^targetgroup\/svc-app\//),
      deregistrationDelay: 10,
      healthCheck: { path: "/healthz", interval: 10 },
    });
    expect((await aws.diff(tg, { ...tgInputs, port: 8081 })).replaces).toEqual(["port"]);
    tg = await aws.update(tg, {
      ...tgInputs,
      deregistrationDelay: 30,
      healthCheck: { ...tgInputs.healthCheck, path: "/ready" },
    });
    expect(tg.out).toMatchObject({ deregistrationDelay: 30, healthCheck: { path: "/ready" } });

    const forward = [{ type: "forward", targetGroupArn: tg.id }];
    let http = await aws.create("aws:lb/listener:Listener", "http", {
      loadBalancerArn: lb.id,
      port: 80,
      protocol: "HTTP",
      defaultActions: forward,
    });
    expect(http.out.arn).toBe(http.id);
    const redirect = [
      {
        type: "fixed-response",
        fixedResponse: { contentType: "text/plain", messageBody: "moved", statusCode: "503" },
      },
    ];
    expect(
      (
        await aws.diff(http, {
          loadBalancerArn: lb.id,
          port: 8080,
          protocol: "HTTP",
          defaultActions: redirect,
        })
      ).replaces,
    ).toEqual([]);
    http = await aws.update(http, {
      loadBalancerArn: lb.id,
      port: 8080,
      protocol: "HTTP",
      defaultActions: redirect,
    });
    expect(http.out.port).toBe(8080);
    expect(
      (
        await aws.diff(http, {
          loadBalancerArn: "arn:other",
          port: 8080,
          protocol: "HTTP",
          defaultActions: redirect,
        })
      ).replaces,
    ).toEqual(["loadBalancerArn"]);

    const net = await aws.create("aws:ec2/securityGroup:SecurityGroup", "i", { vpcId: vpc.id });
    const instance = await aws.create("aws:ec2/instance:Instance", "i", {
      ami: "ami-1e749f67",
      instanceType: "t3.micro",
      subnetId: subnets[0].id,
      vpcSecurityGroupIds: [net.id],
    });
    const attach = await aws.create("aws:lb/targetGroupAttachment:TargetGroupAttachment", "t", {
      targetGroupArn: tg.id,
      targetId: instance.id,
      port: 8080,
    });
    expect(attach.id.startsWith(`${tg.id}-`)).toBe(true);
    expect(
      (await aws.diff(attach, { targetGroupArn: tg.id, targetId: instance.id, port: 9090 })).replaces,
    ).toEqual(["port"]);
    expect(await aws.provider.read!(attach.id, attach.urn, attach.outs)).toMatchObject({ id: attach.id });

    for (const r of [attach, instance, net, http, tg, lb, sg]) await aws.remove(r);
    expect(await aws.provider.read!(lb.id, lb.urn, lb.outs)).toEqual({ id: "", props: {} });
  });
});

describe("ECR: repository, lifecycle policy, authorization token", () => {
  const policy = (n: number) =>
    JSON.stringify({
      rules: [
        {
          rulePriority: 1,
          selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: n },
          action: { type: "expire" },
        },
      ],
    });

  it("repository outputs; mutability and scanning update in place; name and encryption replace", async () => {
    const inputs = {
      name: "team/app",
      imageScanningConfiguration: { scanOnPush: true },
      imageTagMutability: "MUTABLE",
      encryptionConfigurations: [{ encryptionType: "AES256" }],
    };
    let repo = await aws.create("aws:ecr/repository:Repository", "repo", inputs);
    expect(repo.id).toBe("team/app");
    expect(repo.out).toMatchObject({
      arn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/team/app`,
      registryId: ACCOUNT,
      repositoryUrl: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/team/app`,
    });
    expect((await aws.diff(repo, { ...inputs, name: "team/other" })).replaces).toEqual(["name"]);
    expect(
      (await aws.diff(repo, { ...inputs, encryptionConfigurations: [{ encryptionType: "KMS" }] })).replaces,
    ).toEqual(["encryptionConfigurations"]);
    repo = await aws.update(repo, {
      ...inputs,
      imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: false },
    });
    expect(repo.out).toMatchObject({
      imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: false },
    });
    await expect(aws.create("aws:ecr/repository:Repository", "again", inputs)).rejects.toThrow(
      /api error RepositoryAlreadyExistsException/,
    );

    const lifecycle = await aws.create("aws:ecr/lifecyclePolicy:LifecyclePolicy", "lp", {
      repository: "team/app",
      policy: policy(5),
    });
    expect(lifecycle.out).toMatchObject({ registryId: ACCOUNT });
    expect(await aws.diff(lifecycle, { repository: "team/app", policy: policy(10) })).toMatchObject({
      replaces: ["policy"],
      deleteBeforeReplace: true,
    });

    const token = await aws.invoke("aws:ecr/getAuthorizationToken:getAuthorizationToken", {
      registryId: ACCOUNT,
    });
    expect(token).toMatchObject({
      proxyEndpoint: `https://${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`,
      userName: "AWS",
      id: REGION,
    });
    expect(Buffer.from(String(token.authorizationToken), "base64").toString()).toBe(`AWS:${token.password}`);

    // A repository that holds an image: refused without forceDelete, deleted with it.
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: {},
      layers: [],
    });
    await new ECRClient({ region: REGION, endpoint: moto.endpoint }).send(
      new PutImageCommand({ repositoryName: "team/app", imageManifest: manifest, imageTag: "v1" }),
    );
    await expect(aws.remove(repo)).rejects.toThrow(
      /^ECR Repository \(team\/app\) not empty, consider using force_delete: operation error ECR: DeleteRepository, .*RepositoryNotEmptyException/,
    );
    repo = await aws.update(repo, {
      ...inputs,
      imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: false },
      forceDelete: true,
    });
    await aws.remove(lifecycle);
    await aws.remove(repo);
  });
});

describe("SQS, EventBridge", () => {
  it("queues: auto-named, attributes update in place, FIFO and name replace; the queue policy; rule and target", async () => {
    const dlq = await aws.create("aws:sqs/queue:Queue", "dlq", {
      messageRetentionSeconds: 1209600,
      sqsManagedSseEnabled: true,
    });
    expect(dlq.out.name).toMatch(/^dlq-[0-9a-f]{7}$/);
    expect(dlq.out).toMatchObject({ arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${dlq.out.name}`, url: dlq.id });
    const qInputs = {
      visibilityTimeoutSeconds: 60,
      receiveWaitTimeSeconds: 20,
      redrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.out.arn, maxReceiveCount: 5 }),
    };
    let q = await aws.create("aws:sqs/queue:Queue", "events", qInputs);
    const named = { ...qInputs, name: q.out.name };
    expect((await aws.diff(q, { ...named, fifoQueue: true })).replaces).toEqual(["fifoQueue"]);
    q = await aws.update(q, { ...named, visibilityTimeoutSeconds: 120, tags: { env: "t" } });
    expect(q.out).toMatchObject({ tagsAll: { env: "t" } });
    const fifo = await aws.create("aws:sqs/queue:Queue", "ordered", { fifoQueue: true });
    expect(fifo.out.name).toMatch(/^ordered-[0-9a-f]{7}\.fifo$/);

    const rule = await aws.create("aws:cloudwatch/eventRule:EventRule", "push", {
      eventPattern: JSON.stringify({ source: ["aws.ecr"] }),
      description: "pushes",
    });
    expect(rule.id).toBe(rule.out.name);
    expect(rule.out).toMatchObject({
      arn: `arn:aws:events:${REGION}:${ACCOUNT}:rule/${rule.out.name}`,
      state: "ENABLED",
      eventBusName: "default",
    });
    const ruleInputs = {
      name: rule.out.name,
      eventPattern: JSON.stringify({ source: ["aws.ecr"], "detail-type": ["ECR Image Action"] }),
    };
    expect((await aws.diff(rule, ruleInputs)).replaces).toEqual([]);
    await aws.update(rule, ruleInputs);
    expect((await aws.diff(rule, { ...ruleInputs, eventBusName: "other" })).replaces).toEqual([
      "eventBusName",
    ]);

    const policyDoc = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: "events.amazonaws.com" },
          Action: "sqs:SendMessage",
          Resource: q.out.arn,
        },
      ],
    });
    const qp = await aws.create("aws:sqs/queuePolicy:QueuePolicy", "qp", {
      queueUrl: q.id,
      policy: policyDoc,
    });
    expect((await aws.diff(qp, { queueUrl: dlq.id, policy: policyDoc })).replaces).toEqual(["queueUrl"]);

    const target = await aws.create("aws:cloudwatch/eventTarget:EventTarget", "push", {
      rule: rule.out.name,
      arn: q.out.arn,
      retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 10 },
      deadLetterConfig: { arn: dlq.out.arn },
    });
    expect(target.id).toMatch(new RegExp(`^${rule.out.name}-push-[0-9a-f]{7}$`));
    const tInputs = { rule: rule.out.name, targetId: target.out.targetId, arn: dlq.out.arn };
    expect((await aws.diff(target, tInputs)).replaces).toEqual([]);
    expect((await aws.diff(target, { ...tInputs, targetId: "other" })).replaces).toEqual(["targetId"]);

    await expect(
      aws.create("aws:cloudwatch/eventTarget:EventTarget", "none", { rule: "no-such-rule", arn: q.out.arn }),
    ).rejects.toThrow(/api error ResourceNotFoundException/);
    for (const r of [target, qp, rule, fifo, q, dlq]) await aws.remove(r);
  });
});

describe("IAM: role, role policy, instance profile", () => {
  const trust = (service: string) =>
    JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
    });
  it("auto-named within 64 characters; trust policy and profile role update in place; path and role replace", async () => {
    let role = await aws.create("aws:iam/role:Role", "master", {
      assumeRolePolicy: trust("ec2.amazonaws.com"),
      tags: { a: "b" },
    });
    expect(role.id).toMatch(/^master-[0-9a-f]{7}$/);
    expect(role.out).toMatchObject({
      arn: `arn:aws:iam::${ACCOUNT}:role/${role.id}`,
      name: role.id,
      tagsAll: { a: "b" },
    });
    const named = { name: role.id, assumeRolePolicy: trust("ec2.amazonaws.com") };
    expect((await aws.diff(role, { ...named, path: "/svc/" })).replaces).toEqual(["path"]);
    role = await aws.update(role, { ...named, assumeRolePolicy: trust("lambda.amazonaws.com") });
    const other = await aws.create("aws:iam/role:Role", "other", {
      assumeRolePolicy: trust("ec2.amazonaws.com"),
    });

    const doc = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "sqs:ReceiveMessage", Resource: "*" }],
    });
    const policy = await aws.create("aws:iam/rolePolicy:RolePolicy", "queue", { role: role.id, policy: doc });
    expect(policy.id).toMatch(new RegExp(`^${role.id}:queue-[0-9a-f]{7}$`));
    expect((await aws.diff(policy, { name: policy.out.name, role: other.id, policy: doc })).replaces).toEqual(
      ["role"],
    );

    let profile = await aws.create("aws:iam/instanceProfile:InstanceProfile", "master", { role: role.id });
    expect(profile.out).toMatchObject({
      arn: `arn:aws:iam::${ACCOUNT}:instance-profile/${profile.id}`,
      role: role.id,
    });
    profile = await aws.update(profile, { name: profile.id, role: other.id });
    expect(profile.out.role).toBe(other.id);

    await expect(
      aws.create("aws:iam/role:Role", "dup", { name: role.id, assumeRolePolicy: trust("ec2.amazonaws.com") }),
    ).rejects.toThrow(/api error EntityAlreadyExists/);
    for (const r of [profile, policy, other, role]) await aws.remove(r);
  });
});
