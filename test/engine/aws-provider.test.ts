/**
 * The aws stand-in's EC2 types and functions against a real moto server: create with the
 * outputs the program reads, in-place updates, the replace decisions of the Terraform
 * provider's ForceNew attributes, deletes, API errors worded as the real provider words them,
 * and the rules the stand-in checks where moto is silent (termination protection).
 */
import { ACCOUNT, startMoto, type Moto } from "./support/moto";
import { awsStandIn, type Created, type StandIn } from "./support/aws-standin";
import { resolveConfig } from "../../tools/standins/aws/config";

jest.setTimeout(5 * 60_000);

const REGION = "eu-west-1";
const PORT = 45180;
const CANONICAL = "099720109477";
const NOBLE = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server";

let moto: Moto;
let aws: StandIn;
let vpc: Created;
let subnetA: Created;
let subnetB: Created;

beforeAll(async () => {
  moto = await startMoto("saltpipe-awsstandin-provider", PORT, [
    {
      ami_id: "ami-0000000000000noble1",
      name: `${NOBLE}-20250101`,
      owner_id: CANONICAL,
      creation_date: "2025-01-01T00:00:00.000Z",
    },
    {
      ami_id: "ami-0000000000000noble2",
      name: `${NOBLE}-20250601`,
      owner_id: CANONICAL,
      creation_date: "2025-06-01T00:00:00.000Z",
    },
    {
      ami_id: "ami-00000000000000other",
      name: `${NOBLE}-20251201`,
      owner_id: "111122223333",
      creation_date: "2025-12-01T00:00:00.000Z",
    },
  ]);
  aws = await awsStandIn(moto, REGION);
  vpc = await aws.create("aws:ec2/vpc:Vpc", "vpc", {
    cidrBlock: "10.40.0.0/16",
    enableDnsHostnames: true,
    tags: { Name: "t" },
  });
  subnetA = await aws.create("aws:ec2/subnet:Subnet", "a", {
    vpcId: vpc.id,
    cidrBlock: "10.40.1.0/24",
    availabilityZone: `${REGION}a`,
  });
  subnetB = await aws.create("aws:ec2/subnet:Subnet", "b", {
    vpcId: vpc.id,
    cidrBlock: "10.40.2.0/24",
    availabilityZone: `${REGION}b`,
  });
});
afterAll(async () => {
  await moto?.stop();
});

describe("provider configuration, as the real provider resolves it", () => {
  it("takes the region from the provider, else AWS_REGION; none is the real provider's error", () => {
    expect(resolveConfig({ region: "eu-central-1", version: "7.48.0" }, {}).region).toBe("eu-central-1");
    expect(resolveConfig(undefined, { "aws:region": "us-west-2" }).region).toBe("us-west-2");
    const saved = { r: process.env.AWS_REGION, d: process.env.AWS_DEFAULT_REGION };
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    try {
      expect(() => resolveConfig({}, {})).toThrow(/Missing required configuration variable 'region'/);
    } finally {
      if (saved.r) process.env.AWS_REGION = saved.r;
      if (saved.d) process.env.AWS_DEFAULT_REGION = saved.d;
    }
  });
  it("refuses a setting it does not implement, by name", () => {
    expect(() => resolveConfig({ region: "eu-west-1", profile: "prod" }, {})).toThrow(
      /aws:profile is not supported by the offline aws stand-in/,
    );
  });
});

describe("aws:ec2/vpc:Vpc", () => {
  it("creates with the outputs of the real provider (ARN, main route table, default security group)", () => {
    expect(vpc.id).toMatch(/^vpc-/);
    expect(vpc.out).toMatchObject({
      arn: `arn:aws:ec2:${REGION}:${ACCOUNT}:vpc/${vpc.id}`,
      ownerId: ACCOUNT,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      instanceTenancy: "default",
      tagsAll: { Name: "t" },
      region: REGION,
    });
    expect(vpc.out.mainRouteTableId).toMatch(/^rtb-/);
    expect(vpc.out.defaultSecurityGroupId).toMatch(/^sg-/);
  });
  it("updates DNS attributes and tags in place; a new CIDR block replaces", async () => {
    const inputs = { cidrBlock: "10.40.0.0/16", enableDnsHostnames: false, tags: { Name: "t2" } };
    expect(await aws.diff(vpc, inputs)).toMatchObject({ changes: true, replaces: [] });
    vpc = await aws.update(vpc, inputs);
    expect(vpc.out).toMatchObject({ enableDnsHostnames: false, tagsAll: { Name: "t2" } });
    expect((await aws.diff(vpc, { ...inputs, cidrBlock: "10.41.0.0/16" })).replaces).toEqual(["cidrBlock"]);
    expect(await aws.diff(vpc, inputs)).toMatchObject({ changes: false });
  });
  it("fails with the API's code and message, worded as the real provider's", async () => {
    await expect(aws.create("aws:ec2/vpc:Vpc", "bad", { cidrBlock: "10.0.0.0/8" })).rejects.toThrow(
      /^creating EC2 VPC: operation error EC2: CreateVpc, https response error StatusCode: 400, RequestID: \S+, api error InvalidVpc\.Range: The CIDR '10\.0\.0\.0\/8' is invalid\.$/,
    );
  });
});

