/**
 * `aws:ec2/securityGroup:SecurityGroup` with inline `ingress` and `egress` rules.
 *
 * As terraform-provider-aws internal/service/ec2/vpc_security_group.go does it, with the
 * Pulumi provider's defaults: ForceNew `name`, `namePrefix`, `description` (default "Managed
 * by Pulumi"), `vpcId`; `name` auto-named (`<resource>-<7 hex>`) unless `namePrefix` is set;
 * the egress rule AWS adds to a new group (all traffic to 0.0.0.0/0) is revoked, then the
 * declared rules authorized; a changed rule set revokes the rules that went and authorizes the
 * new ones in place; `revokeRulesOnDelete` revokes every rule before the delete, which is
 * retried while the group is still in use (`DependencyViolation`). The v7 `region` replaces.
 * `ingress`/`egress` outputs are the declared rules (not read back from the API).
 */
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type IpPermission,
} from "@aws-sdk/client-ec2";
import { isDeepStrictEqual } from "node:util";
import type { ResourceType } from "../../lib/provider";
import { ec2, isCode, send } from "../clients";
import { arnOf, deleteIgnoringNotFound, regional, regionOf, retryWhile, type Regional } from "../common";
import { autoName, nameOrPrefixed } from "../naming";
import { tagMap, tagsAll } from "../tags";
import { tagSpecifications, updateEc2Tags } from "./tags";

export interface Rule {
  protocol: string;
  fromPort: number;
  toPort: number;
  cidrBlocks?: string[];
  ipv6CidrBlocks?: string[];
  prefixListIds?: string[];
  securityGroups?: string[];
  self?: boolean;
  description?: string;
}

interface GroupInputs extends Regional {
  name?: string;
  namePrefix?: string;
  description?: string;
  vpcId?: string;
  ingress?: Rule[];
  egress?: Rule[];
  revokeRulesOnDelete?: boolean;
}

const RULE_FIELDS = [
  "protocol",
  "fromPort",
  "toPort",
  "cidrBlocks",
  "ipv6CidrBlocks",
  "prefixListIds",
  "securityGroups",
  "self",
  "description",
];

/** The provider's protocol normal form: "-1" for all, names for the common numbers. */
function protocolOf(p: string): string {
  const named: Record<string, string> = { all: "-1", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6" };
  return named[p.toLowerCase()] ?? p.toLowerCase();
}

/** One rule as the API's IpPermission (a rule for "all" protocols has ports 0..0 in state; the API wants none). */
export function permissionOf(rule: Rule, groupId: string): IpPermission {
  const protocol = protocolOf(rule.protocol);
  const d = rule.description ? { Description: rule.description } : {};
  const groups = [...(rule.securityGroups ?? []), ...(rule.self ? [groupId] : [])];
  return {
    IpProtocol: protocol,
    ...(protocol === "-1" ? {} : { FromPort: rule.fromPort, ToPort: rule.toPort }),
    IpRanges: rule.cidrBlocks?.length ? rule.cidrBlocks.map((CidrIp) => ({ CidrIp, ...d })) : undefined,
    Ipv6Ranges: rule.ipv6CidrBlocks?.length
      ? rule.ipv6CidrBlocks.map((CidrIpv6) => ({ CidrIpv6, ...d }))
      : undefined,
    PrefixListIds: rule.prefixListIds?.length
      ? rule.prefixListIds.map((PrefixListId) => ({ PrefixListId, ...d }))
      : undefined,
    UserIdGroupPairs: groups.length ? groups.map((GroupId) => ({ GroupId, ...d })) : undefined,
  };
}

type Direction = "ingress" | "egress";

async function authorize(direction: Direction, groupId: string, region: string, rules: Rule[]) {
  if (rules.length === 0) return;
  const IpPermissions = rules.map((r) => permissionOf(r, groupId));
  const what = `updating Security Group (${groupId}) ${direction} rules`;
  if (direction === "ingress")
    await send(
      what,
      ec2(region),
      new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions }),
    );
  else
    await send(
      what,
      ec2(region),
      new AuthorizeSecurityGroupEgressCommand({ GroupId: groupId, IpPermissions }),
    );
}

