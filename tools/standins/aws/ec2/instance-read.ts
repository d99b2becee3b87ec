/**
 * An EC2 instance as the real provider reads it back (DescribeInstances, its root volume,
 * DescribeInstanceAttribute), and the shapes the instance resource shares.
 */
import {
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  type Instance,
} from "@aws-sdk/client-ec2";
import { createHash } from "node:crypto";
import { ec2, isCode, send } from "../clients";
import { arnOf, type Regional } from "../common";
import { tagMap, tagsAll } from "../tags";
import { privateDnsFor, publicDnsFor } from "./dns";

export interface RootBlockDevice {
  volumeSize?: number;
  volumeType?: string;
  encrypted?: boolean;
  deleteOnTermination?: boolean;
  iops?: number;
  throughput?: number;
  kmsKeyId?: string;
}

export interface MetadataOptions {
  httpEndpoint?: string;
  httpTokens?: string;
  httpPutResponseHopLimit?: number;
  instanceMetadataTags?: string;
  httpProtocolIpv6?: string;
}

export interface InstanceInputs extends Regional {
  ami: string;
  instanceType: string;
  subnetId?: string;
  availabilityZone?: string;
  associatePublicIpAddress?: boolean;
  privateIp?: string;
  vpcSecurityGroupIds?: string[];
  keyName?: string;
  iamInstanceProfile?: string;
  userData?: string;
  userDataBase64?: string;
  userDataReplaceOnChange?: boolean;
  disableApiTermination?: boolean;
  disableApiStop?: boolean;
  monitoring?: boolean;
  rootBlockDevice?: RootBlockDevice;
  metadataOptions?: MetadataOptions;
  volumeTags?: Record<string, string>;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The provider's `verify.Base64Encode`: text that already is base64 is sent as it is. */
export const userData64 = (text: string): string =>
  BASE64.test(text) ? text : Buffer.from(text).toString("base64");

/** What the provider keeps in state for `userData`: the SHA1 hex of the (decoded) text. */
export function userDataHash(text: string): string {
  const bytes = BASE64.test(text) ? Buffer.from(text, "base64") : Buffer.from(text);
  return createHash("sha1").update(bytes).digest("hex");
}

async function findReservation(
  id: string,
  region: string,
): Promise<{ instance?: Instance; ownerId?: string }> {
  try {
    const out = await send(
      `reading EC2 Instance (${id})`,
      ec2(region),
      new DescribeInstancesCommand({ InstanceIds: [id] }),
    );
    return { instance: out.Reservations?.[0]?.Instances?.[0], ownerId: out.Reservations?.[0]?.OwnerId };
  } catch (err) {
    if (isCode(err, "InvalidInstanceID.NotFound")) return {};
    throw err;
  }
}

export const findInstance = async (id: string, region: string): Promise<Instance | undefined> =>
  (await findReservation(id, region)).instance;

export async function instanceAttribute(
  id: string,
  region: string,
  Attribute: "disableApiTermination" | "disableApiStop",
) {
  const out = await send(
    `reading EC2 Instance (${id}) attribute ${Attribute}`,
    ec2(region),
    new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute }),
  );
  return (
    (Attribute === "disableApiTermination" ? out.DisableApiTermination : out.DisableApiStop)?.Value ?? false
  );
}

export const rootVolumeId = (i: Instance): string | undefined =>
  i.BlockDeviceMappings?.find((m) => m.DeviceName === i.RootDeviceName)?.Ebs?.VolumeId;

async function rootBlockDevice(i: Instance, region: string) {
  const mapping = i.BlockDeviceMappings?.find((m) => m.DeviceName === i.RootDeviceName);
  const id = mapping?.Ebs?.VolumeId;
  if (!id) return undefined;
  const v = (
    await send(
      `reading EC2 Instance (${i.InstanceId}) root volume`,
      ec2(region),
      new DescribeVolumesCommand({ VolumeIds: [id] }),
    )
  ).Volumes?.[0];
  return {
    deviceName: i.RootDeviceName,
    volumeId: id,
    volumeSize: v?.Size,
    volumeType: v?.VolumeType,
    encrypted: v?.Encrypted ?? false,
    iops: v?.Iops ?? 0,
    throughput: v?.Throughput ?? 0,
    kmsKeyId: v?.KmsKeyId ?? "",
    deleteOnTermination: mapping?.Ebs?.DeleteOnTermination ?? true,
  };
}

/** The instance's computed outputs, or undefined once it is gone (terminated counts as gone). */
export async function describeInstance(id: string, region: string, inputs: Pick<InstanceInputs, "userData">) {
  const { instance: i, ownerId } = await findReservation(id, region);
  if (!i || i.State?.Name === "terminated") return undefined;
  const metadata = i.MetadataOptions;
  return {
    arn: arnOf("ec2", region, ownerId ?? "", `instance/${id}`),
    ami: i.ImageId,
    instanceType: i.InstanceType,
    instanceState: i.State?.Name,
    availabilityZone: i.Placement?.AvailabilityZone,
    tenancy: i.Placement?.Tenancy,
    subnetId: i.SubnetId,
    privateIp: i.PrivateIpAddress,
    privateDns: i.PrivateDnsName || privateDnsFor(i.PrivateIpAddress, region),
    publicIp: i.PublicIpAddress ?? "",
    publicDns: i.PublicDnsName || publicDnsFor(i.PublicIpAddress, region) || "",
    associatePublicIpAddress: Boolean(i.PublicIpAddress),
    primaryNetworkInterfaceId: i.NetworkInterfaces?.[0]?.NetworkInterfaceId,
    // Groups given on the network interface are reported there by the emulator.
    vpcSecurityGroupIds: (i.SecurityGroups?.length
      ? i.SecurityGroups
      : (i.NetworkInterfaces?.[0]?.Groups ?? [])
    ).map((g) => g.GroupId!),
    keyName: i.KeyName ?? "",
    iamInstanceProfile: i.IamInstanceProfile?.Arn?.split("/").pop() ?? "",
    monitoring: i.Monitoring?.State === "enabled",
    disableApiTermination: await instanceAttribute(id, region, "disableApiTermination"),
    metadataOptions: metadata && {
      httpEndpoint: metadata.HttpEndpoint,
      httpTokens: metadata.HttpTokens,
      httpPutResponseHopLimit: metadata.HttpPutResponseHopLimit,
      instanceMetadataTags: metadata.InstanceMetadataTags,
      httpProtocolIpv6: metadata.HttpProtocolIpv6,
    },
    rootBlockDevice: await rootBlockDevice(i, region),
    ...(inputs.userData !== undefined ? { userData: userDataHash(inputs.userData) } : {}),
    tagsAll: tagsAll(tagMap(i.Tags)),
    region,
  };
}
