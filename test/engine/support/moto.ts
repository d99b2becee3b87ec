/**
 * The AWS API emulator for the aws stand-in's tests: moto in a container from the project's
 * own image (scripts/moto-image.sh), published on one 127.0.0.1 port, with the AMIs the test
 * gives it (moto's MOTO_AMIS_PATH: the official images the program looks up do not ship with
 * moto), and an inventory of everything a stack could leave behind in it.
 */
import {
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeKeyPairsCommand,
  DescribeNatGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { DescribeRepositoriesCommand, ECRClient } from "@aws-sdk/client-ecr";
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { EventBridgeClient, ListRulesCommand, ListTargetsByRuleCommand } from "@aws-sdk/client-eventbridge";
import {
  IAMClient,
  ListInstanceProfilesCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
} from "@aws-sdk/client-iam";
import { ListQueuesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

export const ACCOUNT = "123456789012";

/** An image as moto's AMI file describes one. */
export interface MotoAmi {
  ami_id: string;
  name: string;
  owner_id: string;
  creation_date: string;
  architecture?: string;
  virtualization_type?: string;
}

export interface Moto {
  endpoint: string;
  /** The environment that points the AWS SDKs (and the stand-in) at the emulator. */
  env: Record<string, string>;
  /** Every resource a stack could leave behind, by type, with its count. */
  inventory(region: string): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

const run = (args: string[]) =>
  new Promise<string>((resolve, reject) =>
    execFile("docker", args, { encoding: "utf8" }, (err, stdout, stderr) =>
      err ? reject(new Error(`docker ${args.join(" ")}: ${stderr || err.message}`)) : resolve(stdout),
    ),
  );

function motoImage(): string {
  const script = path.resolve(__dirname, "../../../scripts/moto-image.sh");
  return execFileSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
    .trim()
    .split("\n")
    .pop()!;
}

/** Start moto as container NAME on 127.0.0.1:PORT with AMIS; fails with a message if Docker is not there. */
export async function startMoto(name: string, port: number, amis: MotoAmi[]): Promise<Moto> {
  await run(["version", "--format", "{{.Server.Version}}"]).catch(() => {
    throw new Error("the aws stand-in tests need a running Docker engine: scripts/docker-engine.sh");
  });
  const image = motoImage();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-moto-amis-"));
  const file = path.join(dir, "amis.json");
  const defaults = {
    state: "available",
    public: true,
    image_type: "machine",
    hypervisor: "xen",
    root_device_type: "ebs",
    root_device_name: "/dev/sda1",
    sriov: "simple",
    architecture: "x86_64",
    virtualization_type: "hvm",
    description: "",
  };
  fs.writeFileSync(file, JSON.stringify(amis.map((a) => ({ ...defaults, ...a }))));
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(file, 0o644);
  await run(["rm", "-f", name]).catch(() => undefined);
  await run([
    "run",
    "-d",
    "--name",
    name,
    "-p",
    `127.0.0.1:${port}:5000`,
    "-e",
    "MOTO_AMIS_PATH=/amis/amis.json",
    "-v",
    `${dir}:/amis:ro`,
    image,
  ]);
  const endpoint = `http://127.0.0.1:${port}`;
  const until = Date.now() + 60_000;
  for (;;) {
    // A published port accepts before moto listens: each try has its own deadline.
    const up = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > until)
      throw new Error(
        `moto did not answer on ${endpoint}: ${await run(["logs", name]).catch((e: Error) => e.message)}`,
      );
    await new Promise((r) => setTimeout(r, 300));
  }
  const env = { AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" };
  return {
    endpoint,
    env,
    inventory: (region) => inventory(endpoint, region),
    async stop() {
      await run(["rm", "-f", name]).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function inventory(endpoint: string, region: string): Promise<Record<string, number>> {
  const cfg = { region, endpoint, credentials: { accessKeyId: "testing", secretAccessKey: "testing" } };
  const ec2 = new EC2Client(cfg);
  const elb = new ElasticLoadBalancingV2Client(cfg);
  const iam = new IAMClient(cfg);
  const events = new EventBridgeClient(cfg);
  const vpcs = ((await ec2.send(new DescribeVpcsCommand({}))).Vpcs ?? []).filter((v) => !v.IsDefault);
  const ours = new Set(vpcs.map((v) => v.VpcId));
  const lbs = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
  const listeners = await Promise.all(
    lbs.map(
      async (lb) =>
        (
          (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).Listeners ??
          []
        ).length,
    ),
  );
  const roles = (await iam.send(new ListRolesCommand({}))).Roles ?? [];
  const rolePolicies = await Promise.all(
    roles.map(
      async (r) =>
        ((await iam.send(new ListRolePoliciesCommand({ RoleName: r.RoleName }))).PolicyNames ?? []).length,
    ),
  );
  const rules = (await events.send(new ListRulesCommand({}))).Rules ?? [];
  const targets = await Promise.all(
    rules.map(
      async (r) => ((await events.send(new ListTargetsByRuleCommand({ Rule: r.Name }))).Targets ?? []).length,
    ),
  );
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    "ec2 vpc": vpcs.length,
    "ec2 subnet": ((await ec2.send(new DescribeSubnetsCommand({}))).Subnets ?? []).filter((s) =>
      ours.has(s.VpcId),
    ).length,
    "ec2 internet gateway": (
      (await ec2.send(new DescribeInternetGatewaysCommand({}))).InternetGateways ?? []
    ).filter((g) => !g.Attachments?.length || g.Attachments.some((a) => ours.has(a.VpcId))).length,
    "ec2 route table": ((await ec2.send(new DescribeRouteTablesCommand({}))).RouteTables ?? []).filter((t) =>
      ours.has(t.VpcId),
    ).length,
    "ec2 eip": ((await ec2.send(new DescribeAddressesCommand({}))).Addresses ?? []).length,
    "ec2 nat gateway": ((await ec2.send(new DescribeNatGatewaysCommand({}))).NatGateways ?? []).filter(
      (n) => n.State !== "deleted",
    ).length,
    "ec2 security group": (
      (await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? []
    ).filter((g) => g.GroupName !== "default").length,
    "ec2 key pair": ((await ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs ?? []).length,
    "ec2 instance": ((await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? [])
      .flatMap((r) => r.Instances ?? [])
      .filter((i) => i.State?.Name !== "terminated").length,
    "elbv2 load balancer": lbs.length,
    "elbv2 listener": sum(listeners),
    "elbv2 target group": ((await elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? []).length,
    "ecr repository": (
      (await new ECRClient(cfg).send(new DescribeRepositoriesCommand({}))).repositories ?? []
    ).length,
    "sqs queue": ((await new SQSClient(cfg).send(new ListQueuesCommand({}))).QueueUrls ?? []).length,
    "eventbridge rule": rules.length,
    "eventbridge target": sum(targets),
    "iam role": roles.length,
    "iam role policy": sum(rolePolicies),
    "iam instance profile": ((await iam.send(new ListInstanceProfilesCommand({}))).InstanceProfiles ?? [])
      .length,
  };
}

/** Every count of an inventory, set to 0: what an empty emulator shows. */
export const empty = (counts: Record<string, number>) =>
  Object.fromEntries(Object.keys(counts).map((k) => [k, 0]));
