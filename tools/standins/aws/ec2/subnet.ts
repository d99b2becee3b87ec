/**
 * `aws:ec2/subnet:Subnet`. Replacement, from terraform-provider-aws:
 * internal/service/ec2/vpc_subnet.go (ForceNew: `vpc_id`, `cidr_block`, `availability_zone`,
 * `availability_zone_id`; `map_public_ip_on_launch` updates in place); the v7 `region` replaces.
 * Delete retries `DependencyViolation` while the subnet's network interfaces (a NAT gateway's,
 * a terminated instance's) are still going away, as the real provider waits for them.
 */
import {
  CreateSubnetCommand,
  DeleteSubnetCommand,
  DescribeSubnetsCommand,
  ModifySubnetAttributeCommand,
} from "@aws-sdk/client-ec2";
import type { ResourceType } from "../../lib/provider";
import { ec2, isCode, send, waitFor } from "../clients";
import { deleteIgnoringNotFound, regional, regionOf, retryWhile, type Regional } from "../common";
import { tagMap, tagsAll } from "../tags";
import { tagSpecifications, updateEc2Tags } from "./tags";

interface SubnetInputs extends Regional {
  vpcId: string;
  cidrBlock: string;
  availabilityZone?: string;
  availabilityZoneId?: string;
  mapPublicIpOnLaunch?: boolean;
}

async function describeSubnet(id: string, region: string) {
  let s;
  try {
    s = (
      await send(`reading EC2 Subnet (${id})`, ec2(region), new DescribeSubnetsCommand({ SubnetIds: [id] }))
    ).Subnets?.[0];
  } catch (err) {
    if (isCode(err, "InvalidSubnetID.NotFound")) return undefined;
    throw err;
  }
  if (!s) return undefined;
  return {
    arn: s.SubnetArn,
    ownerId: s.OwnerId,
    availabilityZone: s.AvailabilityZone,
    availabilityZoneId: s.AvailabilityZoneId,
    mapPublicIpOnLaunch: s.MapPublicIpOnLaunch ?? false,
    tagsAll: tagsAll(tagMap(s.Tags)),
    region,
  };
}

const setMapPublicIp = (id: string, region: string, value: boolean) =>
  send(
    `modifying EC2 Subnet (${id}) MapPublicIpOnLaunch`,
    ec2(region),
    new ModifySubnetAttributeCommand({ SubnetId: id, MapPublicIpOnLaunch: { Value: value } }),
  );

export const subnet: ResourceType<SubnetInputs, SubnetInputs> = {
  inputs: {
    ...regional,
    vpcId: true,
    cidrBlock: true,
    availabilityZone: true,
    availabilityZoneId: true,
    mapPublicIpOnLaunch: true,
    tags: true,
  },
  outputs: [
    "arn",
    "ownerId",
    "availabilityZone",
    "availabilityZoneId",
    "mapPublicIpOnLaunch",
    "tagsAll",
    "region",
  ],
  replaceOnChanges: ["vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId", "region"],
  async create(i) {
    const region = regionOf(i);
    const created = await send(
      "creating EC2 Subnet",
      ec2(region),
      new CreateSubnetCommand({
        VpcId: i.vpcId,
        CidrBlock: i.cidrBlock,
        AvailabilityZone: i.availabilityZone,
        AvailabilityZoneId: i.availabilityZoneId,
        TagSpecifications: tagSpecifications("subnet", i.tags),
      }),
    );
    const id = created.Subnet!.SubnetId!;
    await waitFor(
      `EC2 Subnet (${id}) create`,
      () => describeSubnet(id, region),
      (s) => s !== undefined,
    );
    if (i.mapPublicIpOnLaunch === true) await setMapPublicIp(id, region, true);
    return { id, outs: await describeSubnet(id, region) };
  },
  async update(id, olds, news) {
    const region = regionOf(news);
    if ((olds.mapPublicIpOnLaunch ?? false) !== (news.mapPublicIpOnLaunch ?? false))
      await setMapPublicIp(id, region, news.mapPublicIpOnLaunch ?? false);
    await updateEc2Tags("EC2 Subnet", id, region, olds.tags, news.tags);
    return describeSubnet(id, region);
  },
  async delete(id, state) {
    await deleteIgnoringNotFound(["InvalidSubnetID.NotFound"], () =>
      retryWhile(
        ["DependencyViolation"],
        () =>
          send(
            `deleting EC2 Subnet (${id})`,
            ec2(regionOf(state)),
            new DeleteSubnetCommand({ SubnetId: id }),
          ),
        300_000,
      ),
    );
  },
  read: (id, state) => describeSubnet(id, regionOf(state)),
};
