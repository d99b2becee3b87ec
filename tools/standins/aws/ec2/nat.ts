/**
 * `aws:ec2/eip:Eip` and `aws:ec2/natGateway:NatGateway`.
 *
 * Replacement, from terraform-provider-aws: internal/service/ec2/ec2_eip.go (ForceNew:
 * `address`, `domain`, `ipam_pool_id`, `network_border_group`, `public_ipv4_pool`; the stand-in
 * takes `domain` and tags) and internal/service/ec2/vpc_nat_gateway.go (ForceNew:
 * `allocation_id`, `connectivity_type`, `private_ip`, `subnet_id`); the v7 `region` replaces.
 * A NAT gateway is waited for until `available` on create and `deleted` on delete.
 */
import {
  AllocateAddressCommand,
  CreateNatGatewayCommand,
  DeleteNatGatewayCommand,
  DescribeAddressesCommand,
  DescribeNatGatewaysCommand,
  ReleaseAddressCommand,
  type ConnectivityType,
  type DomainType,
} from "@aws-sdk/client-ec2";
import { randomUUID } from "node:crypto";
import { CreatedButFailed, type ResourceType } from "../../lib/provider";
import { ec2, isCode, send, waitFor } from "../clients";
import { arnOf, deleteIgnoringNotFound, regional, regionOf, retryWhile, type Regional } from "../common";
import { accountId } from "../identity";
import { tagMap, tagsAll } from "../tags";
import { privateDnsFor, publicDnsFor } from "./dns";
import { tagSpecifications, updateEc2Tags } from "./tags";

interface EipInputs extends Regional {
  domain?: string;
}

async function describeEip(id: string, region: string) {
  let a;
  try {
    a = (
      await send(
        `reading EC2 EIP (${id})`,
        ec2(region),
        new DescribeAddressesCommand({ AllocationIds: [id] }),
      )
    ).Addresses?.[0];
  } catch (err) {
    if (isCode(err, "InvalidAllocationID.NotFound")) return undefined;
    throw err;
  }
  if (!a) return undefined;
  return {
    allocationId: a.AllocationId,
    arn: arnOf("ec2", region, await accountId(), `elastic-ip/${a.AllocationId}`),
    associationId: a.AssociationId,
    domain: a.Domain,
    publicIp: a.PublicIp,
    publicDns: publicDnsFor(a.PublicIp, region),
    privateIp: a.PrivateIpAddress,
    privateDns: privateDnsFor(a.PrivateIpAddress, region),
    publicIpv4Pool: a.PublicIpv4Pool,
    networkBorderGroup: a.NetworkBorderGroup,
    tagsAll: tagsAll(tagMap(a.Tags)),
    region,
  };
}

export const eip: ResourceType<EipInputs, EipInputs> = {
  inputs: { ...regional, domain: true, tags: true },
  outputs: [
    "allocationId",
    "arn",
    "associationId",
    "domain",
    "publicIp",
    "publicDns",
    "privateIp",
    "privateDns",
    "publicIpv4Pool",
    "networkBorderGroup",
    "tagsAll",
    "region",
  ],
  replaceOnChanges: ["domain", "region"],
  async create(i) {
    const region = regionOf(i);
    const created = await send(
      "creating EC2 EIP",
      ec2(region),
      new AllocateAddressCommand({
        Domain: (i.domain ?? "vpc") as DomainType,
        TagSpecifications: tagSpecifications("elastic-ip", i.tags),
      }),
    );
    const id = created.AllocationId!;
    return { id, outs: await describeEip(id, region) };
  },
  async update(id, olds, news) {
    const region = regionOf(news);
    await updateEc2Tags("EC2 EIP", id, region, olds.tags, news.tags);
    return describeEip(id, region);
  },
  async delete(id, state) {
    await deleteIgnoringNotFound(["InvalidAllocationID.NotFound"], () =>
      // A NAT gateway that is still going away keeps its address associated for a while.
      retryWhile(["AuthFailure", "InvalidIPAddress.InUse"], () =>
        send(
          `deleting EC2 EIP (${id})`,
          ec2(regionOf(state)),
          new ReleaseAddressCommand({ AllocationId: id }),
        ),
      ),
    );
  },
  read: (id, state) => describeEip(id, regionOf(state)),
};

