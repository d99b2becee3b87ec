/**
 * `aws:ec2/instance:Instance`, as terraform-provider-aws internal/service/ec2/ec2_instance.go
 * runs one: RunInstances (one instance; the network interface carries the subnet, security
 * groups, private and public address when `associatePublicIpAddress` is given; the root
 * device of the AMI gets `rootBlockDevice`), then wait until `running`.
 *
 * Replacement (ForceNew in that file): `ami`, `associatePublicIpAddress`, `availabilityZone`,
 * `keyName`, `privateIp`, `subnetId`, `rootBlockDevice.encrypted`, `rootBlockDevice.kmsKeyId`,
 * and `userData`/`userDataBase64` when `userDataReplaceOnChange` is true (its CustomizeDiff);
 * the v7 `region` replaces. Everything else the stand-in takes updates in place
 * (./instance-update.ts): instance type and user data with a stop and start, security groups,
 * instance profile, termination protection, metadata options, root volume size/type/iops/
 * throughput, delete-on-termination, monitoring, tags. The `userData` output is the SHA1 of
 * the text, as the provider keeps it in state.
 *
 * Beyond the emulator (moto): a `disableApiTermination` given to RunInstances is not kept by
 * moto, so it is set again with ModifyInstanceAttribute when the instance does not report it;
 * and termination protection is checked before TerminateInstances from the instance's own
 * `disableApiTermination` attribute, failing as AWS fails (OperationNotPermitted).
 *
 * Hooks (setInstanceHooks) let a caller give each instance a real machine: `afterRun` once
 * the instance runs, `beforeTerminate` before it is terminated.
 */
import {
  DescribeImagesCommand,
  ModifyInstanceAttributeCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type RunInstancesCommandInput,
  type _InstanceType,
} from "@aws-sdk/client-ec2";
import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { CreatedButFailed, type Context, type ResourceType } from "../../lib/provider";
import { ec2, refusal, send, waitFor } from "../clients";
import { deleteIgnoringNotFound, regional, regionOf } from "../common";
import {
  describeInstance,
  findInstance,
  instanceAttribute,
  userData64,
  type InstanceInputs,
} from "./instance-read";
import { updateInstance } from "./instance-update";
import { tagSpecifications } from "./tags";

export interface InstanceHooks {
  /** After the instance runs (its private address assigned): e.g. start a machine for it. */
  afterRun?(instanceId: string, region: string, inputs: InstanceInputs, ctx: Context): Promise<void>;
  /** Before the instance is terminated (after the termination-protection check). */
  beforeTerminate?(instanceId: string, region: string, ctx: Context): Promise<void>;
}

let hooks: InstanceHooks = {};

export function setInstanceHooks(next: InstanceHooks): void {
  hooks = next;
}

async function rootDeviceName(ami: string, region: string): Promise<string | undefined> {
  const image = (
    await send(`reading EC2 AMI (${ami})`, ec2(region), new DescribeImagesCommand({ ImageIds: [ami] }))
  ).Images?.[0];
  return image?.RootDeviceName;
}

async function runRequest(i: InstanceInputs, region: string): Promise<RunInstancesCommandInput> {
  const root = i.rootBlockDevice;
  const device = root ? await rootDeviceName(i.ami, region) : undefined;
  const viaInterface = i.associatePublicIpAddress !== undefined;
  const userData = i.userDataBase64 ?? (i.userData !== undefined ? userData64(i.userData) : undefined);
  return {
    ClientToken: randomUUID(),
    MinCount: 1,
    MaxCount: 1,
    ImageId: i.ami,
    InstanceType: i.instanceType as _InstanceType,
    KeyName: i.keyName,
    UserData: userData,
    DisableApiTermination: i.disableApiTermination,
    DisableApiStop: i.disableApiStop,
    Monitoring: i.monitoring !== undefined ? { Enabled: i.monitoring } : undefined,
    IamInstanceProfile: i.iamInstanceProfile ? { Name: i.iamInstanceProfile } : undefined,
    Placement: i.availabilityZone ? { AvailabilityZone: i.availabilityZone } : undefined,
    ...(viaInterface
      ? {
          NetworkInterfaces: [
            {
              DeviceIndex: 0,
              SubnetId: i.subnetId,
              AssociatePublicIpAddress: i.associatePublicIpAddress,
              Groups: i.vpcSecurityGroupIds,
              PrivateIpAddress: i.privateIp,
              DeleteOnTermination: true,
            },
          ],
        }
      : { SubnetId: i.subnetId, SecurityGroupIds: i.vpcSecurityGroupIds, PrivateIpAddress: i.privateIp }),
    BlockDeviceMappings:
      root && device
        ? [
            {
              DeviceName: device,
              Ebs: {
                DeleteOnTermination: root.deleteOnTermination ?? true,
                Encrypted: root.encrypted,
                KmsKeyId: root.kmsKeyId,
                VolumeSize: root.volumeSize,
                VolumeType: root.volumeType as "gp3",
                Iops: root.iops,
                Throughput: root.throughput,
              },
            },
          ]
        : undefined,
    MetadataOptions: i.metadataOptions && {
      HttpEndpoint: i.metadataOptions.httpEndpoint as "enabled",
      HttpTokens: i.metadataOptions.httpTokens as "required",
      HttpPutResponseHopLimit: i.metadataOptions.httpPutResponseHopLimit,
      InstanceMetadataTags: i.metadataOptions.instanceMetadataTags as "enabled",
      HttpProtocolIpv6: i.metadataOptions.httpProtocolIpv6 as "enabled",
    },
    TagSpecifications: [
      ...(tagSpecifications("instance", i.tags) ?? []),
      ...(tagSpecifications("volume", i.volumeTags) ?? []),
    ],
  };
}

