/**
 * `aws:ec2/vpc:Vpc` and `aws:ec2/internetGateway:InternetGateway`.
 *
 * Replacement, from terraform-provider-aws: internal/service/ec2/vpc_.go (ForceNew:
 * `cidr_block`; DNS attributes and `instance_tenancy` update in place) and
 * internal/service/ec2/vpc_internet_gateway.go (nothing ForceNew: `vpc_id` changes detach and
 * attach). Both: the v7 `region` replaces.
 */
import {
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateVpcCommand,
  DeleteInternetGatewayCommand,
  DeleteVpcCommand,
  DescribeInternetGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeNetworkAclsCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcsCommand,
  DetachInternetGatewayCommand,
  ModifyVpcAttributeCommand,
  ModifyVpcTenancyCommand,
  type VpcTenancy,
} from "@aws-sdk/client-ec2";
import type { ResourceType } from "../../lib/provider";
import { ec2, isCode, send, waitFor } from "../clients";
import { arnOf, deleteIgnoringNotFound, regional, regionOf, retryWhile, type Regional } from "../common";
import { tagMap, tagsAll } from "../tags";
import { tagSpecifications, updateEc2Tags } from "./tags";

interface VpcInputs extends Regional {
  cidrBlock: string;
  enableDnsHostnames?: boolean;
  enableDnsSupport?: boolean;
  instanceTenancy?: string;
}

async function describeVpc(id: string, region: string) {
  const client = ec2(region);
  let vpc;
  try {
    vpc = (await send(`reading EC2 VPC (${id})`, client, new DescribeVpcsCommand({ VpcIds: [id] })))
      .Vpcs?.[0];
  } catch (err) {
    if (isCode(err, "InvalidVpcID.NotFound")) return undefined;
    throw err;
  }
  if (!vpc) return undefined;
  const attribute = async (Attribute: "enableDnsHostnames" | "enableDnsSupport") => {
    const out = await send(
      `reading EC2 VPC (${id}) Attribute (${Attribute})`,
      client,
      new DescribeVpcAttributeCommand({ VpcId: id, Attribute }),
    );
    return (
      (Attribute === "enableDnsHostnames" ? out.EnableDnsHostnames : out.EnableDnsSupport)?.Value ?? false
    );
  };
  const vpcFilter = [{ Name: "vpc-id", Values: [id] }];
  const main = (
    await send(
      `reading EC2 VPC (${id}) main Route Table`,
      client,
      new DescribeRouteTablesCommand({
        Filters: [...vpcFilter, { Name: "association.main", Values: ["true"] }],
      }),
    )
  ).RouteTables?.[0];
  const sg = (
    await send(
      `reading EC2 VPC (${id}) default Security Group`,
      client,
      new DescribeSecurityGroupsCommand({
        Filters: [...vpcFilter, { Name: "group-name", Values: ["default"] }],
      }),
    )
  ).SecurityGroups?.[0];
  const acl = (
    await send(
      `reading EC2 VPC (${id}) default NACL`,
      client,
      new DescribeNetworkAclsCommand({ Filters: [...vpcFilter, { Name: "default", Values: ["true"] }] }),
    )
  ).NetworkAcls?.[0];
  return {
    arn: arnOf("ec2", region, vpc.OwnerId!, `vpc/${id}`),
    cidrBlock: vpc.CidrBlock,
    instanceTenancy: vpc.InstanceTenancy,
    dhcpOptionsId: vpc.DhcpOptionsId,
    ownerId: vpc.OwnerId,
    enableDnsHostnames: await attribute("enableDnsHostnames"),
    enableDnsSupport: await attribute("enableDnsSupport"),
    mainRouteTableId: main?.RouteTableId,
    defaultRouteTableId: main?.RouteTableId,
    defaultSecurityGroupId: sg?.GroupId,
    defaultNetworkAclId: acl?.NetworkAclId,
    tagsAll: tagsAll(tagMap(vpc.Tags)),
    region,
  };
}

async function setDns(
  id: string,
  region: string,
  name: "EnableDnsHostnames" | "EnableDnsSupport",
  value: boolean,
) {
  await send(
    `modifying EC2 VPC (${id}) ${name}`,
    ec2(region),
    new ModifyVpcAttributeCommand({ VpcId: id, [name]: { Value: value } }),
  );
}

