/**
 * `aws:lb/loadBalancer:LoadBalancer`, as terraform-provider-aws
 * internal/service/elbv2/load_balancer.go makes one: ForceNew `name`, `namePrefix`,
 * `internal`, `loadBalancerType` (default application), `customerOwnedIpv4Pool`; subnets,
 * security groups, IP address type, attributes (drop invalid header fields, idle timeout,
 * HTTP/2, deletion protection) and tags change in place; create waits until `active`. A
 * `namePrefix` name is the prefix and a unique id; without either, Pulumi's auto-name (32
 * characters at most). The v7 `region` replaces.
 *
 * Beyond the emulator (moto accepts one subnet): an application load balancer's subnets must
 * span at least two availability zones, read from the subnets themselves, failing as AWS
 * fails (ValidationError).
 */
import {
  CreateLoadBalancerCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  ModifyLoadBalancerAttributesCommand,
  SetIpAddressTypeCommand,
  SetSecurityGroupsCommand,
  SetSubnetsCommand,
  type LoadBalancerTypeEnum,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { DescribeSubnetsCommand } from "@aws-sdk/client-ec2";
import { isDeepStrictEqual } from "node:util";
import type { ResourceType } from "../../lib/provider";
import { ec2, elbv2, isCode, refusal, send, waitFor } from "../clients";
import { deleteIgnoringNotFound, regional, regionOf, type Regional } from "../common";
import { autoName, nameOrPrefixed } from "../naming";
import { tagList, tagsAll } from "../tags";
import { readElbTags, updateElbTags } from "./tags";

interface LoadBalancerInputs extends Regional {
  name?: string;
  namePrefix?: string;
  loadBalancerType?: string;
  internal?: boolean;
  subnets?: string[];
  securityGroups?: string[];
  ipAddressType?: string;
  dropInvalidHeaderFields?: boolean;
  idleTimeout?: number;
  enableHttp2?: boolean;
  enableDeletionProtection?: boolean;
}

/** The inputs that are load balancer attributes, with the attribute key and the provider's default. */
const ATTRIBUTES: [keyof LoadBalancerInputs, string, string][] = [
  ["dropInvalidHeaderFields", "routing.http.drop_invalid_header_fields.enabled", "false"],
  ["idleTimeout", "idle_timeout.timeout_seconds", "60"],
  ["enableHttp2", "routing.http2.enabled", "true"],
  ["enableDeletionProtection", "deletion_protection.enabled", "false"],
];

async function requireTwoZones(
  what: string,
  operation: string,
  type: string,
  subnets: string[] | undefined,
  region: string,
) {
  if (type !== "application" || !subnets) return;
  const found =
    (
      await send(
        `reading subnets of ${what}`,
        ec2(region),
        new DescribeSubnetsCommand({ SubnetIds: subnets }),
      )
    ).Subnets ?? [];
  if (new Set(found.map((s) => s.AvailabilityZone)).size >= 2) return;
  const message = "At least two subnets in two different Availability Zones must be specified";
  throw refusal(what, "Elastic Load Balancing v2", operation, "ValidationError", message);
}

async function findLb(arn: string, region: string) {
  try {
    return (
      await send(
        `reading ELBv2 Load Balancer (${arn})`,
        elbv2(region),
        new DescribeLoadBalancersCommand({ LoadBalancerArns: [arn] }),
      )
    ).LoadBalancers?.[0];
  } catch (err) {
    if (isCode(err, "LoadBalancerNotFound")) return undefined;
    throw err;
  }
}

async function describeLb(arn: string, region: string) {
  const lb = await findLb(arn, region);
  if (!lb) return undefined;
  const attributes = new Map(
    (
      (
        await send(
          `reading ELBv2 Load Balancer (${arn}) attributes`,
          elbv2(region),
          new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: arn }),
        )
      ).Attributes ?? []
    ).map((a) => [a.Key!, a.Value!]),
  );
  const attr = (key: string, fallback: string) => attributes.get(key) ?? fallback;
  return {
    arn,
    arnSuffix: arn.split(":loadbalancer/")[1],
    name: lb.LoadBalancerName,
    dnsName: lb.DNSName,
    zoneId: lb.CanonicalHostedZoneId,
    vpcId: lb.VpcId,
    internal: lb.Scheme === "internal",
    loadBalancerType: lb.Type,
    ipAddressType: lb.IpAddressType,
    subnets: (lb.AvailabilityZones ?? []).map((z) => z.SubnetId!),
    securityGroups: lb.SecurityGroups ?? [],
    dropInvalidHeaderFields: attr("routing.http.drop_invalid_header_fields.enabled", "false") === "true",
    idleTimeout: Number(attr("idle_timeout.timeout_seconds", "60")),
    enableHttp2: attr("routing.http2.enabled", "true") === "true",
    enableDeletionProtection: attr("deletion_protection.enabled", "false") === "true",
    tagsAll: tagsAll(await readElbTags(`ELBv2 Load Balancer (${arn})`, arn, region)),
    region,
  };
}

