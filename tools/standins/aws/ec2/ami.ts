/**
 * `aws:ec2/getAmi:getAmi`, as terraform-provider-aws internal/service/ec2/ec2_ami_data_source.go
 * looks one up: DescribeImages with `owners`, `filters` and `executableUsers` (deprecated
 * images only with `includeDeprecated`), then `nameRegex` on the names; no match is an error,
 * several are an error unless `mostRecent` picks the newest `creationDate`.
 */
import { DescribeImagesCommand, type Image } from "@aws-sdk/client-ec2";
import type { FunctionType } from "../../lib/provider";
import { ec2, send } from "../clients";
import { arnOf } from "../common";
import { config } from "../config";
import { tagMap } from "../tags";

interface GetAmiArgs {
  owners?: string[];
  filters?: { name: string; values: string[] }[];
  executableUsers?: string[];
  includeDeprecated?: boolean;
  mostRecent?: boolean;
  nameRegex?: string;
  region?: string;
}

function resultOf(image: Image, args: GetAmiArgs, region: string) {
  const root = image.BlockDeviceMappings?.find((m) => m.DeviceName === image.RootDeviceName);
  return {
    ...args,
    id: image.ImageId,
    imageId: image.ImageId,
    arn: arnOf("ec2", region, "", `image/${image.ImageId}`),
    name: image.Name ?? "",
    description: image.Description ?? "",
    architecture: image.Architecture ?? "",
    creationDate: image.CreationDate ?? "",
    deprecationTime: image.DeprecationTime ?? "",
    ownerId: image.OwnerId ?? "",
    imageOwnerAlias: image.ImageOwnerAlias ?? "",
    imageLocation: image.ImageLocation ?? "",
    imageType: image.ImageType ?? "",
    hypervisor: image.Hypervisor ?? "",
    platform: image.Platform ?? "",
    platformDetails: image.PlatformDetails ?? "",
    public: image.Public ?? false,
    enaSupport: image.EnaSupport ?? false,
    rootDeviceName: image.RootDeviceName ?? "",
    rootDeviceType: image.RootDeviceType ?? "",
    rootSnapshotId: root?.Ebs?.SnapshotId ?? "",
    sriovNetSupport: image.SriovNetSupport ?? "",
    state: image.State ?? "",
    virtualizationType: image.VirtualizationType ?? "",
    tags: tagMap(image.Tags),
    region,
  };
}

export const getAmi: FunctionType = {
  inputs: {
    owners: true,
    filters: ["name", "values"],
    executableUsers: true,
    includeDeprecated: true,
    mostRecent: true,
    nameRegex: true,
    region: true,
  },
  outputs: [
    "id",
    "imageId",
    "arn",
    "name",
    "description",
    "architecture",
    "creationDate",
    "deprecationTime",
    "ownerId",
    "imageOwnerAlias",
    "imageLocation",
    "imageType",
    "hypervisor",
    "platform",
    "platformDetails",
    "public",
    "enaSupport",
    "rootDeviceName",
    "rootDeviceType",
    "rootSnapshotId",
    "sriovNetSupport",
    "state",
    "virtualizationType",
    "tags",
    "region",
    "owners",
    "filters",
    "mostRecent",
    "nameRegex",
    "executableUsers",
    "includeDeprecated",
  ],
  async call(raw) {
    const args = raw as GetAmiArgs;
    const region = args.region ?? config().region;
    const out = await send(
      "reading EC2 AMIs",
      ec2(region),
      new DescribeImagesCommand({
        Owners: args.owners,
        ExecutableUsers: args.executableUsers,
        Filters: args.filters?.map((f) => ({ Name: f.name, Values: f.values })),
        IncludeDeprecated: args.includeDeprecated,
      }),
    );
    const pattern = args.nameRegex ? new RegExp(args.nameRegex) : undefined;
    const images = (out.Images ?? []).filter((i) => !pattern || pattern.test(i.Name ?? ""));
    if (images.length === 0)
      throw new Error("Your query returned no results. Please change your search criteria and try again.");
    if (images.length > 1 && !args.mostRecent)
      throw new Error(
        "Your query returned more than one result. Please try more specific search criteria, or set `most_recent` attribute to true.",
      );
    const newest = images.reduce((a, b) =>
      Date.parse(b.CreationDate ?? "") > Date.parse(a.CreationDate ?? "") ? b : a,
    );
    return resultOf(newest, args, region);
  },
};