describe("network: subnets, internet gateway, route tables, associations, EIP, NAT", () => {
  it("subnet: zone and CIDR replace, mapPublicIpOnLaunch updates in place", async () => {
    expect(subnetA.out).toMatchObject({
      availabilityZone: `${REGION}a`,
      mapPublicIpOnLaunch: false,
      arn: expect.stringContaining(":subnet/"),
    });
    const inputs = { vpcId: vpc.id, cidrBlock: "10.40.1.0/24", availabilityZone: `${REGION}a` };
    expect((await aws.diff(subnetA, { ...inputs, availabilityZone: `${REGION}b` })).replaces).toEqual([
      "availabilityZone",
    ]);
    subnetA = await aws.update(subnetA, { ...inputs, mapPublicIpOnLaunch: true });
    expect(subnetA.out.mapPublicIpOnLaunch).toBe(true);
    subnetA = await aws.update(subnetA, inputs);
  });

  it("internet gateway, route table with inline routes (a changed target replaces the route in place), association", async () => {
    const igw = await aws.create("aws:ec2/internetGateway:InternetGateway", "igw", { vpcId: vpc.id });
    expect(igw.out).toMatchObject({ arn: `arn:aws:ec2:${REGION}:${ACCOUNT}:internet-gateway/${igw.id}` });
    const eip = await aws.create("aws:ec2/eip:Eip", "nat", { domain: "vpc", tags: { Name: "nat" } });
    expect(eip.id).toMatch(/^eipalloc-/);
    expect(eip.out).toMatchObject({
      allocationId: eip.id,
      domain: "vpc",
      arn: `arn:aws:ec2:${REGION}:${ACCOUNT}:elastic-ip/${eip.id}`,
    });
    expect(eip.out.publicIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const nat = await aws.create("aws:ec2/natGateway:NatGateway", "nat", {
      allocationId: eip.id,
      subnetId: subnetA.id,
    });
    expect(nat.out).toMatchObject({ publicIp: eip.out.publicIp, connectivityType: "public" });
    expect((await aws.diff(nat, { allocationId: eip.id, subnetId: subnetB.id })).replaces).toEqual([
      "subnetId",
    ]);

    let table = await aws.create("aws:ec2/routeTable:RouteTable", "rt", {
      vpcId: vpc.id,
      routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }],
    });
    expect(table.out.routes).toEqual([{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }]);
    table = await aws.update(table, {
      vpcId: vpc.id,
      routes: [
        { cidrBlock: "0.0.0.0/0", natGatewayId: nat.id },
        { cidrBlock: "192.168.0.0/16", gatewayId: igw.id },
      ],
    });
    expect(table.out.routes).toEqual(
      expect.arrayContaining([
        { cidrBlock: "0.0.0.0/0", natGatewayId: nat.id },
        { cidrBlock: "192.168.0.0/16", gatewayId: igw.id },
      ]),
    );
    expect((await aws.diff(table, { vpcId: "vpc-other", routes: [] })).replaces).toEqual(["vpcId"]);

    const assoc = await aws.create("aws:ec2/routeTableAssociation:RouteTableAssociation", "a", {
      subnetId: subnetA.id,
      routeTableId: table.id,
    });
    expect(assoc.id).toMatch(/^rtbassoc-/);
    expect((await aws.diff(assoc, { subnetId: subnetB.id, routeTableId: table.id })).replaces).toEqual([
      "subnetId",
    ]);
    expect((await aws.diff(assoc, { subnetId: subnetA.id, routeTableId: "rtb-other" })).replaces).toEqual([]);
    await expect(
      aws.create("aws:ec2/routeTableAssociation:RouteTableAssociation", "none", { routeTableId: table.id }),
    ).rejects.toThrow("exactly one of subnetId, gatewayId must be set");

    for (const r of [assoc, table, nat, eip, igw]) await aws.remove(r);
    // A second delete of what is gone is no error (the real provider treats NotFound as done).
    await aws.remove(igw);
  });
});

