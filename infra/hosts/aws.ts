/**
 * `aws` hosts: a VPC across at least two availability zones (see ./aws-network.ts); the master
 * in a public subnet, reachable over SSH from the admin CIDRs only; the minions in private
 * subnets without public addresses, reached over SSH through the master (the jump host) and
 * serving the app only to the load balancer (infra/balancer/aws.ts). Every instance gets an
 * SSH host key generated here (a secret in state) through its user data, so the key is pinned
 * before the instance exists.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { AwsSpec, OsName } from "../config/spec";
import { renderHostKeyUserData } from "../render/cloud-init";
import { OS_INFO } from "../render/os";
import { createLoadBalancer, type AppLoadBalancer, type LoadBalancerOptions } from "../balancer/aws";
import { createNetwork } from "./aws-network";
import { FRESH_HOST_SSH, pinnedConnection, type Host } from "./host";

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

/** Arguments of AwsHosts. Optional fields have defaults; new optional fields may be added. */
export interface AwsHostsArgs {
  readonly namePrefix: string;
  readonly aws: AwsSpec;
  readonly adminCidrs: readonly string[];
  readonly machines: readonly AwsMachine[];
  readonly sshPublicKey: pulumi.Input<string>;
  readonly sshPrivateKey: pulumi.Input<string>;
  /** Salt's publish and return ports: open to the VPC only. */
  readonly saltPorts: readonly number[];
  /** Port nginx serves the app on, on every minion: open to the load balancer only. */
  readonly appPort: number;
  /** The load balancer's health check, drain time and certificate (default: `aws.certificateArn`). */
  readonly loadBalancer?: LoadBalancerOptions;
  /** Instance profile for the master (e.g. read access to the registry event queue). */
  readonly masterInstanceProfile?: pulumi.Input<string>;
  /** Instance profile per minion name (e.g. pull access to the ECR repository). */
  readonly minionInstanceProfiles?: Readonly<Record<string, pulumi.Input<string>>>;
  readonly tags?: Readonly<Record<string, string>>;
}

export class AwsHosts extends pulumi.ComponentResource {
  readonly hosts: Host[];
  readonly vpc: aws.ec2.Vpc;
  readonly publicSubnets: aws.ec2.Subnet[];
  readonly privateSubnets: aws.ec2.Subnet[];
  readonly natGateways: aws.ec2.NatGateway[];
  readonly masterSecurityGroup: aws.ec2.SecurityGroup;
  readonly minionSecurityGroup: aws.ec2.SecurityGroup;
  readonly loadBalancer: AppLoadBalancer;
  /** The environment's one entry point: the load balancer's URL. */
  readonly appUrl: pulumi.Output<string>;
  readonly instances: Record<string, aws.ec2.Instance> = {};
  /** Each machine's pinned SSH host key (`ssh-ed25519 AAAA…`). */
  readonly hostKeys: Record<string, pulumi.Output<string>> = {};