async function setAttributes(
  arn: string,
  region: string,
  olds: LoadBalancerInputs | undefined,
  news: LoadBalancerInputs,
) {
  const changes = ATTRIBUTES.filter(([k]) => news[k] !== undefined && (!olds || olds[k] !== news[k]));
  if (changes.length === 0) return;
  await send(
    `modifying ELBv2 Load Balancer (${arn}) attributes`,
    elbv2(region),
    new ModifyLoadBalancerAttributesCommand({
      LoadBalancerArn: arn,
      Attributes: changes.map(([k, Key]) => ({ Key, Value: String(news[k]) })),
    }),
  );
}

export const loadBalancer: ResourceType<LoadBalancerInputs, LoadBalancerInputs> = {
  inputs: {
    ...regional,
    name: true,
    namePrefix: true,
    loadBalancerType: true,
    internal: true,
    subnets: true,
    securityGroups: true,
    ipAddressType: true,
    dropInvalidHeaderFields: true,
    idleTimeout: true,
    enableHttp2: true,
    enableDeletionProtection: true,
    tags: true,
  },
  outputs: [
    "arn",
    "arnSuffix",
    "name",
    "dnsName",
    "zoneId",
    "vpcId",
    "internal",
    "loadBalancerType",
    "ipAddressType",
    "subnets",
    "securityGroups",
    "dropInvalidHeaderFields",
    "idleTimeout",
    "enableHttp2",
    "enableDeletionProtection",
    "tagsAll",
    "region",
  ],
  replaceOnChanges: ["name", "namePrefix", "internal", "loadBalancerType", "region"],
  check(news, olds, name) {
    if (news.name != null && news.namePrefix != null) throw new Error('"name": conflicts with namePrefix');
    return autoName(news, olds, name, { prefixKey: "namePrefix", maxLength: 32 });
  },
  async create(i) {
    const region = regionOf(i);
    const type = i.loadBalancerType ?? "application";
    const name = nameOrPrefixed(i.name, i.namePrefix, "tf-lb-");
    const what = `creating ELBv2 ${type} Load Balancer (${name})`;
    await requireTwoZones(what, "CreateLoadBalancer", type, i.subnets, region);
    const created = await send(
      what,
      elbv2(region),
      new CreateLoadBalancerCommand({
        Name: name,
        Type: type as LoadBalancerTypeEnum,
        Scheme: i.internal ? "internal" : "internet-facing",
        Subnets: i.subnets,
        SecurityGroups: i.securityGroups,
        IpAddressType: i.ipAddressType as "ipv4",
        Tags: i.tags && Object.keys(i.tags).length > 0 ? tagList(i.tags) : undefined,
      }),
    );
    const arn = created.LoadBalancers![0].LoadBalancerArn!;
    await waitFor(
      `ELBv2 Load Balancer (${arn}) create`,
      () => findLb(arn, region),
      (lb) => lb?.State?.Code !== "provisioning",
      600_000,
    );
    await setAttributes(arn, region, undefined, i);
    return { id: arn, outs: await describeLb(arn, region) };
  },
  async update(arn, olds, news) {
    const region = regionOf(news);
    const client = elbv2(region);
    if (!isDeepStrictEqual(olds.subnets, news.subnets) && news.subnets) {
      const what = `modifying ELBv2 Load Balancer (${arn}) subnets`;
      await requireTwoZones(what, "SetSubnets", news.loadBalancerType ?? "application", news.subnets, region);
      await send(what, client, new SetSubnetsCommand({ LoadBalancerArn: arn, Subnets: news.subnets }));
    }
    if (!isDeepStrictEqual(olds.securityGroups, news.securityGroups) && news.securityGroups)
      await send(
        `modifying ELBv2 Load Balancer (${arn}) security groups`,
        client,
        new SetSecurityGroupsCommand({ LoadBalancerArn: arn, SecurityGroups: news.securityGroups }),
      );
    if (olds.ipAddressType !== news.ipAddressType && news.ipAddressType)
      await send(
        `modifying ELBv2 Load Balancer (${arn}) IP address type`,
        client,
        new SetIpAddressTypeCommand({ LoadBalancerArn: arn, IpAddressType: news.ipAddressType as "ipv4" }),
      );
    await setAttributes(arn, region, olds, news);
    await updateElbTags(`ELBv2 Load Balancer (${arn})`, arn, region, olds.tags, news.tags);
    return describeLb(arn, region);
  },
  async delete(arn, state) {
    const region = regionOf(state);
    await deleteIgnoringNotFound(["LoadBalancerNotFound"], () =>
      send(
        `deleting ELBv2 Load Balancer (${arn})`,
        elbv2(region),
        new DeleteLoadBalancerCommand({ LoadBalancerArn: arn }),
      ),
    );
    await waitFor(
      `ELBv2 Load Balancer (${arn}) delete`,
      () => findLb(arn, region),
      (lb) => !lb,
      600_000,
    );
  },
  read: (arn, state) => describeLb(arn, regionOf(state)),
};