export const vpc: ResourceType<VpcInputs, VpcInputs> = {
  inputs: {
    ...regional,
    cidrBlock: true,
    enableDnsHostnames: true,
    enableDnsSupport: true,
    instanceTenancy: true,
    tags: true,
  },
  outputs: [
    "arn",
    "ownerId",
    "dhcpOptionsId",
    "mainRouteTableId",
    "defaultRouteTableId",
    "defaultSecurityGroupId",
    "defaultNetworkAclId",
    "enableDnsHostnames",
    "enableDnsSupport",
    "instanceTenancy",
    "tagsAll",
    "region",
  ],
  replaceOnChanges: ["cidrBlock", "region"],
  async create(i) {
    const region = regionOf(i);
    const created = await send(
      "creating EC2 VPC",
      ec2(region),
      new CreateVpcCommand({
        CidrBlock: i.cidrBlock,
        InstanceTenancy: (i.instanceTenancy ?? "default") as VpcTenancy,
        TagSpecifications: tagSpecifications("vpc", i.tags),
      }),
    );
    const id = created.Vpc!.VpcId!;
    await waitFor(
      `EC2 VPC (${id}) create`,
      () => describeVpc(id, region),
      (v) => v !== undefined,
    );
    // AWS creates a VPC with DNS support on and DNS hostnames off: change only what differs.
    if (i.enableDnsHostnames === true) await setDns(id, region, "EnableDnsHostnames", true);
    if (i.enableDnsSupport === false) await setDns(id, region, "EnableDnsSupport", false);
    return { id, outs: await describeVpc(id, region) };
  },
  async update(id, olds, news) {
    const region = regionOf(news);
    if ((olds.enableDnsHostnames ?? false) !== (news.enableDnsHostnames ?? false))
      await setDns(id, region, "EnableDnsHostnames", news.enableDnsHostnames ?? false);
    if ((olds.enableDnsSupport ?? true) !== (news.enableDnsSupport ?? true))
      await setDns(id, region, "EnableDnsSupport", news.enableDnsSupport ?? true);
    if ((olds.instanceTenancy ?? "default") !== (news.instanceTenancy ?? "default"))
      await send(
        `updating EC2 VPC (${id})`,
        ec2(region),
        new ModifyVpcTenancyCommand({ VpcId: id, InstanceTenancy: news.instanceTenancy as "default" }),
      );
    await updateEc2Tags("EC2 VPC", id, region, olds.tags, news.tags);
    return describeVpc(id, region);
  },
  async delete(id, state) {
    await deleteIgnoringNotFound(["InvalidVpcID.NotFound"], () =>
      retryWhile(["DependencyViolation"], () =>
        send(`deleting EC2 VPC (${id})`, ec2(regionOf(state)), new DeleteVpcCommand({ VpcId: id })),
      ),
    );
  },
  read: (id, state) => describeVpc(id, regionOf(state)),
};

interface GatewayInputs extends Regional {
  vpcId?: string;
}

async function describeGateway(id: string, region: string) {
  let gw;
  try {
    gw = (
      await send(
        `reading EC2 Internet Gateway (${id})`,
        ec2(region),
        new DescribeInternetGatewaysCommand({ InternetGatewayIds: [id] }),
      )
    ).InternetGateways?.[0];
  } catch (err) {
    if (isCode(err, "InvalidInternetGatewayID.NotFound")) return undefined;
    throw err;
  }
  if (!gw) return undefined;
  return {
    arn: arnOf("ec2", region, gw.OwnerId!, `internet-gateway/${id}`),
    ownerId: gw.OwnerId,
    vpcId: gw.Attachments?.[0]?.VpcId ?? "",
    tagsAll: tagsAll(tagMap(gw.Tags)),
    region,
  };
}

const attach = (id: string, vpcId: string, region: string) =>
  send(
    `attaching EC2 Internet Gateway (${id}) to VPC (${vpcId})`,
    ec2(region),
    new AttachInternetGatewayCommand({ InternetGatewayId: id, VpcId: vpcId }),
  );

async function detach(id: string, vpcId: string, region: string) {
  await deleteIgnoringNotFound(["Gateway.NotAttached", "InvalidInternetGatewayID.NotFound"], () =>
    retryWhile(["DependencyViolation"], () =>
      send(
        `detaching EC2 Internet Gateway (${id}) from VPC (${vpcId})`,
        ec2(region),
        new DetachInternetGatewayCommand({ InternetGatewayId: id, VpcId: vpcId }),
      ),
    ),
  );
}

export const internetGateway: ResourceType<GatewayInputs, GatewayInputs> = {
  inputs: { ...regional, vpcId: true, tags: true },
  outputs: ["arn", "ownerId", "tagsAll", "region"],
  replaceOnChanges: ["region"],
  async create(i) {
    const region = regionOf(i);
    const created = await send(
      "creating EC2 Internet Gateway",
      ec2(region),
      new CreateInternetGatewayCommand({ TagSpecifications: tagSpecifications("internet-gateway", i.tags) }),
    );
    const id = created.InternetGateway!.InternetGatewayId!;
    if (i.vpcId) await attach(id, i.vpcId, region);
    return { id, outs: await describeGateway(id, region) };
  },
  async update(id, olds, news) {
    const region = regionOf(news);
    if (olds.vpcId !== news.vpcId) {
      if (olds.vpcId) await detach(id, olds.vpcId, region);
      if (news.vpcId) await attach(id, news.vpcId, region);
    }
    await updateEc2Tags("EC2 Internet Gateway", id, region, olds.tags, news.tags);
    return describeGateway(id, region);
  },
  async delete(id, state) {
    const region = regionOf(state);
    if (state.vpcId) await detach(id, state.vpcId, region);
    await deleteIgnoringNotFound(["InvalidInternetGatewayID.NotFound"], () =>
      retryWhile(["DependencyViolation"], () =>
        send(
          `deleting EC2 Internet Gateway (${id})`,
          ec2(region),
          new DeleteInternetGatewayCommand({ InternetGatewayId: id }),
        ),
      ),
    );
  },
  read: (id, state) => describeGateway(id, regionOf(state)),
};
