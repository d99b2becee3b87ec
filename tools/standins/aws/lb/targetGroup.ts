/**
 * `aws:lb/targetGroup:TargetGroup` and `aws:lb/targetGroupAttachment:TargetGroupAttachment`.
 *
 * Replacement, from terraform-provider-aws: internal/service/elbv2/target_group.go (ForceNew:
 * `name`, `name_prefix`, `port`, `protocol`, `protocol_version`, `vpc_id`, `target_type`,
 * `ip_address_type`; the health check, the deregistration delay and tags change in place;
 * Pulumi auto-names `name` within 32 characters) and target_group_attachment.go (every
 * argument ForceNew: a change registers the new target and deregisters the old one; the id is
 * `<target group ARN>-<unique id>`). The v7 `region` replaces. Delete of a target group is
 * retried while a listener still uses it (`ResourceInUse`).
 */
import {
  CreateTargetGroupCommand,
  DeleteTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  RegisterTargetsCommand,
  type ProtocolEnum,
  type TargetTypeEnum,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { isDeepStrictEqual } from "node:util";
import type { ResourceType } from "../../lib/provider";
import { elbv2, isCode, send } from "../clients";
import { deleteIgnoringNotFound, regional, regionOf, retryWhile, type Regional } from "../common";
import { autoName, nameOrPrefixed, prefixedUniqueId } from "../naming";
import { tagList, tagsAll } from "../tags";
import { readElbTags, updateElbTags } from "./tags";

interface HealthCheck {
  enabled?: boolean;
  protocol?: string;
  port?: string;
  path?: string;
  matcher?: string;
  interval?: number;
  timeout?: number;
  healthyThreshold?: number;
  unhealthyThreshold?: number;
}

interface TargetGroupInputs extends Regional {
  name?: string;
  namePrefix?: string;
  port?: number;
  protocol?: string;
  protocolVersion?: string;
  vpcId?: string;
  targetType?: string;
  ipAddressType?: string;
  deregistrationDelay?: number;
  healthCheck?: HealthCheck;
}

const healthCheckRequest = (h: HealthCheck | undefined) =>
  h && {
    HealthCheckEnabled: h.enabled,
    HealthCheckProtocol: h.protocol as ProtocolEnum,
    HealthCheckPort: h.port,
    HealthCheckPath: h.path,
    Matcher: h.matcher ? { HttpCode: h.matcher } : undefined,
    HealthCheckIntervalSeconds: h.interval,
    HealthCheckTimeoutSeconds: h.timeout,
    HealthyThresholdCount: h.healthyThreshold,
    UnhealthyThresholdCount: h.unhealthyThreshold,
  };

async function describeGroup(arn: string, region: string) {
  let g;
  try {
    g = (
      await send(
        `reading ELBv2 Target Group (${arn})`,
        elbv2(region),
        new DescribeTargetGroupsCommand({ TargetGroupArns: [arn] }),
      )
    ).TargetGroups?.[0];
  } catch (err) {
    if (isCode(err, "TargetGroupNotFound")) return undefined;
    throw err;
  }
  if (!g) return undefined;
  const attributes =
    (
      await send(
        `reading ELBv2 Target Group (${arn}) attributes`,
        elbv2(region),
        new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }),
      )
    ).Attributes ?? [];
  const delay = attributes.find((a) => a.Key === "deregistration_delay.timeout_seconds")?.Value;
  return {
    arn,
    arnSuffix: arn.slice(arn.indexOf("targetgroup/")),
    name: g.TargetGroupName,
    port: g.Port,
    protocol: g.Protocol,
    protocolVersion: g.ProtocolVersion,
    vpcId: g.VpcId,
    targetType: g.TargetType,
    ipAddressType: g.IpAddressType,
    loadBalancerArns: g.LoadBalancerArns ?? [],
    deregistrationDelay: delay !== undefined ? Number(delay) : 300,
    healthCheck: {
      enabled: g.HealthCheckEnabled ?? true,
      protocol: g.HealthCheckProtocol,
      port: g.HealthCheckPort,
      path: g.HealthCheckPath,
      matcher: g.Matcher?.HttpCode,
      interval: g.HealthCheckIntervalSeconds,
      timeout: g.HealthCheckTimeoutSeconds,
      healthyThreshold: g.HealthyThresholdCount,
      unhealthyThreshold: g.UnhealthyThresholdCount,
    },
    tagsAll: tagsAll(await readElbTags(`ELBv2 Target Group (${arn})`, arn, region)),
    region,
  };
}

const setDelay = (arn: string, region: string, seconds: number) =>
  send(
    `modifying ELBv2 Target Group (${arn}) attributes`,
    elbv2(region),
    new ModifyTargetGroupAttributesCommand({
      TargetGroupArn: arn,
      Attributes: [{ Key: "deregistration_delay.timeout_seconds", Value: String(seconds) }],
    }),
  );

