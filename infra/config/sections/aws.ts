/**
 * `saltpipe:aws`: region, zones and network, the load balancer's certificate, instances and
 * their images, and what prod protects.
 */
import * as c from "../checks";
import { DEFAULTS, defaultSubnetCidrs } from "../defaults";
import { AWS_KEYS, OS_NAMES } from "../keys";
import type { AwsSpec } from "../spec";

const ZONE = { pattern: /^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, hint: "an availability zone such as eu-west-1a" };
const CERTIFICATE_ARN = {
  pattern: /^arn:aws[a-z-]*:acm:[a-z]{2}(-[a-z]+)+-\d:\d{12}:certificate\/[A-Za-z0-9-]+$/,
  hint: "an ACM certificate ARN such as arn:aws:acm:eu-west-1:123456789012:certificate/…",
};
/** Keys the validator recognises but does not accept, each with what to write in their place. */
const REPLACED_AWS_KEYS: Readonly<Record<string, string>> = {
  availabilityZone: "was replaced by aws.availabilityZones (a list of at least 2 zones)",
  subnetCidr: "was replaced by aws.publicSubnetCidrs and aws.privateSubnetCidrs (one per zone)",
};

export function parseAws(p: c.Problems, value: unknown, stack: string): AwsSpec {
  const d = DEFAULTS.aws;
  const raw = c.isObject(value) ? { ...value } : value;
  if (c.isObject(raw)) {
    for (const [key, message] of Object.entries(REPLACED_AWS_KEYS)) {
      if (raw[key] !== undefined) p.add(`aws.${key}`, message);
      delete raw[key];
    }
  }
  const s = c.object(p, "aws", raw, AWS_KEYS);
  const region = c.string(p, "aws.region", s.region, {
    pattern: /^[a-z]{2}(-[a-z]+)+-\d$/,
    hint: "an AWS region such as eu-west-1",
  });
  const amis = c.object(p, "aws.amis", s.amis, OS_NAMES);
  const instanceType = { pattern: /^[a-z][a-z0-9-]*\.[a-z0-9]+$/, hint: "an instance type such as t3.small" };
  const zones = c
    .stringList(
      p,
      "aws.availabilityZones",
      s.availabilityZones,
      d.zoneSuffixes.map((z) => `${region}${z}`),
    )
    .map((zone, i) => c.string(p, `aws.availabilityZones[${i}]`, zone, ZONE));
  if (zones.length < 2)
    p.add(
      "aws.availabilityZones",
      `lists ${zones.length} zone(s): at least 2 are needed (the load balancer spans them)`,
    );
  if (new Set(zones).size !== zones.length) p.add("aws.availabilityZones", "lists a zone twice");
  zones.forEach((zone, i) => {
    if (region && zone && !zone.startsWith(region))
      p.add(`aws.availabilityZones[${i}]`, `${zone} is not in aws.region ${region}`);
  });
  const vpcCidr = s.vpcCidr === undefined ? d.vpcCidr : c.cidr(p, "aws.vpcCidr", s.vpcCidr);
  const derived = defaultSubnetCidrs(vpcCidr, zones.length);
  const subnets = (key: "publicSubnetCidrs" | "privateSubnetCidrs", fallback: string[] | undefined) => {
    if (s[key] === undefined && fallback === undefined) {
      p.add(
        `aws.${key}`,
        `is required: aws.vpcCidr ${vpcCidr} is too small for default /24 subnets (use /20 or larger, or list the subnets)`,
      );
      return [];
    }
    const list =
      s[key] === undefined
        ? fallback!
        : Array.isArray(s[key])
          ? (s[key] as unknown[]).map((v, i) => c.cidr(p, `aws.${key}[${i}]`, v))
          : (p.add(`aws.${key}`, `expected a list of CIDRs, got ${JSON.stringify(s[key])}`), []);
    if (s[key] !== undefined && list.length !== zones.length)
      p.add(
        `aws.${key}`,
        `lists ${list.length} subnet(s) for ${zones.length} availability zones (one per zone)`,
      );
    list.forEach((cidr, i) => checkSubnetInVpc(p, `aws.${key}[${i}]`, vpcCidr, cidr));
    return list;
  };
  const publicSubnetCidrs = subnets("publicSubnetCidrs", derived?.public);
  const privateSubnetCidrs = subnets("privateSubnetCidrs", derived?.private);
  const all = [...publicSubnetCidrs, ...privateSubnetCidrs];
  if (new Set(all).size !== all.length)
    p.add("aws", "publicSubnetCidrs and privateSubnetCidrs must all differ");
  const certificateArn = c.optionalString(p, "aws.certificateArn", s.certificateArn, CERTIFICATE_ARN);
  const allowPlainHttp = c.boolean(p, "aws.allowPlainHttp", s.allowPlainHttp, false);
  if (stack === "prod" && certificateArn === undefined && !allowPlainHttp) {
    p.add(
      "aws.certificateArn",
      "is required on prod: the load balancer serves HTTPS with it (plain HTTP on prod only with aws.allowPlainHttp: true)",
    );
  }
  const spec: AwsSpec = {
    region,
    availabilityZones: zones,
    vpcCidr,
    publicSubnetCidrs,
    privateSubnetCidrs,
    natGateways: c.oneOf(
      p,
      "aws.natGateways",
      s.natGateways,
      ["perAz", "single"],
      stack === "prod" ? "perAz" : "single",
    ),
    certificateArn,
    allowPlainHttp,
    masterInstanceType: c.string(p, "aws.masterInstanceType", s.masterInstanceType, {
      default: d.instanceType,
      ...instanceType,
    }),
    minionInstanceType: c.string(p, "aws.minionInstanceType", s.minionInstanceType, {
      default: d.instanceType,
      ...instanceType,
    }),
    rootVolumeGb: c.integer(p, "aws.rootVolumeGb", s.rootVolumeGb, {
      default: d.rootVolumeGb,
      min: 8,
      max: 16384,
    }),
    amis: Object.fromEntries(
      Object.entries(amis).map(([os, ami]) => [
        os,
        c.string(p, `aws.amis.${os}`, ami, {
          pattern: /^ami-[0-9a-f]{8,17}$/,
          hint: "an AMI id such as ami-0abc1234",
        }),
      ]),
    ),
    terminationProtection: c.boolean(
      p,
      "aws.terminationProtection",
      s.terminationProtection,
      stack === "prod",
    ),
  };
  return spec;
}

function checkSubnetInVpc(p: c.Problems, key: string, vpc: string, subnet: string): void {
  const parse = (text: string) => {
    const [ip, bits] = text.split("/");
    return { n: ip.split(".").reduce((a, o) => a * 256 + Number(o), 0), bits: Number(bits) };
  };
  const v = parse(vpc);
  const s = parse(subnet);
  const size = 2 ** (32 - v.bits);
  if (s.bits < v.bits || s.n - (s.n % size) !== v.n) {
    p.add(key, `${subnet} is not inside aws.vpcCidr ${vpc}`);
  }
}
