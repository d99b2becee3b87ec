/**
 * `aws:index/getCallerIdentity:getCallerIdentity` and
 * `aws:index/getAvailabilityZones:getAvailabilityZones`, as terraform-provider-aws
 * internal/service/sts/caller_identity_data_source.go (id = account id) and
 * internal/service/ec2/ec2_availability_zones_data_source.go (the `state` and `filters` go to
 * DescribeAvailabilityZones, `allAvailabilityZones` adds opt-in zones, `excludeNames` and
 * `excludeZoneIds` filter the answer; names sorted; id = region).
 */
import { DescribeAvailabilityZonesCommand } from "@aws-sdk/client-ec2";
import type { FunctionType } from "../lib/provider";
import { ec2, send } from "./clients";
import { config } from "./config";
import { callerIdentity } from "./identity";

export const getCallerIdentity: FunctionType = {
  inputs: {},
  outputs: ["id", "accountId", "arn", "userId"],
  async call() {
    const who = await callerIdentity();
    return { id: who.accountId, accountId: who.accountId, arn: who.arn, userId: who.userId };
  },
};

interface ZonesArgs {
  allAvailabilityZones?: boolean;
  excludeNames?: string[];
  excludeZoneIds?: string[];
  filters?: { name: string; values: string[] }[];
  state?: string;
  region?: string;
}

export const getAvailabilityZones: FunctionType = {
  inputs: {
    allAvailabilityZones: true,
    excludeNames: true,
    excludeZoneIds: true,
    filters: ["name", "values"],
    state: true,
    region: true,
  },
  outputs: [
    "id",
    "names",
    "zoneIds",
    "groupNames",
    "region",
    "allAvailabilityZones",
    "excludeNames",
    "excludeZoneIds",
    "filters",
    "state",
  ],
  async call(raw) {
    const args = raw as ZonesArgs;
    const region = args.region ?? config().region;
    const filters = [
      ...(args.filters ?? []).map((f) => ({ Name: f.name, Values: f.values })),
      ...(args.state ? [{ Name: "state", Values: [args.state] }] : []),
    ];
    const out = await send(
      "reading EC2 Availability Zones",
      ec2(region),
      new DescribeAvailabilityZonesCommand({
        AllAvailabilityZones: args.allAvailabilityZones,
        Filters: filters.length > 0 ? filters : undefined,
      }),
    );
    const zones = (out.AvailabilityZones ?? [])
      .filter((z) => !args.excludeNames?.includes(z.ZoneName!) && !args.excludeZoneIds?.includes(z.ZoneId!))
      .sort((a, b) => a.ZoneName!.localeCompare(b.ZoneName!));
    return {
      ...args,
      id: region,
      names: zones.map((z) => z.ZoneName!),
      zoneIds: zones.map((z) => z.ZoneId!),
      groupNames: [...new Set(zones.map((z) => z.GroupName!))].sort(),
      region,
    };
  },
};
