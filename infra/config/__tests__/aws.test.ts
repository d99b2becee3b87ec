/** `aws`: region, zones, network, the load balancer's certificate, instance images. */
import { CERTIFICATE, parse, problemsOf, prodAws, validAws } from "./helpers";

describe("aws: bad values name the key", () => {
  test.each([
    [
      "bad region",
      { aws: { region: "europe" } },
      'aws.region: invalid value "europe" (an AWS region such as eu-west-1)',
    ],
    [
      "subnet outside the VPC",
      { aws: { region: "eu-west-1", privateSubnetCidrs: ["10.42.8.0/24", "10.9.0.0/24"] } },
      "aws.privateSubnetCidrs[1]: 10.9.0.0/24 is not inside aws.vpcCidr 10.42.0.0/16",
    ],
    [
      "a key of an earlier release",
      { aws: { region: "eu-west-1", availabilityZone: "eu-west-1a" } },
      "aws.availabilityZone: was replaced by aws.availabilityZones (a list of at least 2 zones)",
    ],
    [
      "one zone",
      { aws: { region: "eu-west-1", availabilityZones: ["eu-west-1a"] } },
      "aws.availabilityZones: lists 1 zone(s): at least 2 are needed (the load balancer spans them)",
    ],
    [
      "a zone of another region",
      { aws: { region: "eu-west-1", availabilityZones: ["eu-west-1a", "us-east-1b"] } },
      "aws.availabilityZones[1]: us-east-1b is not in aws.region eu-west-1",
    ],
    [
      "a subnet per zone",
      { aws: { region: "eu-west-1", publicSubnetCidrs: ["10.42.1.0/24"] } },
      "aws.publicSubnetCidrs: lists 1 subnet(s) for 2 availability zones (one per zone)",
    ],
    [
      "a VPC too small for default subnets",
      { aws: { region: "eu-west-1", vpcCidr: "10.42.0.0/24" } },
      "aws.publicSubnetCidrs: is required: aws.vpcCidr 10.42.0.0/24 is too small for default /24 subnets (use /20 or larger, or list the subnets)",
    ],
    [
      "bad NAT choice",
      { aws: { region: "eu-west-1", natGateways: "none" } },
      expect.stringMatching(/^aws\.natGateways: invalid value "none"/),
    ],
    [
      "bad certificate ARN",
      { aws: { region: "eu-west-1", certificateArn: "my-cert" } },
      expect.stringMatching(/^aws\.certificateArn: invalid value "my-cert" \(an ACM certificate ARN/),
    ],
    [
      "bad AMI",
      { aws: { region: "eu-west-1", amis: { ubuntu: "ubuntu-24" } } },
      'aws.amis.ubuntu: invalid value "ubuntu-24" (an AMI id such as ami-0abc1234)',
    ],
  ])("%s", (_name, override, expected) => {
    expect(problemsOf({ ...validAws(), ...override })).toContainEqual(expected);
  });
});

describe("aws: load balancer and network", () => {
  test("prod needs a certificate, or plain HTTP explicitly allowed", () => {
    expect(problemsOf(validAws(), "prod")).toEqual([
      "aws.certificateArn: is required on prod: the load balancer serves HTTPS with it (plain HTTP on prod only with aws.allowPlainHttp: true)",
    ]);
    const plain = parse({ ...validAws(), aws: { region: "eu-west-1", allowPlainHttp: true } }, "prod");
    expect(plain.aws).toMatchObject({
      certificateArn: undefined,
      allowPlainHttp: true,
      natGateways: "perAz",
    });
    const https = parse({ ...validAws(), ...prodAws }, "prod");
    expect(https.aws).toMatchObject({ certificateArn: CERTIFICATE, natGateways: "perAz" });
  });

  test("zones, subnets and NAT can be set; subnets follow the zones", () => {
    const spec = parse({
      ...validAws(),
      aws: {
        region: "eu-west-1",
        availabilityZones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
        vpcCidr: "10.7.0.0/20",
        natGateways: "perAz",
      },
    });
    expect(spec.aws).toMatchObject({
      publicSubnetCidrs: ["10.7.1.0/24", "10.7.2.0/24", "10.7.3.0/24"],
      privateSubnetCidrs: ["10.7.9.0/24", "10.7.10.0/24", "10.7.11.0/24"],
      natGateways: "perAz",
    });
  });
});