interface NatInputs extends Regional {
  allocationId?: string;
  subnetId: string;
  connectivityType?: string;
  privateIp?: string;
}

async function findNat(id: string, region: string) {
  try {
    return (
      await send(
        `reading EC2 NAT Gateway (${id})`,
        ec2(region),
        new DescribeNatGatewaysCommand({ NatGatewayIds: [id] }),
      )
    ).NatGateways?.[0];
  } catch (err) {
    if (isCode(err, "NatGatewayNotFound")) return undefined;
    throw err;
  }
}

async function describeNat(id: string, region: string) {
  const n = await findNat(id, region);
  if (!n || n.State === "deleted") return undefined;
  const primary = n.NatGatewayAddresses?.find((a) => a.IsPrimary) ?? n.NatGatewayAddresses?.[0];
  return {
    allocationId: primary?.AllocationId,
    associationId: primary?.AssociationId,
    networkInterfaceId: primary?.NetworkInterfaceId,
    privateIp: primary?.PrivateIp,
    publicIp: primary?.PublicIp,
    connectivityType: n.ConnectivityType ?? "public",
    subnetId: n.SubnetId,
    vpcId: n.VpcId,
    tagsAll: tagsAll(tagMap(n.Tags)),
    region,
  };
}

export const natGateway: ResourceType<NatInputs, NatInputs> = {
  inputs: {
    ...regional,
    allocationId: true,
    subnetId: true,
    connectivityType: true,
    privateIp: true,
    tags: true,
  },
  outputs: [
    "allocationId",
    "associationId",
    "networkInterfaceId",
    "privateIp",
    "publicIp",
    "connectivityType",
    "vpcId",
    "tagsAll",
    "region",
  ],
  replaceOnChanges: ["allocationId", "subnetId", "connectivityType", "privateIp", "region"],
  async create(i) {
    const region = regionOf(i);
    const created = await send(
      "creating EC2 NAT Gateway",
      ec2(region),
      new CreateNatGatewayCommand({
        ClientToken: randomUUID(),
        AllocationId: i.allocationId,
        SubnetId: i.subnetId,
        ConnectivityType: (i.connectivityType ?? "public") as ConnectivityType,
        PrivateIpAddress: i.privateIp,
        TagSpecifications: tagSpecifications("natgateway", i.tags),
      }),
    );
    const id = created.NatGateway!.NatGatewayId!;
    const ready = await waitFor(
      `EC2 NAT Gateway (${id}) create`,
      () => findNat(id, region),
      (n) => n?.State !== "pending",
      600_000,
    );
    if (ready?.State !== "available")
      throw new CreatedButFailed(
        `waiting for EC2 NAT Gateway (${id}) create: unexpected state '${ready?.State}': ${ready?.FailureCode ?? ""} ${ready?.FailureMessage ?? ""}`.trim(),
        id,
        { region },
      );
    return { id, outs: await describeNat(id, region) };
  },
  async update(id, olds, news) {
    const region = regionOf(news);
    await updateEc2Tags("EC2 NAT Gateway", id, region, olds.tags, news.tags);
    return describeNat(id, region);
  },
  async delete(id, state) {
    const region = regionOf(state);
    await deleteIgnoringNotFound(["NatGatewayNotFound"], () =>
      send(
        `deleting EC2 NAT Gateway (${id})`,
        ec2(region),
        new DeleteNatGatewayCommand({ NatGatewayId: id }),
      ),
    );
    await waitFor(
      `EC2 NAT Gateway (${id}) delete`,
      () => findNat(id, region),
      (n) => !n || n.State === "deleted",
      1_800_000,
    );
  },
  read: (id, state) => describeNat(id, regionOf(state)),
};