async function revoke(direction: Direction, groupId: string, region: string, permissions: IpPermission[]) {
  if (permissions.length === 0) return;
  const what = `updating Security Group (${groupId}) ${direction} rules`;
  const input = { GroupId: groupId, IpPermissions: permissions };
  await deleteIgnoringNotFound(["InvalidPermission.NotFound"], () =>
    direction === "ingress"
      ? send(what, ec2(region), new RevokeSecurityGroupIngressCommand(input))
      : send(what, ec2(region), new RevokeSecurityGroupEgressCommand(input)),
  );
}

/** Revoke the rules that are gone, authorize the new ones (an unchanged rule is left alone). */
async function updateRules(
  direction: Direction,
  groupId: string,
  region: string,
  before: Rule[] = [],
  after: Rule[] = [],
) {
  const gone = before.filter((b) => !after.some((a) => isDeepStrictEqual(a, b)));
  const added = after.filter((a) => !before.some((b) => isDeepStrictEqual(a, b)));
  await revoke(
    direction,
    groupId,
    region,
    gone.map((r) => permissionOf(r, groupId)),
  );
  await authorize(direction, groupId, region, added);
}

async function findGroup(id: string, region: string) {
  try {
    return (
      await send(
        `reading Security Group (${id})`,
        ec2(region),
        new DescribeSecurityGroupsCommand({ GroupIds: [id] }),
      )
    ).SecurityGroups?.[0];
  } catch (err) {
    if (isCode(err, "InvalidGroup.NotFound")) return undefined;
    throw err;
  }
}

async function describeGroup(id: string, region: string) {
  const g = await findGroup(id, region);
  if (!g) return undefined;
  return {
    arn: arnOf("ec2", region, g.OwnerId!, `security-group/${id}`),
    ownerId: g.OwnerId,
    name: g.GroupName,
    description: g.Description,
    vpcId: g.VpcId,
    tagsAll: tagsAll(tagMap(g.Tags)),
    region,
  };
}

export const securityGroup: ResourceType<GroupInputs, GroupInputs> = {
  inputs: {
    ...regional,
    name: true,
    namePrefix: true,
    description: true,
    vpcId: true,
    ingress: RULE_FIELDS,
    egress: RULE_FIELDS,
    revokeRulesOnDelete: true,
    tags: true,
  },
  outputs: ["arn", "ownerId", "name", "description", "vpcId", "tagsAll", "region"],
  replaceOnChanges: ["name", "namePrefix", "description", "vpcId", "region"],
  check(news, olds, name) {
    if (news.name != null && news.namePrefix != null) throw new Error('"name": conflicts with namePrefix');
    const named = autoName(news, olds, name, { prefixKey: "namePrefix" });
    return { ...named, description: named.description ?? "Managed by Pulumi" };
  },
  async create(i) {
    const region = regionOf(i);
    const groupName = nameOrPrefixed(i.name, i.namePrefix);
    const created = await send(
      `creating Security Group (${groupName})`,
      ec2(region),
      new CreateSecurityGroupCommand({
        GroupName: groupName,
        Description: i.description,
        VpcId: i.vpcId,
        TagSpecifications: tagSpecifications("security-group", i.tags),
      }),
    );
    const id = created.GroupId!;
    await revoke("egress", id, region, [{ IpProtocol: "-1", IpRanges: [{ CidrIp: "0.0.0.0/0" }] }]);
    await authorize("ingress", id, region, i.ingress ?? []);
    await authorize("egress", id, region, i.egress ?? []);
    return { id, outs: await describeGroup(id, region) };
  },
  async update(id, olds, news) {
    const region = regionOf(news);
    await updateRules("ingress", id, region, olds.ingress, news.ingress);
    await updateRules("egress", id, region, olds.egress, news.egress);
    await updateEc2Tags("Security Group", id, region, olds.tags, news.tags);
    return describeGroup(id, region);
  },
  async delete(id, state) {
    const region = regionOf(state);
    if (state.revokeRulesOnDelete) {
      const g = await findGroup(id, region);
      await revoke("ingress", id, region, g?.IpPermissions ?? []);
      await revoke("egress", id, region, g?.IpPermissionsEgress ?? []);
    }
    await deleteIgnoringNotFound(["InvalidGroup.NotFound"], () =>
      retryWhile(
        ["DependencyViolation", "InvalidGroup.InUse"],
        () =>
          send(
            `deleting Security Group (${id})`,
            ec2(region),
            new DeleteSecurityGroupCommand({ GroupId: id }),
          ),
        300_000,
      ),
    );
  },
  read: (id, state) => describeGroup(id, regionOf(state)),
};