const ROOT_FIELDS = [
  "volumeSize",
  "volumeType",
  "encrypted",
  "deleteOnTermination",
  "iops",
  "throughput",
  "kmsKeyId",
];
const METADATA_FIELDS = [
  "httpEndpoint",
  "httpTokens",
  "httpPutResponseHopLimit",
  "instanceMetadataTags",
  "httpProtocolIpv6",
];

export const instance: ResourceType<InstanceInputs, InstanceInputs> = {
  inputs: {
    ...regional,
    ami: true,
    instanceType: true,
    subnetId: true,
    availabilityZone: true,
    associatePublicIpAddress: true,
    privateIp: true,
    vpcSecurityGroupIds: true,
    keyName: true,
    iamInstanceProfile: true,
    userData: true,
    userDataBase64: true,
    userDataReplaceOnChange: true,
    disableApiTermination: true,
    disableApiStop: true,
    monitoring: true,
    rootBlockDevice: ROOT_FIELDS,
    metadataOptions: METADATA_FIELDS,
    tags: true,
    volumeTags: true,
  },
  outputs: [
    "arn",
    "ami",
    "instanceType",
    "instanceState",
    "availabilityZone",
    "tenancy",
    "subnetId",
    "privateIp",
    "privateDns",
    "publicIp",
    "publicDns",
    "associatePublicIpAddress",
    "primaryNetworkInterfaceId",
    "vpcSecurityGroupIds",
    "keyName",
    "iamInstanceProfile",
    "monitoring",
    "disableApiTermination",
    "metadataOptions",
    "rootBlockDevice",
    "userData",
    "tagsAll",
    "region",
  ],
  replaceOnChanges: [
    "ami",
    "associatePublicIpAddress",
    "availabilityZone",
    "keyName",
    "privateIp",
    "subnetId",
    "region",
  ],
  replaces(changed, olds, news) {
    const extra: string[] = [];
    if (news.userDataReplaceOnChange === true) extra.push("userData", "userDataBase64");
    const before = (olds.rootBlockDevice ?? {}) as Record<string, unknown>;
    const after = (news.rootBlockDevice ?? {}) as Record<string, unknown>;
    if (["encrypted", "kmsKeyId"].some((k) => !isDeepStrictEqual(before[k], after[k])))
      extra.push("rootBlockDevice");
    return extra.filter((k) => changed.includes(k));
  },
  check(news) {
    if (news.userData != null && news.userDataBase64 != null)
      throw new Error('"userData": conflicts with userDataBase64');
    if (news.ami == null) throw new Error("ami is required (the stand-in does not take launchTemplate)");
    if (news.instanceType == null)
      throw new Error("instanceType is required (the stand-in does not take launchTemplate)");
    return news;
  },
  async create(i, ctx) {
    const region = regionOf(i);
    const run = await send(
      "creating EC2 Instance",
      ec2(region),
      new RunInstancesCommand(await runRequest(i, region)),
    );
    const id = run.Instances![0].InstanceId!;
    try {
      await waitFor(
        `EC2 Instance (${id}) create`,
        () => findInstance(id, region),
        (x) => x?.State?.Name !== "pending",
        600_000,
      );
      const state = (await findInstance(id, region))?.State?.Name;
      if (state !== "running")
        throw new Error(
          `waiting for EC2 Instance (${id}) create: unexpected state '${state}', wanted target 'running'`,
        );
      if (i.disableApiTermination === true && !(await instanceAttribute(id, region, "disableApiTermination")))
        await send(
          `updating EC2 Instance (${id}) disableApiTermination`,
          ec2(region),
          new ModifyInstanceAttributeCommand({ InstanceId: id, DisableApiTermination: { Value: true } }),
        );
      await hooks.afterRun?.(id, region, i, ctx);
      return { id, outs: await describeInstance(id, region, i) };
    } catch (err) {
      throw new CreatedButFailed((err as Error).message, id, { region });
    }
  },
  async update(id, olds, news, ctx) {
    const region = regionOf(news);
    await updateInstance(id, region, olds, news, ctx);
    return describeInstance(id, region, news);
  },
  async delete(id, state, ctx) {
    const region = regionOf(state);
    const live = await findInstance(id, region);
    if (!live || live.State?.Name === "terminated") return;
    if (await instanceAttribute(id, region, "disableApiTermination")) {
      const message = `The instance '${id}' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.`;
      throw refusal(
        `terminating EC2 Instance (${id})`,
        "EC2",
        "TerminateInstances",
        "OperationNotPermitted",
        message,
      );
    }
    await hooks.beforeTerminate?.(id, region, ctx);
    await deleteIgnoringNotFound(["InvalidInstanceID.NotFound"], () =>
      send(
        `terminating EC2 Instance (${id})`,
        ec2(region),
        new TerminateInstancesCommand({ InstanceIds: [id] }),
      ),
    );
    await waitFor(
      `EC2 Instance (${id}) delete`,
      () => findInstance(id, region),
      (x) => !x || x.State?.Name === "terminated",
      1_200_000,
    );
  },
  // The state's `userData` is the hash: the text is in the last inputs.
  read: (id, state) =>
    describeInstance(id, regionOf(state), (state as { __inputs?: InstanceInputs }).__inputs ?? {}),
};
