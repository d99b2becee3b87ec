/**
 * The repository's own AWS components (AwsHosts: VPC in two zones, NAT per zone, security
 * groups, key pair, ALB, instances looked up with getAmi; EcrRegistry: ECR, EventBridge, SQS,
 * IAM) through the real Pulumi CLI, with the offline aws and tls stand-ins, against moto:
 * `up` creates everything; a second `up` changes nothing; a preview after a replace-forcing
 * change (a pinned AMI) shows the instances replaced; `destroy` leaves the emulator empty.
 * EC2 instances exist only in the emulator here (no machine behind them).
 */
import * as path from "node:path";
import { ed25519KeyPair } from "../support/ssh-keys";
import { startMoto, empty, type Moto } from "./support/moto";
import {
  changedSteps,
  newProject,
  recordingPulumi,
  timings,
  type Project,
  type Result,
} from "./support/pulumi";

jest.setTimeout(20 * 60_000);

const repo = path.resolve(__dirname, "../..");
const REGION = "eu-west-1";
const PORT = 45181;
const PREFIX = `spaws-${process.pid}`;
const NOBLE = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server";
const CENTOS = "CentOS Stream 9 x86_64";

const program = `
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AwsHosts } from ${JSON.stringify(path.join(repo, "infra/hosts/aws"))};
import { EcrRegistry } from ${JSON.stringify(path.join(repo, "infra/registry/ecr"))};

const e = process.env;
const prefix = e.PREFIX!;
const provider = new aws.Provider("aws", { region: ${JSON.stringify(REGION)} });
const inAws = { providers: { aws: provider } };
const tags = { "saltpipe:stack": "awscli" };
const minions = ["web-1", "web-2"];

const registry = new EcrRegistry("registry", { namePrefix: prefix, repository: prefix + "/app", keepImages: 5, minions, tags }, inAws);
const hosts = new AwsHosts("hosts", {
  namePrefix: prefix,
  aws: {
    region: ${JSON.stringify(REGION)},
    availabilityZones: ["${REGION}a", "${REGION}b"],
    vpcCidr: "10.60.0.0/16",
    publicSubnetCidrs: ["10.60.0.0/24", "10.60.1.0/24"],
    privateSubnetCidrs: ["10.60.10.0/24", "10.60.11.0/24"],
    natGateways: "perAz",
    allowPlainHttp: true,
    masterInstanceType: "t3.small",
    minionInstanceType: "t3.micro",
    rootVolumeGb: 20,
    amis: e.PIN_UBUNTU_AMI ? { ubuntu: e.PIN_UBUNTU_AMI } : {},
    terminationProtection: false,
  },
  adminCidrs: ["10.99.0.0/16"],
  machines: [
    { name: "master", os: "ubuntu", role: "master", instanceType: "t3.small" },
    { name: "web-1", os: "ubuntu", role: "minion", instanceType: "t3.micro" },
    { name: "web-2", os: "centos", role: "minion", instanceType: "t3.micro" },
  ],
  sshPublicKey: e.SSH_PUBLIC_KEY!,
  sshPrivateKey: pulumi.secret(e.SSH_PRIVATE_KEY!),
  saltPorts: [4505, 4506],
  appPort: 8080,
  loadBalancer: { healthPath: "/healthz", drainSeconds: 10 },
  masterInstanceProfile: registry.masterInstanceProfile.name,
  minionInstanceProfiles: Object.fromEntries(Object.entries(registry.minionInstanceProfiles).map(([m, p]) => [m, p.name])),
  tags,
}, inAws);

export const appUrl = hosts.appUrl;
export const repositoryUrl = registry.repositoryUrl;
export const queueUrl = registry.queueUrl;
export const masterPublicIp = hosts.hosts[0].connection.host;
export const minionAddresses = hosts.hosts.slice(1).map((h) => h.privateAddress);
export const minionProxy = pulumi.output(hosts.hosts[1].connection.proxy).apply((p) => p?.host);
export const hostKeys = hosts.hostKeys;
`;

let moto: Moto;
let project: Project;
const log: Result[] = [];
const pulumi = recordingPulumi(() => project, log);
const keys = ed25519KeyPair("awscli");

