/**
 * `aws:ec2/routeTable:RouteTable` (inline `routes`) and
 * `aws:ec2/routeTableAssociation:RouteTableAssociation`.
 *
 * Replacement, from terraform-provider-aws: internal/service/ec2/vpc_route_table.go (ForceNew:
 * `vpc_id`; routes change in place: a new destination is created, a changed target replaced,
 * a dropped destination deleted) and internal/service/ec2/vpc_route_table_association.go
 * (ForceNew: `subnet_id`, `gateway_id`; a new `route_table_id` re-associates in place, which
 * gives the association a new id: kept in the state as `__association`, as the live handle).
 */
import {
  AssociateRouteTableCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  DeleteRouteCommand,
  DeleteRouteTableCommand,
  DescribeRouteTablesCommand,
  DisassociateRouteTableCommand,
  ReplaceRouteCommand,
  ReplaceRouteTableAssociationCommand,
  type Route as Ec2Route,
} from "@aws-sdk/client-ec2";
import type { ResourceType } from "../../lib/provider";
import { ec2, isCode, send } from "../clients";
import { arnOf, deleteIgnoringNotFound, regional, regionOf, retryWhile, type Regional } from "../common";
import { tagMap, tagsAll } from "../tags";
import { tagSpecifications, updateEc2Tags } from "./tags";

/** Route fields: destinations, then targets (the SDK's names). */
const DESTINATIONS = ["cidrBlock", "ipv6CidrBlock"] as const;
const TARGETS = [
  "gatewayId",
  "natGatewayId",
  "egressOnlyGatewayId",
  "networkInterfaceId",
  "transitGatewayId",
  "vpcPeeringConnectionId",
  "vpcEndpointId",
] as const;
type Route = Partial<Record<(typeof DESTINATIONS)[number] | (typeof TARGETS)[number], string>>;

interface RouteTableInputs extends Regional {
  vpcId: string;
  routes?: Route[];
}

const destinationOf = (r: Route) => r.cidrBlock ?? r.ipv6CidrBlock ?? "";
const targetOf = (r: Route) => TARGETS.map((t) => r[t] ?? "").join("|");

/** The API's parameters for a route: DestinationCidrBlock, GatewayId, NatGatewayId, … */
function routeParameters(r: Route) {
  const fields = [...DESTINATIONS, ...TARGETS].filter((k) => r[k]);
  const name = (k: string) =>
    k === "cidrBlock"
      ? "DestinationCidrBlock"
      : k === "ipv6CidrBlock"
        ? "DestinationIpv6CidrBlock"
        : k[0].toUpperCase() + k.slice(1);
  return Object.fromEntries(fields.map((k) => [name(k), r[k]]));
}

function checkRoute(r: Route): void {
  const destinations = DESTINATIONS.filter((k) => r[k]);
  const targets = TARGETS.filter((k) => r[k]);
  if (destinations.length !== 1)
    throw new Error(
      `routes: exactly one of ${DESTINATIONS.join(", ")} must be set (got ${JSON.stringify(r)})`,
    );
  if (targets.length !== 1)
    throw new Error(`routes: exactly one of ${TARGETS.join(", ")} must be set (got ${JSON.stringify(r)})`);
}

const fromApi = (r: Ec2Route): Route =>
  Object.fromEntries(
    Object.entries({
      cidrBlock: r.DestinationCidrBlock,
      ipv6CidrBlock: r.DestinationIpv6CidrBlock,
      gatewayId: r.GatewayId,
      natGatewayId: r.NatGatewayId,
      egressOnlyGatewayId: r.EgressOnlyInternetGatewayId,
      networkInterfaceId: r.NatGatewayId ? undefined : r.NetworkInterfaceId,
      transitGatewayId: r.TransitGatewayId,
      vpcPeeringConnectionId: r.VpcPeeringConnectionId,
    }).filter(([, v]) => v),
  );

async function findTable(id: string, region: string) {
  try {
    return (
      await send(
        `reading Route Table (${id})`,
        ec2(region),
        new DescribeRouteTablesCommand({ RouteTableIds: [id] }),
      )
    ).RouteTables?.[0];
  } catch (err) {
    if (isCode(err, "InvalidRouteTableID.NotFound")) return undefined;
    throw err;
  }
}

async function describeTable(id: string, region: string) {
  const table = await findTable(id, region);
  if (!table) return undefined;
  return {
    arn: arnOf("ec2", region, table.OwnerId!, `route-table/${id}`),
    ownerId: table.OwnerId,
    // The VPC's own `local` route is not one of the resource's routes.
    routes: (table.Routes ?? [])
      .filter((r) => r.GatewayId !== "local" && r.Origin !== "CreateRouteTable")
      .map(fromApi),
    tagsAll: tagsAll(tagMap(table.Tags)),
    region,
  };
}