describe("aws:ec2/securityGroup:SecurityGroup and aws:ec2/keyPair:KeyPair", () => {
  it("security group: auto-named, default description, rules change in place, description replaces", async () => {
    const ssh = { protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["10.0.0.0/8"], description: "ssh" };
    let sg = await aws.create("aws:ec2/securityGroup:SecurityGroup", "master", {
      vpcId: vpc.id,
      ingress: [ssh],
    });
    expect(sg.out.name).toMatch(/^master-[0-9a-f]{7}$/);
    expect(sg.out.description).toBe("Managed by Pulumi");
    const peer = await aws.create("aws:ec2/securityGroup:SecurityGroup", "minion", {
      vpcId: vpc.id,
      ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, securityGroups: [sg.id] }],
    });
    const inputs = {
      vpcId: vpc.id,
      name: sg.out.name,
      ingress: [ssh, { protocol: "tcp", fromPort: 4505, toPort: 4506, cidrBlocks: ["10.40.0.0/16"] }],
    };
    expect((await aws.diff(sg, inputs)).replaces).toEqual([]);
    sg = await aws.update(sg, inputs);
    expect((await aws.diff(sg, { ...inputs, description: "other" })).replaces).toEqual(["description"]);
    await expect(
      aws.create("aws:ec2/securityGroup:SecurityGroup", "bad", {
        vpcId: vpc.id,
        ingress: [{ ...ssh, cidrBlocks: ["not-a-cidr"] }],
      }),
    ).rejects.toThrow(
      /operation error EC2: AuthorizeSecurityGroupIngress, https response error StatusCode: 400, .*api error InvalidParameterValue/,
    );
    await aws.remove(peer);
    await aws.remove(sg);
  });

  it("key pair: imported under its name; a new public key replaces; a taken name is the API's error", async () => {
    const publicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFfv4LgIYakv7tBwqq8IEc4C4SXQSQLzw4ph8uLBtlyp";
    const key = await aws.create("aws:ec2/keyPair:KeyPair", "key", { keyName: "deploy-key", publicKey });
    expect(key.id).toBe("deploy-key");
    expect(key.out).toMatchObject({
      keyName: "deploy-key",
      keyType: "ed25519",
      arn: `arn:aws:ec2:${REGION}:${ACCOUNT}:key-pair/deploy-key`,
    });
    expect(
      (await aws.diff(key, { keyName: "deploy-key", publicKey: `${publicKey} comment` })).replaces,
    ).toEqual(["publicKey"]);
    await expect(
      aws.create("aws:ec2/keyPair:KeyPair", "again", { keyName: "deploy-key", publicKey }),
    ).rejects.toThrow(/api error InvalidKeyPair\.Duplicate/);
    const prefixed = await aws.create("aws:ec2/keyPair:KeyPair", "prefixed", {
      keyNamePrefix: "saltpipe-",
      publicKey,
    });
    expect(prefixed.id).toMatch(/^saltpipe-\d{18}[0-9a-f]{8}$/);
    await aws.remove(prefixed);
    await aws.remove(key);
  });
});

describe("aws:ec2/getAmi:getAmi", () => {
  const lookup = (more: object) =>
    aws.invoke("aws:ec2/getAmi:getAmi", {
      owners: [CANONICAL],
      filters: [{ name: "name", values: [`${NOBLE}-*`] }],
      ...more,
    });
  it("mostRecent picks the newest image of the owners that matches the filters", async () => {
    expect(await lookup({ mostRecent: true })).toMatchObject({
      id: "ami-0000000000000noble2",
      ownerId: CANONICAL,
      name: `${NOBLE}-20250601`,
    });
  });
  it("several matches without mostRecent, or none, fail as the real data source fails", async () => {
    await expect(lookup({})).rejects.toThrow(/Your query returned more than one result/);
    await expect(lookup({ filters: [{ name: "name", values: ["nothing-*"] }] })).rejects.toThrow(
      /Your query returned no results/,
    );
  });
});