export const targetGroup: ResourceType<TargetGroupInputs, TargetGroupInputs> = {
  inputs: {
    ...regional,
    name: true,
    namePrefix: true,
    port: true,
    protocol: true,
    protocolVersion: true,
    vpcId: true,
    targetType: true,
    ipAddressType: true,
    deregistrationDelay: true,
    healthCheck: [
      "enabled",
      "protocol",
      "port",
      "path",
      "matcher",
      "interval",
      "timeout",
      "healthyThreshold",
      "unhealthyThreshold",
    ],
    tags: true,
  },
  outputs: [
    "arn",
    "arnSuffix",
    "name",
    "port",
    "protocol",
    "protocolVersion",
    "vpcId",
    "targetType",
    "ipAddressType",
    "loadBalancerArns",
    "deregistrationDelay",
    "healthCheck",
    "tagsAll",
    "region",
  ],
  replaceOnChanges: [
    "name",
    "namePrefix",
    "port",
    "protocol",
    "protocolVersion",
    "vpcId",
    "targetType",
    "ipAddressType",
    "region",
  ],
  check(news, olds, name) {
    if (news.name != null && news.namePrefix != null) throw new Error('"name": conflicts with namePrefix');
    return autoName(news, olds, name, { prefixKey: "namePrefix", maxLength: 32 });
  },
  async create(i) {
    const region = regionOf(i);
    const name = nameOrPrefixed(i.name, i.namePrefix, "tf-");
    const created = await send(
      `creating ELBv2 Target Group (${name})`,
      elbv2(region),
      new CreateTargetGroupCommand({
        Name: name,
        Port: i.port,
        Protocol: i.protocol as ProtocolEnum,
        ProtocolVersion: i.protocolVersion,
        VpcId: i.vpcId,
        TargetType: (i.targetType ?? "instance") as TargetTypeEnum,
        IpAddressType: i.ipAddressType as "ipv4",
        ...healthCheckRequest(i.healthCheck),
        Tags: i.tags && Object.keys(i.tags).length > 0 ? tagList(i.tags) : undefined,
      }),
    );
    const arn = created.TargetGroups![0].TargetGroupArn!;
    if (i.deregistrationDelay !== undefined) await setDelay(arn, region, i.deregistrationDelay);
    return { id: arn, outs: await describeGroup(arn, region) };
  },
  async update(arn, olds, news) {
    const region = regionOf(news);
    if (!isDeepStrictEqual(olds.healthCheck, news.healthCheck) && news.healthCheck)
      await send(
        `modifying ELBv2 Target Group (${arn})`,
        elbv2(region),
        new ModifyTargetGroupCommand({ TargetGroupArn: arn, ...healthCheckRequest(news.healthCheck) }),
      );
    if (olds.deregistrationDelay !== news.deregistrationDelay)
      await setDelay(arn, region, news.deregistrationDelay ?? 300);
    await updateElbTags(`ELBv2 Target Group (${arn})`, arn, region, olds.tags, news.tags);
    return describeGroup(arn, region);
  },
  async delete(arn, state) {
    await deleteIgnoringNotFound(["TargetGroupNotFound"], () =>
      retryWhile(
        ["ResourceInUse"],
        () =>
          send(
            `deleting ELBv2 Target Group (${arn})`,
            elbv2(regionOf(state)),
            new DeleteTargetGroupCommand({ TargetGroupArn: arn }),
          ),
        120_000,
      ),
    );
  },
  read: (arn, state) => describeGroup(arn, regionOf(state)),
};

interface AttachmentInputs extends Regional {
  targetGroupArn: string;
  targetId: string;
  port?: number;
  availabilityZone?: string;
}

const targetOf = (i: AttachmentInputs) => ({
  Id: i.targetId,
  Port: i.port,
  AvailabilityZone: i.availabilityZone,
});

export const targetGroupAttachment: ResourceType<AttachmentInputs, AttachmentInputs> = {
  inputs: { ...regional, targetGroupArn: true, targetId: true, port: true, availabilityZone: true },
  outputs: ["region"],
  replaceOnChanges: ["targetGroupArn", "targetId", "port", "availabilityZone", "region"],
  async create(i) {
    const region = regionOf(i);
    await send(
      `registering ELBv2 Target Group (${i.targetGroupArn}) target`,
      elbv2(region),
      new RegisterTargetsCommand({
        TargetGroupArn: i.targetGroupArn,
        Targets: [targetOf(i)],
      }),
    );
    return { id: prefixedUniqueId(`${i.targetGroupArn}-`), outs: { region } };
  },
  async delete(_id, state) {
    await deleteIgnoringNotFound(["TargetGroupNotFound", "InvalidTarget"], () =>
      send(
        `deregistering ELBv2 Target Group (${state.targetGroupArn}) target (${state.targetId})`,
        elbv2(regionOf(state)),
        new DeregisterTargetsCommand({
          TargetGroupArn: state.targetGroupArn,
          Targets: [targetOf(state)],
        }),
      ),
    );
  },
  async read(_id, state) {
    const region = regionOf(state);
    try {
      const health = await send(
        `reading ELBv2 Target Group (${state.targetGroupArn}) targets`,
        elbv2(region),
        new DescribeTargetHealthCommand({
          TargetGroupArn: state.targetGroupArn,
          Targets: [targetOf(state)],
        }),
      );
      const found = health.TargetHealthDescriptions?.find(
        (d) => d.Target?.Id === state.targetId && d.TargetHealth?.Reason !== "Target.NotRegistered",
      );
      return found ? { region } : undefined;
    } catch (err) {
      if (isCode(err, "TargetGroupNotFound", "InvalidTarget")) return undefined;
      throw err;
    }
  },
};