  constructor(name: string, args: AwsHostsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("saltpipe:hosts:AwsHosts", name, {}, opts);
    const parent = { parent: this };
    const tags = (suffix: string) => ({ ...args.tags, Name: `${args.namePrefix}-${suffix}` });
    const spec = args.aws;
    const masters = args.machines.filter((m) => m.role === "master");
    if (masters.length !== 1 || args.machines[0].role !== "master")
      throw new pulumi.ResourceError("AwsHosts: the first machine must be the one master", this);

    const network = createNetwork(name, spec, tags, this);
    this.vpc = network.vpc;
    this.publicSubnets = network.publicSubnets;
    this.privateSubnets = network.privateSubnets;
    this.natGateways = network.natGateways;

    this.loadBalancer = createLoadBalancer(
      name,
      {
        certificateArn: spec.certificateArn,
        ...args.loadBalancer,
        namePrefix: args.namePrefix,
        vpcId: this.vpc.id,
        vpcCidr: spec.vpcCidr,
        subnetIds: this.publicSubnets.map((s) => s.id),
        appPort: args.appPort,
        tags,
      },
      this,
    );
    this.appUrl = this.loadBalancer.url;

    const egress = [
      { protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], description: "all outbound" },
    ];
    this.masterSecurityGroup = new aws.ec2.SecurityGroup(
      `${name}-master`,
      {
        vpcId: this.vpc.id,
        description: "Salt master: SSH from admins (it is the jump host), Salt ports from the VPC only",
        ingress: [
          {
            protocol: "tcp",
            fromPort: 22,
            toPort: 22,
            cidrBlocks: [...args.adminCidrs],
            description: "SSH from admins",
          },
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
        description: "Salt minions: the app's proxy from the load balancer only, SSH from the master only",
        ingress: [
          {
            protocol: "tcp",
            fromPort: 22,
            toPort: 22,
            securityGroups: [this.masterSecurityGroup.id],
            description: "SSH through the master (jump host)",
          },
          {
            protocol: "tcp",
            fromPort: args.appPort,
            toPort: args.appPort,
            securityGroups: [this.loadBalancer.securityGroup.id],
            description: "app through nginx, from the load balancer",
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
    let master: Host | undefined;
    let minionIndex = 0;
    this.hosts = args.machines.map((machine) => {
      const isMaster = machine.role === "master";
      const hostKey = new tls.PrivateKey(
        `${name}-${machine.name}-host-key`,
        { algorithm: "ED25519" },
        parent,
      );
      const publicHostKey = hostKey.publicKeyOpenssh.apply((key) => key.trim());
      this.hostKeys[machine.name] = publicHostKey;
      const subnet = isMaster
        ? this.publicSubnets[0]
        : this.privateSubnets[minionIndex++ % this.privateSubnets.length];
      const instance = new aws.ec2.Instance(
        `${name}-${machine.name}`,
        {
          ami: ami(machine.os),
          instanceType: machine.instanceType,
          subnetId: subnet.id,
          associatePublicIpAddress: isMaster,
          vpcSecurityGroupIds: [isMaster ? this.masterSecurityGroup.id : this.minionSecurityGroup.id],
          keyName: keyPair.keyName,
          iamInstanceProfile: isMaster
            ? args.masterInstanceProfile
            : args.minionInstanceProfiles?.[machine.name],
          userData: pulumi.secret(
            pulumi
              .all([hostKey.privateKeyOpenssh, publicHostKey])
              .apply(([privateKey, publicKey]) => renderHostKeyUserData({ privateKey, publicKey })),
          ),
          // cloud-init installs host keys on first boot only: new user data means a new instance.
          userDataReplaceOnChange: true,
          disableApiTermination: spec.terminationProtection,
          rootBlockDevice: { volumeSize: spec.rootVolumeGb, volumeType: "gp3", encrypted: true },
          metadataOptions: { httpTokens: "required", httpEndpoint: "enabled" },
          tags: { ...tags(machine.name), "saltpipe:role": machine.role },
        },
        parent,
      );
      this.instances[machine.name] = instance;
      if (!isMaster) {
        new aws.lb.TargetGroupAttachment(
          `${name}-${machine.name}-target`,
          { targetGroupArn: this.loadBalancer.targetGroup.arn, targetId: instance.id, port: args.appPort },
          parent,
        );
      }
      const user = OS_INFO[machine.os].cloudUser;
      const direct = {
        host: isMaster ? instance.publicIp : instance.privateIp,
        user,
        privateKey: args.sshPrivateKey,
        ...FRESH_HOST_SSH,
      };
      const host: Host = {
        name: machine.name,
        os: machine.os,
        connection: isMaster
          ? pinnedConnection(machine.name, direct, publicHostKey)
          : {
              ...direct,
              hostKey: publicHostKey,
              // Minions have no public address: bootstrap goes through the master.
              proxy: {
                host: master!.connection.host,
                user: master!.connection.user,
                privateKey: args.sshPrivateKey,
                hostKey: master!.connection.hostKey,
                ...FRESH_HOST_SSH,
              },
            },
        privateAddress: instance.privateIp,
        publicAddress: isMaster ? instance.publicIp : instance.privateIp,
        sudo: true,
        dependsOn: [instance],
      };
      if (isMaster) master = host;
      return host;
    });
    this.registerOutputs({ vpcId: this.vpc.id, appUrl: this.appUrl });
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
