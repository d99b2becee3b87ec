/**
 * The VPC of an `aws` environment: per availability zone one public subnet (load balancer,
 * master, NAT gateway) and one private subnet (minions, no public addresses) whose egress
 * goes through NAT — one gateway per zone, or a single one for all zones.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AwsSpec } from "../config/spec";

export interface AwsNetwork {
  readonly vpc: aws.ec2.Vpc;
  readonly publicSubnets: aws.ec2.Subnet[];
  readonly privateSubnets: aws.ec2.Subnet[];
  readonly natGateways: aws.ec2.NatGateway[];
}

/** Zone letter of `eu-west-1a` → `a`: stable resource names per zone. */
const zoneSuffix = (zone: string) => zone.slice(-1);

export function createNetwork(
  name: string,
  spec: AwsSpec,
  tags: (suffix: string) => Record<string, string>,
  parent: pulumi.Resource,
): AwsNetwork {
  const opts = { parent };
  const vpc = new aws.ec2.Vpc(
    `${name}-vpc`,
    { cidrBlock: spec.vpcCidr, enableDnsHostnames: true, enableDnsSupport: true, tags: tags("vpc") },
    opts,
  );
  const gateway = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: tags("igw") }, opts);
  const publicRoutes = new aws.ec2.RouteTable(
    `${name}-routes`,
    { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: gateway.id }], tags: tags("public") },
    opts,
  );
  const publicSubnets = spec.availabilityZones.map((zone, i) => {
    const z = zoneSuffix(zone);
    const subnet = new aws.ec2.Subnet(
      `${name}-public-${z}`,
      {
        vpcId: vpc.id,
        cidrBlock: spec.publicSubnetCidrs[i],
        availabilityZone: zone,
        // Only the master asks for a public address (the load balancer and NAT have their own).
        mapPublicIpOnLaunch: false,
        tags: tags(`public-${z}`),
      },
      opts,
    );
    new aws.ec2.RouteTableAssociation(
      `${name}-public-${z}`,
      { subnetId: subnet.id, routeTableId: publicRoutes.id },
      opts,
    );
    return subnet;
  });
  const natZones = spec.natGateways === "perAz" ? spec.availabilityZones : spec.availabilityZones.slice(0, 1);
  const natGateways = natZones.map((zone, i) => {
    const z = zoneSuffix(zone);
    const eip = new aws.ec2.Eip(`${name}-nat-${z}`, { domain: "vpc", tags: tags(`nat-${z}`) }, opts);
    return new aws.ec2.NatGateway(
      `${name}-nat-${z}`,
      { allocationId: eip.id, subnetId: publicSubnets[i].id, tags: tags(`nat-${z}`) },
      { parent, dependsOn: [gateway] },
    );
  });
  const privateSubnets = spec.availabilityZones.map((zone, i) => {
    const z = zoneSuffix(zone);
    const subnet = new aws.ec2.Subnet(
      `${name}-private-${z}`,
      {
        vpcId: vpc.id,
        cidrBlock: spec.privateSubnetCidrs[i],
        availabilityZone: zone,
        mapPublicIpOnLaunch: false,
        tags: tags(`private-${z}`),
      },
      opts,
    );
    const nat = natGateways[Math.min(i, natGateways.length - 1)];
    const routes = new aws.ec2.RouteTable(
      `${name}-private-${z}`,
      {
        vpcId: vpc.id,
        routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }],
        tags: tags(`private-${z}`),
      },
      opts,
    );
    new aws.ec2.RouteTableAssociation(
      `${name}-private-${z}`,
      { subnetId: subnet.id, routeTableId: routes.id },
      opts,
    );
    return subnet;
  });
  return { vpc, publicSubnets, privateSubnets, natGateways };
}
