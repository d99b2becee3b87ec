/**
 * `aws:ecr/repository:Repository`, `aws:ecr/lifecyclePolicy:LifecyclePolicy` and the function
 * `aws:ecr/getAuthorizationToken:getAuthorizationToken`.
 *
 * Replacement, from terraform-provider-aws: internal/service/ecr/repository.go (ForceNew:
 * `name`, `encryption_configuration`; tag mutability, scanning configuration, `force_delete`
 * and tags change in place; delete with `force` from `forceDelete`, a repository that holds
 * images without it fails RepositoryNotEmptyException, which the emulator enforces) and
 * lifecycle_policy.go (both `repository` and `policy` ForceNew, no update; the Pulumi provider
 * deletes it before its replacement). The v7 `region` replaces.
 */
import {
  CreateRepositoryCommand,
  DeleteLifecyclePolicyCommand,
  DeleteRepositoryCommand,
  DescribeRepositoriesCommand,
  GetAuthorizationTokenCommand,
  GetLifecyclePolicyCommand,
  ListTagsForResourceCommand,
  PutImageScanningConfigurationCommand,
  PutImageTagMutabilityCommand,
  PutLifecyclePolicyCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type EncryptionType,
  type ImageTagMutability,
} from "@aws-sdk/client-ecr";
import { isDeepStrictEqual } from "node:util";
import type { FunctionType, ResourceType } from "../../lib/provider";
import { AwsError, ecr, isCode, send } from "../clients";
import { deleteIgnoringNotFound, regional, regionOf, type Regional } from "../common";
import { config } from "../config";
import { autoName } from "../naming";
import { tagChanges, tagList, tagMap, tagsAll } from "../tags";

interface RepositoryInputs extends Regional {
  name: string;
  forceDelete?: boolean;
  imageTagMutability?: string;
  imageScanningConfiguration?: { scanOnPush: boolean };
  encryptionConfigurations?: { encryptionType?: string; kmsKey?: string }[];
}

async function describeRepository(name: string, region: string) {
  let r;
  try {
    r = (
      await send(
        `reading ECR Repository (${name})`,
        ecr(region),
        new DescribeRepositoriesCommand({ repositoryNames: [name] }),
      )
    ).repositories?.[0];
  } catch (err) {
    if (isCode(err, "RepositoryNotFoundException")) return undefined;
    throw err;
  }
  if (!r) return undefined;
  const tags = (
    await send(
      `listing tags for ECR Repository (${name})`,
      ecr(region),
      new ListTagsForResourceCommand({ resourceArn: r.repositoryArn }),
    )
  ).tags;
  return {
    arn: r.repositoryArn,
    name: r.repositoryName,
    registryId: r.registryId,
    repositoryUrl: r.repositoryUri,
    imageTagMutability: r.imageTagMutability,
    imageScanningConfiguration: { scanOnPush: r.imageScanningConfiguration?.scanOnPush ?? false },
    encryptionConfigurations: r.encryptionConfiguration
      ? [
          {
            encryptionType: r.encryptionConfiguration.encryptionType,
            kmsKey: r.encryptionConfiguration.kmsKey ?? "",
          },
        ]
      : [],
    tagsAll: tagsAll(tagMap(tags)),
    region,
  };
}

