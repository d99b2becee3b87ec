/** ELBv2 tags: given at create, changed in place with AddTags/RemoveTags, read with DescribeTags. */
import {
  AddTagsCommand,
  DescribeTagsCommand,
  RemoveTagsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { elbv2, send } from "../clients";
import { tagChanges, tagList, tagMap, type Tags } from "../tags";

export async function updateElbTags(
  what: string,
  arn: string,
  region: string,
  before?: Tags,
  after?: Tags,
): Promise<void> {
  const { set, remove } = tagChanges(before, after);
  if (remove.length > 0)
    await send(
      `updating tags of ${what}`,
      elbv2(region),
      new RemoveTagsCommand({ ResourceArns: [arn], TagKeys: remove }),
    );
  if (Object.keys(set).length > 0)
    await send(
      `updating tags of ${what}`,
      elbv2(region),
      new AddTagsCommand({ ResourceArns: [arn], Tags: tagList(set) }),
    );
}

export async function readElbTags(what: string, arn: string, region: string): Promise<Tags> {
  const out = await send(
    `listing tags of ${what}`,
    elbv2(region),
    new DescribeTagsCommand({ ResourceArns: [arn] }),
  );
  return tagMap(out.TagDescriptions?.[0]?.Tags);
}
