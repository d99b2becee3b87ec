/**
 * No security-group ingress opens SSH, Salt's publish/return ports, salt-api or the hook proxy to the
 * whole internet (`0.0.0.0/0`, `::/0`). A port range or an all-protocols rule that covers one counts.
 */
import type { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";

/** Default guarded TCP ports and what listens there. */
export const GUARDED_PORTS: Readonly<Record<number, string>> = {
  22: "SSH",
  4505: "Salt publish",
  4506: "Salt return",
  8000: "salt-api",
  8443: "hook proxy",
};
const DEFAULT_PORTS = Object.keys(GUARDED_PORTS).map(Number);

/** One ingress permission, normalised from the three AWS resource shapes. */
interface Ingress {
  readonly protocol: string;
  readonly fromPort?: number;
  readonly toPort?: number;
  readonly cidrs: readonly string[];
}

/** Resource inputs as the SDK hands them over. */
type Props = ResourceValidationArgs["props"];

const cidrsOf = (...lists: (string | string[] | undefined)[]): string[] =>
  lists.flat().filter((c): c is string => typeof c === "string");

/** A rule's ports and sources; only these fields are read (others may be unknown during a preview). */
function ingress(protocol: string, props: Props, cidrs: string[]): Ingress {
  return { protocol, fromPort: props.fromPort, toPort: props.toPort, cidrs };
}

/** The ingress permissions a resource grants (none for other types and for egress rules). */
function ingressOf(type: string, props: Props): Ingress[] {
  switch (type) {
    case "aws:ec2/securityGroup:SecurityGroup":
      return ((props.ingress ?? []) as Props[]).map((rule) =>
        ingress(rule.protocol, rule, cidrsOf(rule.cidrBlocks, rule.ipv6CidrBlocks)),
      );
    case "aws:ec2/securityGroupRule:SecurityGroupRule":
      if (props.type !== "ingress") return [];
      return [ingress(props.protocol, props, cidrsOf(props.cidrBlocks, props.ipv6CidrBlocks))];
    case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
      return [ingress(props.ipProtocol, props, cidrsOf(props.cidrIpv4, props.cidrIpv6))];
    default:
      return [];
  }
}

/** Whether the rule lets TCP `port` in: `-1`/`all` means every protocol and port; missing ports mean all. */
function covers(rule: Ingress, port: number): boolean {
  const protocol = String(rule.protocol).toLowerCase();
  if (protocol === "-1" || protocol === "all") return true;
  if (protocol !== "tcp" && protocol !== "6") return false;
  return (rule.fromPort ?? 0) <= port && port <= (rule.toPort ?? 65535);
}

/** `0.0.0.0/0`, `::/0` (and any other zero-length prefix). */
const isAnywhere = (cidr: string) => /\/0$/.test(cidr.trim());

export const saltPortsNotPublic: ResourceValidationPolicy = {
  name: "salt-ports-not-public",
  description:
    "No security-group rule opens SSH, Salt (4505/4506), salt-api or the hook port to 0.0.0.0/0 or ::/0.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      ports: { type: "array", items: { type: "integer" }, default: DEFAULT_PORTS },
    },
  },
  validateResource: (args, reportViolation) => {
    const ports = args.getConfig<{ ports?: number[] }>().ports ?? DEFAULT_PORTS;
    for (const rule of ingressOf(args.type, args.props)) {
      const open = rule.cidrs.filter(isAnywhere);
      if (open.length === 0) continue;
      for (const port of ports.filter((p) => covers(rule, p))) {
        const what = GUARDED_PORTS[port] ?? "guarded port";
        reportViolation(`ingress opens port ${port} (${what}) to ${open.join(", ")}; allow known CIDRs only`);
      }
    }
  },
};