export const repository: ResourceType<RepositoryInputs, RepositoryInputs> = {
  inputs: {
    ...regional,
    name: true,
    forceDelete: true,
    imageTagMutability: true,
    imageScanningConfiguration: ["scanOnPush"],
    encryptionConfigurations: ["encryptionType", "kmsKey"],
    tags: true,
  },
  outputs: [
    "arn",
    "name",
    "registryId",
    "repositoryUrl",
    "imageTagMutability",
    "imageScanningConfiguration",
    "encryptionConfigurations",
    "tagsAll",
    "region",
  ],
  replaceOnChanges: ["name", "encryptionConfigurations", "region"],
  check: (news, olds, name) => autoName(news, olds, name),
  async create(i) {
    const region = regionOf(i);
    const encryption = i.encryptionConfigurations?.[0];
    await send(
      `creating ECR Repository (${i.name})`,
      ecr(region),
      new CreateRepositoryCommand({
        repositoryName: i.name,
        imageTagMutability: (i.imageTagMutability ?? "MUTABLE") as ImageTagMutability,
        imageScanningConfiguration: i.imageScanningConfiguration && {
          scanOnPush: i.imageScanningConfiguration.scanOnPush,
        },
        encryptionConfiguration: encryption && {
          encryptionType: (encryption.encryptionType ?? "AES256") as EncryptionType,
          kmsKey: encryption.kmsKey || undefined,
        },
        tags: i.tags && Object.keys(i.tags).length > 0 ? tagList(i.tags) : undefined,
      }),
    );
    return { id: i.name, outs: await describeRepository(i.name, region) };
  },
  async update(id, olds, news) {
    const region = regionOf(news);
    const client = ecr(region);
    if ((olds.imageTagMutability ?? "MUTABLE") !== (news.imageTagMutability ?? "MUTABLE"))
      await send(
        `updating ECR Repository (${id})`,
        client,
        new PutImageTagMutabilityCommand({
          repositoryName: id,
          imageTagMutability: (news.imageTagMutability ?? "MUTABLE") as ImageTagMutability,
        }),
      );
    if (!isDeepStrictEqual(olds.imageScanningConfiguration, news.imageScanningConfiguration))
      await send(
        `updating ECR Repository (${id})`,
        client,
        new PutImageScanningConfigurationCommand({
          repositoryName: id,
          imageScanningConfiguration: { scanOnPush: news.imageScanningConfiguration?.scanOnPush ?? false },
        }),
      );
    const { set, remove } = tagChanges(olds.tags, news.tags);
    const live = await describeRepository(id, region);
    if (live?.arn && remove.length > 0)
      await send(
        `updating ECR Repository (${id}): updating tags`,
        client,
        new UntagResourceCommand({ resourceArn: live.arn, tagKeys: remove }),
      );
    if (live?.arn && Object.keys(set).length > 0)
      await send(
        `updating ECR Repository (${id}): updating tags`,
        client,
        new TagResourceCommand({ resourceArn: live.arn, tags: tagList(set) }),
      );
    return describeRepository(id, region);
  },
  async delete(id, state) {
    try {
      await send(
        `deleting ECR Repository (${id})`,
        ecr(regionOf(state)),
        new DeleteRepositoryCommand({ repositoryName: id, force: state.forceDelete ?? false }),
      );
    } catch (err) {
      if (isCode(err, "RepositoryNotFoundException")) return;
      if (isCode(err, "RepositoryNotEmptyException")) {
        const detail = (err as AwsError).message.replace(/^deleting ECR Repository \([^)]*\): /, "");
        throw new Error(`ECR Repository (${id}) not empty, consider using force_delete: ${detail}`);
      }
      throw err;
    }
  },
  read: (id, state) => describeRepository(id, regionOf(state)),
};

interface PolicyInputs extends Regional {
  repository: string;
  policy: string;
}

async function describePolicy(name: string, region: string) {
  try {
    const out = await send(
      `reading ECR Lifecycle Policy (${name})`,
      ecr(region),
      new GetLifecyclePolicyCommand({ repositoryName: name }),
    );
    return { registryId: out.registryId, repository: out.repositoryName, region };
  } catch (err) {
    if (isCode(err, "LifecyclePolicyNotFoundException", "RepositoryNotFoundException")) return undefined;
    throw err;
  }
}

export const lifecyclePolicy: ResourceType<PolicyInputs, PolicyInputs> = {
  inputs: { ...regional, repository: true, policy: true },
  outputs: ["registryId", "region"],
  replaceOnChanges: ["repository", "policy", "region"],
  deleteBeforeReplace: true,
  check(news) {
    if (typeof news.policy === "string") {
      try {
        JSON.parse(news.policy);
      } catch (err) {
        throw new Error(`policy: contains an invalid JSON: ${(err as Error).message}`);
      }
    }
    return news;
  },
  async create(i) {
    const region = regionOf(i);
    const out = await send(
      `creating ECR Lifecycle Policy (${i.repository})`,
      ecr(region),
      new PutLifecyclePolicyCommand({
        repositoryName: i.repository,
        lifecyclePolicyText: JSON.stringify(JSON.parse(i.policy)),
      }),
    );
    return { id: out.repositoryName!, outs: { registryId: out.registryId, region } };
  },
  async delete(id, state) {
    await deleteIgnoringNotFound(["LifecyclePolicyNotFoundException", "RepositoryNotFoundException"], () =>
      send(
        `deleting ECR Lifecycle Policy (${id})`,
        ecr(regionOf(state)),
        new DeleteLifecyclePolicyCommand({ repositoryName: id }),
      ),
    );
  },
  read: (id, state) => describePolicy(id, regionOf(state)),
};

export const getAuthorizationToken: FunctionType = {
  inputs: { registryId: true, region: true },
  outputs: [
    "id",
    "authorizationToken",
    "expiresAt",
    "proxyEndpoint",
    "userName",
    "password",
    "registryId",
    "region",
  ],
  async call(args) {
    const region = (args.region as string | undefined) ?? config().region;
    const registryId = args.registryId as string | undefined;
    const out = await send(
      "getting ECR authorization token",
      ecr(region),
      new GetAuthorizationTokenCommand({ registryIds: registryId ? [registryId] : undefined }),
    );
    const data = out.authorizationData?.[0];
    if (!data?.authorizationToken) throw new Error("getting ECR authorization token: empty result");
    const [userName, password] = Buffer.from(data.authorizationToken, "base64").toString().split(":");
    return {
      id: region,
      authorizationToken: data.authorizationToken,
      expiresAt: data.expiresAt?.toISOString().replace(/\.\d{3}Z$/, "Z") ?? "",
      proxyEndpoint: data.proxyEndpoint ?? "",
      userName,
      password,
      registryId,
      region,
    };
  },
};