export const routeTable: ResourceType<RouteTableInputs, RouteTableInputs> = {
  inputs: { ...regional, vpcId: true, routes: [...DESTINATIONS, ...TARGETS], tags: true },
  outputs: ["arn", "ownerId", "routes", "tagsAll", "region"],
  replaceOnChanges: ["vpcId", "region"],
  async create(i) {
    const region = regionOf(i);
    for (const r of i.routes ?? []) checkRoute(r);
    const created = await send(
      "creating Route Table",
      ec2(region),
      new CreateRouteTableCommand({
        VpcId: i.vpcId,
        TagSpecifications: tagSpecifications("route-table", i.tags),
      }),
    );
    const id = created.RouteTable!.RouteTableId!;
    for (const r of i.routes ?? [])
      await send(
        `creating Route in Route Table (${id}) with destination (${destinationOf(r)})`,
        ec2(region),
        new CreateRouteCommand({ RouteTableId: id, ...routeParameters(r) }),
      );
    return { id, outs: await describeTable(id, region) };
  },
  async update(id, olds, news) {
    const region = regionOf(news);
    const before = new Map((olds.routes ?? []).map((r) => [destinationOf(r), r]));
    const after = new Map((news.routes ?? []).map((r) => [destinationOf(r), r]));
    for (const [dest, r] of after) {
      checkRoute(r);
      const old = before.get(dest);
      const what = `Route in Route Table (${id}) with destination (${dest})`;
      if (!old)
        await send(
          `creating ${what}`,
          ec2(region),
          new CreateRouteCommand({ RouteTableId: id, ...routeParameters(r) }),
        );
      else if (targetOf(old) !== targetOf(r))
        await send(
          `updating ${what}`,
          ec2(region),
          new ReplaceRouteCommand({ RouteTableId: id, ...routeParameters(r) }),
        );
    }
    for (const [dest, r] of before) {
      if (after.has(dest)) continue;
      const destination = r.cidrBlock
        ? { DestinationCidrBlock: r.cidrBlock }
        : { DestinationIpv6CidrBlock: r.ipv6CidrBlock };
      await deleteIgnoringNotFound(["InvalidRoute.NotFound"], () =>
        send(
          `deleting Route in Route Table (${id}) with destination (${dest})`,
          ec2(region),
          new DeleteRouteCommand({ RouteTableId: id, ...destination }),
        ),
      );
    }
    await updateEc2Tags("Route Table", id, region, olds.tags, news.tags);
    return describeTable(id, region);
  },
  async delete(id, state) {
    const region = regionOf(state);
    const table = await findTable(id, region);
    if (!table) return;
    for (const a of table.Associations ?? []) {
      if (a.Main) continue;
      await deleteIgnoringNotFound(["InvalidAssociationID.NotFound"], () =>
        send(
          `deleting Route Table (${id})`,
          ec2(region),
          new DisassociateRouteTableCommand({ AssociationId: a.RouteTableAssociationId }),
        ),
      );
    }
    await deleteIgnoringNotFound(["InvalidRouteTableID.NotFound"], () =>
      retryWhile(["DependencyViolation"], () =>
        send(`deleting Route Table (${id})`, ec2(region), new DeleteRouteTableCommand({ RouteTableId: id })),
      ),
    );
  },
  read: (id, state) => describeTable(id, regionOf(state)),
};

interface AssociationInputs extends Regional {
  routeTableId: string;
  subnetId?: string;
  gatewayId?: string;
}
type AssociationState = AssociationInputs & { __association?: string };

async function describeAssociation(id: string, region: string) {
  const tables = (
    await send(
      `reading Route Table Association (${id})`,
      ec2(region),
      new DescribeRouteTablesCommand({
        Filters: [{ Name: "association.route-table-association-id", Values: [id] }],
      }),
    )
  ).RouteTables;
  const a = tables?.flatMap((t) => t.Associations ?? []).find((x) => x.RouteTableAssociationId === id);
  if (!a || a.AssociationState?.State === "disassociated") return undefined;
  return {
    routeTableId: a.RouteTableId,
    subnetId: a.SubnetId,
    gatewayId: a.GatewayId,
    region,
    __association: id,
  };
}

export const routeTableAssociation: ResourceType<AssociationInputs, AssociationState> = {
  inputs: { ...regional, routeTableId: true, subnetId: true, gatewayId: true },
  outputs: ["region"],
  replaceOnChanges: ["subnetId", "gatewayId", "region"],
  check(news) {
    if ((news.subnetId == null) === (news.gatewayId == null))
      throw new Error("exactly one of subnetId, gatewayId must be set");
    return news;
  },
  async create(i) {
    const region = regionOf(i);
    const created = await send(
      `creating Route Table (${i.routeTableId}) Association`,
      ec2(region),
      new AssociateRouteTableCommand({
        RouteTableId: i.routeTableId,
        SubnetId: i.subnetId,
        GatewayId: i.gatewayId,
      }),
    );
    return { id: created.AssociationId!, outs: { region } };
  },
  async update(id, olds, news) {
    const region = regionOf(news);
    const live = olds.__association ?? id;
    const replaced = await send(
      `updating Route Table Association (${live})`,
      ec2(region),
      new ReplaceRouteTableAssociationCommand({ AssociationId: live, RouteTableId: news.routeTableId }),
    );
    return { region, __association: replaced.NewAssociationId };
  },
  async delete(id, state) {
    const live = state.__association ?? id;
    await deleteIgnoringNotFound(["InvalidAssociationID.NotFound"], () =>
      send(
        `deleting Route Table Association (${live})`,
        ec2(regionOf(state)),
        new DisassociateRouteTableCommand({ AssociationId: live }),
      ),
    );
  },
  read: (id, state) => describeAssociation(state.__association ?? id, regionOf(state)),
};
