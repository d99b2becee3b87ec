/**
 * `aws` hosts: a VPC with one public subnet, security groups that open Salt only inside
 * the VPC and SSH only to the admin CIDRs, and one EC2 instance per machine.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AwsSpec, OsName } from "../config/spec";
import { OS_INFO } from "../render/os";
import { FRESH_HOST_SSH, type Host } from "./host";

/** Official images: owner account and name pattern (newest match wins). */
export const AMI_LOOKUP: Readonly<Record<OsName, { owner: string; name: string }>> = {
  ubuntu: { owner: "099720109477", name: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*" },
  centos: { owner: "125523088429", name: "CentOS Stream 9 x86_64 *" },
  debian: { owner: "136693071363", name: "debian-12-amd64-*" },
};

export interface AwsMachine {
  readonly name: string;
  readonly os: OsName;
  readonly role: "master" | "minion";
  readonly instanceType: string;
}

export interface AwsHostsArgs {
  readonly namePrefix: string;
  readonly aws: AwsSpec;
  readonly adminCidrs: readonly string[];
  readonly machines: readonly AwsMachine[];
  readonly sshPublicKey: pulumi.Input<string>;
  readonly sshPrivateKey: pulumi.Input<string>;
  /** Salt's publish and return ports: open to the VPC only. */
  readonly saltPorts: readonly number[];
  /** Port nginx serves the app on, on every minion. */
  readonly appPort: number;
  /** CIDRs that may reach the app (default: anywhere; it is the public service). */
  readonly appCidrs?: readonly string[];
  /** Instance profile for the master (e.g. read access to the registry event queue). */
  readonly masterInstanceProfile?: pulumi.Input<string>;
  /** Instance profile per minion name (e.g. pull access to the ECR repository). */
  readonly minionInstanceProfiles?: Readonly<Record<string, pulumi.Input<string>>>;
  readonly tags?: Readonly<Record<string, string>>;
}

export class AwsHosts extends pulumi.ComponentResource {
  readonly hosts: Host[];
  readonly vpc: aws.ec2.Vpc;
  readonly subnet: aws.ec2.Subnet;
  readonly masterSecurityGroup: aws.ec2.SecurityGroup;
  readonly minionSecurityGroup: aws.ec2.SecurityGroup;
  readonly instances: Record<string, aws.ec2.Instance> = {};

  constructor(name: string, args: AwsHostsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("saltpipe:hosts:AwsHosts", name, {}, opts);
    const parent = { parent: this };
    const tags = (suffix: string) => ({ ...args.tags, Name: `${args.namePrefix}-${suffix}` });
    const spec = args.aws;

    this.vpc = new aws.ec2.Vpc(
      `${name}-vpc`,
      { cidrBlock: spec.vpcCidr, enableDnsHostnames: true, enableDnsSupport: true, tags: tags("vpc") },
      parent,
    );
    const gateway = new aws.ec2.InternetGateway(
      `${name}-igw`,
      { vpcId: this.vpc.id, tags: tags("igw") },
      parent,
    );
    this.subnet = new aws.ec2.Subnet(
      `${name}-subnet`,
      {
        vpcId: this.vpc.id,
        cidrBlock: spec.subnetCidr,
        availabilityZone: spec.availabilityZone,
        mapPublicIpOnLaunch: true,
        tags: tags("public"),
      },
      parent,
    );
    const routes = new aws.ec2.RouteTable(
      `${name}-routes`,
      {
        vpcId: this.vpc.id,
        routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: gateway.id }],
        tags: tags("public"),
      },
      parent,
    );
    new aws.ec2.RouteTableAssociation(
      `${name}-routes`,
      { subnetId: this.subnet.id, routeTableId: routes.id },
      parent,
    );

    const egress = [
      { protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], description: "all outbound" },
    ];
    const ssh = {
      protocol: "tcp",
      fromPort: 22,
      toPort: 22,
      cidrBlocks: [...args.adminCidrs],
      description: "SSH from admins",
    };
    this.masterSecurityGroup = new aws.ec2.SecurityGroup(
      `${name}-master`,
      {
        vpcId: this.vpc.id,
        description: "Salt master: Salt ports from the VPC only, SSH from admins",
        ingress: [
          ssh,
          ...args.saltPorts.map((port) => ({
            protocol: "tcp",
            fromPort: port,
            toPort: port,
            cidrBlocks: [spec.vpcCidr],
            description: `Salt ${port} from the VPC`,
          })),
        ],
        egress,
        tags: tags("master"),
      },
      parent,
    );
    this.minionSecurityGroup = new aws.ec2.SecurityGroup(
      `${name}-minion`,
      {
        vpcId: this.vpc.id,
        description: "Salt minions: the app's proxy, SSH from admins",
        ingress: [
          ssh,
          {
            protocol: "tcp",
            fromPort: args.appPort,
            toPort: args.appPort,
            cidrBlocks: [...(args.appCidrs ?? ["0.0.0.0/0"])],
            description: "app through nginx",
          },
        ],
        egress,
        tags: tags("minion"),
      },
      parent,
    );
    const keyPair = new aws.ec2.KeyPair(
      `${name}-key`,
      { keyName: `${args.namePrefix}-key`, publicKey: args.sshPublicKey, tags: tags("key") },
      parent,
    );

    const amis = new Map<OsName, pulumi.Input<string>>();
    const ami = (os: OsName) => amis.get(os) ?? amis.set(os, amiFor(os, spec, this)).get(os)!;
    this.hosts = args.machines.map((machine) => {
      const instance = new aws.ec2.Instance(
        `${name}-${machine.name}`,
        {
          ami: ami(machine.os),
          instanceType: machine.instanceType,
          subnetId: this.subnet.id,
          vpcSecurityGroupIds: [
            machine.role === "master" ? this.masterSecurityGroup.id : this.minionSecurityGroup.id,
          ],
          keyName: keyPair.keyName,
          iamInstanceProfile:
            machine.role === "master"
              ? args.masterInstanceProfile
              : args.minionInstanceProfiles?.[machine.name],
          disableApiTermination: spec.terminationProtection,
          rootBlockDevice: { volumeSize: spec.rootVolumeGb, volumeType: "gp3", encrypted: true },
          metadataOptions: { httpTokens: "required", httpEndpoint: "enabled" },
          tags: { ...tags(machine.name), "saltpipe:role": machine.role },
        },
        parent,
      );
      this.instances[machine.name] = instance;
      const host: Host = {
        name: machine.name,
        os: machine.os,
        connection: {
          host: instance.publicIp,
          user: OS_INFO[machine.os].cloudUser,
          privateKey: args.sshPrivateKey,
          ...FRESH_HOST_SSH,
        },
        privateAddress: instance.privateIp,
        publicAddress: instance.publicIp,
        sudo: true,
        dependsOn: [instance],
      };
      return host;
    });
    this.registerOutputs({ vpcId: this.vpc.id });
  }
}

function amiFor(os: OsName, spec: AwsSpec, parent: pulumi.Resource): pulumi.Input<string> {
  const pinned = spec.amis[os];
  if (pinned) return pinned;
  const lookup = AMI_LOOKUP[os];
  return aws.ec2
    .getAmiOutput(
      {
        owners: [lookup.owner],
        mostRecent: true,
        filters: [
          { name: "name", values: [lookup.name] },
          { name: "architecture", values: ["x86_64"] },
          { name: "virtualization-type", values: ["hvm"] },
        ],
      },
      { parent },
    )
    .apply((ami) => ami.id);
}