describe("aws:ec2/instance:Instance", () => {
  let sg: Created;
  let instance: Created;
  /** Inputs changed by the updates so far (the next inputs keep them). */
  const settled: Record<string, unknown> = {};
  const base = () => ({
    ami: "ami-0000000000000noble2",
    instanceType: "t3.micro",
    subnetId: subnetA.id,
    associatePublicIpAddress: true,
    vpcSecurityGroupIds: [sg.id],
    userData: "#cloud-config\nssh_keys: {}\n",
    userDataReplaceOnChange: true,
    disableApiTermination: true,
    rootBlockDevice: { volumeSize: 20, volumeType: "gp3", encrypted: true },
    metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
    tags: { Name: "master" },
  });

  beforeAll(async () => {
    sg = await aws.create("aws:ec2/securityGroup:SecurityGroup", "instances", { vpcId: vpc.id });
    instance = await aws.create("aws:ec2/instance:Instance", "master", base());
  });

  it("runs in its subnet with the outputs the program reads", () => {
    expect(instance.id).toMatch(/^i-/);
    expect(instance.out).toMatchObject({
      arn: `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${instance.id}`,
      instanceState: "running",
      availabilityZone: `${REGION}a`,
      vpcSecurityGroupIds: [sg.id],
      disableApiTermination: true,
      metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
      rootBlockDevice: { volumeSize: 20, volumeType: "gp3", encrypted: true, deleteOnTermination: true },
      tagsAll: { Name: "master" },
    });
    expect(instance.out.privateIp).toMatch(/^10\.40\.1\.\d+$/);
    expect(instance.out.publicIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    // The state keeps the SHA1 of the user data, as the Terraform provider does.
    expect(instance.out.userData).toMatch(/^[0-9a-f]{40}$/);
  });

  it("replace decisions: ami, subnet, key, encryption replace; user data replaces only with userDataReplaceOnChange", async () => {
    expect((await aws.diff(instance, { ...base(), ami: "ami-0000000000000noble1" })).replaces).toEqual([
      "ami",
    ]);
    expect((await aws.diff(instance, { ...base(), subnetId: subnetB.id })).replaces).toEqual(["subnetId"]);
    expect(
      (
        await aws.diff(instance, {
          ...base(),
          rootBlockDevice: { volumeSize: 20, volumeType: "gp3", encrypted: false },
        })
      ).replaces,
    ).toEqual(["rootBlockDevice"]);
    expect(
      (
        await aws.diff(instance, {
          ...base(),
          rootBlockDevice: { volumeSize: 30, volumeType: "gp3", encrypted: true },
        })
      ).replaces,
    ).toEqual([]);
    expect((await aws.diff(instance, { ...base(), userData: "#cloud-config\n" })).replaces).toEqual([
      "userData",
    ]);
    expect(
      (await aws.diff(instance, { ...base(), userData: "#cloud-config\n", userDataReplaceOnChange: false }))
        .replaces,
    ).toEqual([]);
    expect(
      (await aws.diff(instance, { ...base(), instanceType: "t3.small", tags: { Name: "m2" } })).replaces,
    ).toEqual([]);
  });

  it("updates in place: instance type (stopped and started), tags, metadata, root volume size", async () => {
    instance = await aws.update(instance, {
      ...base(),
      instanceType: "t3.small",
      tags: { Name: "m2" },
      metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 2 },
      rootBlockDevice: { volumeSize: 30, volumeType: "gp3", encrypted: true },
    });
    Object.assign(settled, {
      instanceType: "t3.small",
      tags: { Name: "m2" },
      metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 2 },
      rootBlockDevice: { volumeSize: 30, volumeType: "gp3", encrypted: true },
    });
    expect(instance.out).toMatchObject({
      instanceType: "t3.small",
      instanceState: "running",
      tagsAll: { Name: "m2" },
      metadataOptions: { httpPutResponseHopLimit: 2 },
      rootBlockDevice: { volumeSize: 30 },
    });
  });

  it("user data without userDataReplaceOnChange updates in place (the instance stopped and started)", async () => {
    const before = instance.out.userData;
    instance = await aws.update(instance, {
      ...base(),
      ...settled,
      userDataReplaceOnChange: false,
      userData: "#cloud-config\n",
    });
    expect(instance.out.userData).not.toBe(before);
    expect(instance.out.instanceState).toBe("running");
    Object.assign(settled, { userDataReplaceOnChange: false, userData: "#cloud-config\n" });
  });

  it("termination protection: delete fails as AWS fails it (OperationNotPermitted) until it is lifted", async () => {
    await expect(aws.remove(instance)).rejects.toThrow(
      `terminating EC2 Instance (${instance.id}): operation error EC2: TerminateInstances, https response error StatusCode: 400, RequestID: offline-stand-in, api error OperationNotPermitted: The instance '${instance.id}' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.`,
    );
    instance = await aws.update(instance, { ...base(), ...settled, disableApiTermination: false });
    expect(instance.out.disableApiTermination).toBe(false);
    await aws.remove(instance);
    expect(await aws.provider.read!(instance.id, instance.urn, instance.outs)).toEqual({ id: "", props: {} });
    await aws.remove(sg);
  });

  it("an API error from RunInstances fails the create with its code (an instance profile that does not exist)", async () => {
    const { disableApiTermination: _, ...rest } = base();
    await expect(
      aws.create("aws:ec2/instance:Instance", "orphan", {
        ...rest,
        vpcSecurityGroupIds: [],
        iamInstanceProfile: "missing-profile",
      }),
    ).rejects.toThrow(
      /^creating EC2 Instance: operation error EC2: RunInstances, https response error StatusCode: 4\d\d, RequestID: \S*, api error NoSuchEntity: Instance profile missing-profile not found/,
    );
  });
});
