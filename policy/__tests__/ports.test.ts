import { UnknownValueError } from "@pulumi/policy";
import { saltPortsNotPublic } from "../ports";
import { UNKNOWN, resourceViolations } from "./harness";

const SG = "aws:ec2/securityGroup:SecurityGroup";
const SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
const VPC_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";

const check = (type: string, props: Record<string, unknown>, config?: object) =>
  resourceViolations(saltPortsNotPublic, { type, props, config });

const tcp = (fromPort: number, toPort: number, cidrBlocks: string[], ipv6CidrBlocks?: string[]) => ({
  protocol: "tcp",
  fromPort,
  toPort,
  cidrBlocks,
  ipv6CidrBlocks,
});

describe("salt-ports-not-public", () => {
  test("a security group as saltpipe builds it passes: Salt from the VPC, SSH from admins, app public", async () => {
    const ingress = [
      tcp(22, 22, ["198.51.100.0/24"]),
      tcp(4505, 4505, ["10.42.0.0/16"]),
      tcp(4506, 4506, ["10.42.0.0/16"]),
      tcp(80, 80, ["0.0.0.0/0"], ["::/0"]),
    ];
    expect(await check(SG, { ingress, egress: [{ protocol: "-1", cidrBlocks: ["0.0.0.0/0"] }] })).toEqual([]);
  });

  test.each([
    ["SSH to IPv4 anywhere", tcp(22, 22, ["0.0.0.0/0"]), ["port 22 (SSH) to 0.0.0.0/0"]],
    ["Salt publish to IPv6 anywhere", tcp(4505, 4505, [], ["::/0"]), ["port 4505 (Salt publish) to ::/0"]],
    [
      "a range covering both Salt ports",
      tcp(4000, 5000, ["0.0.0.0/0"]),
      ["4505 (Salt publish)", "4506 (Salt return)"],
    ],
    ["salt-api", tcp(8000, 8000, ["0.0.0.0/0"]), ["port 8000 (salt-api)"]],
    ["the hook proxy", tcp(8443, 8443, ["0.0.0.0/0"]), ["port 8443 (hook proxy)"]],
  ])("a security group opening %s fails", async (_what, rule, expected) => {
    const found = await check(SG, { ingress: [rule] });
    expect(found).toHaveLength(expected.length);
    expected.forEach((text, i) => expect(found[i]).toContain(text));
  });

  test("an all-protocols rule from anywhere opens every guarded port; UDP and ICMP open none", async () => {
    expect(
      await check(SG, { ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }] }),
    ).toHaveLength(5);
    const other = [
      { protocol: "udp", fromPort: 0, toPort: 65535, cidrBlocks: ["0.0.0.0/0"] },
      { protocol: "icmp", fromPort: -1, toPort: -1, cidrBlocks: ["0.0.0.0/0"] },
    ];
    expect(await check(SG, { ingress: other })).toEqual([]);
  });

  test("standalone security group rules: ingress is checked, egress is not", async () => {
    expect(await check(SG_RULE, { type: "ingress", ...tcp(22, 22, ["0.0.0.0/0"]) })).toHaveLength(1);
    expect(await check(SG_RULE, { type: "ingress", ...tcp(22, 22, ["203.0.113.7/32"]) })).toEqual([]);
    expect(await check(SG_RULE, { type: "egress", ...tcp(22, 22, ["0.0.0.0/0"]) })).toEqual([]);
  });

  test("VPC ingress rules: per-address rules, all-traffic rules without ports", async () => {
    const rule = (ipProtocol: string, extra: object) => ({ ipProtocol, securityGroupId: UNKNOWN, ...extra });
    expect(
      await check(VPC_RULE, rule("tcp", { fromPort: 4506, toPort: 4506, cidrIpv4: "0.0.0.0/0" })),
    ).toHaveLength(1);
    expect(await check(VPC_RULE, rule("-1", { cidrIpv6: "::/0" }))).toHaveLength(5);
    expect(
      await check(VPC_RULE, rule("tcp", { fromPort: 4506, toPort: 4506, cidrIpv4: "10.42.0.0/16" })),
    ).toEqual([]);
  });

  test("the guarded ports follow the policy config (a stack with a moved publish port)", async () => {
    const ingress = [tcp(14505, 14505, ["0.0.0.0/0"])];
    expect(await check(SG, { ingress })).toEqual([]);
    expect(await check(SG, { ingress }, { ports: [14505] })).toEqual([
      "ingress opens port 14505 (guarded port) to 0.0.0.0/0; allow known CIDRs only",
    ]);
  });

  test("a rule whose sources are not known yet cannot be judged in a preview (the SDK reports that)", async () => {
    await expect(
      check(SG_RULE, { type: "ingress", ...tcp(22, 22, []), cidrBlocks: UNKNOWN }),
    ).rejects.toThrow(UnknownValueError);
  });
});