beforeAll(async () => {
  moto = await startMoto(`saltpipe-awsstandin-cli-${process.pid}`, PORT, [
    {
      ami_id: "ami-00000000000noble0101",
      name: `${NOBLE}-20250101`,
      owner_id: "099720109477",
      creation_date: "2025-01-01T00:00:00.000Z",
    },
    {
      ami_id: "ami-00000000000noble0601",
      name: `${NOBLE}-20250601`,
      owner_id: "099720109477",
      creation_date: "2025-06-01T00:00:00.000Z",
    },
    {
      ami_id: "ami-0000000000000centos9",
      name: `${CENTOS} 20250501`,
      owner_id: "125523088429",
      creation_date: "2025-05-01T00:00:00.000Z",
    },
  ]);
  project = await newProject(
    "engine-aws",
    { "index.ts": program },
    {
      ...moto.env,
      PREFIX,
      SSH_PUBLIC_KEY: keys.public,
      SSH_PRIVATE_KEY: keys.private,
    },
  );
});
afterAll(async () => {
  process.stderr.write(`engine timings (${project?.dir}): ${timings(log)}\n`);
  await moto?.stop();
  project?.remove();
});

test("up creates every resource of the AWS program in the emulator, with the outputs it reads", async () => {
  await pulumi("up", "--yes");
  const outputs = JSON.parse((await pulumi("stack", "output", "--json", "--show-secrets")).stdout) as Record<
    string,
    unknown
  >;
  expect(outputs.appUrl).toMatch(new RegExp(`^http://${PREFIX}-lb-.*\\.elb\\.amazonaws\\.com/$`));
  expect(outputs.repositoryUrl).toBe(`123456789012.dkr.ecr.${REGION}.amazonaws.com/${PREFIX}/app`);
  expect(outputs.queueUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/123456789012\/registry-events-[0-9a-f]{7}$/);
  expect(outputs.masterPublicIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  // Minions sit in the private subnets and are reached through the master.
  expect(outputs.minionAddresses).toEqual([
    expect.stringMatching(/^10\.60\.10\.\d+$/),
    expect.stringMatching(/^10\.60\.11\.\d+$/),
  ]);
  expect(outputs.minionProxy).toBe(outputs.masterPublicIp);
  expect(Object.values(outputs.hostKeys as Record<string, string>)).toEqual([
    expect.stringMatching(/^ssh-ed25519 /),
    expect.stringMatching(/^ssh-ed25519 /),
    expect.stringMatching(/^ssh-ed25519 /),
  ]);
  expect(await moto.inventory(REGION)).toEqual({
    "ec2 vpc": 1,
    "ec2 subnet": 4,
    "ec2 internet gateway": 1,
    "ec2 route table": 4,
    "ec2 eip": 2,
    "ec2 nat gateway": 2,
    "ec2 security group": 3,
    "ec2 key pair": 1,
    "ec2 instance": 3,
    "elbv2 load balancer": 1,
    "elbv2 listener": 1,
    "elbv2 target group": 1,
    "ecr repository": 1,
    "sqs queue": 2,
    "eventbridge rule": 1,
    "eventbridge target": 1,
    "iam role": 3,
    "iam role policy": 3,
    "iam instance profile": 3,
  });
  // The host keys' private halves and the user data that carries them are secret in the state.
  expect(project.backendText()).not.toContain("BEGIN OPENSSH PRIVATE KEY");
});

test("a second up changes nothing", async () => {
  const r = await pulumi("up", "--yes", "--expect-no-changes");
  expect(r.code).toBe(0);
});

test("a preview after pinning another AMI shows the two ubuntu instances replaced (and the minion's target registration), nothing else", async () => {
  const r = await project.pulumi(["preview", "--json"], { PIN_UBUNTU_AMI: "ami-00000000000noble0101" });
  log.push(r);
  expect(r.code).toBe(0);
  // A new instance id is a new target: the attachment's targetId is ForceNew.
  expect(changedSteps(r.stdout).sort()).toEqual([
    "replace hosts-master",
    "replace hosts-web-1",
    "replace hosts-web-1-target",
  ]);
});

test("destroy leaves the emulator empty", async () => {
  await pulumi("destroy", "--yes");
  const left = await moto.inventory(REGION);
  expect(left).toEqual(empty(left));
});
