/** EC2 tags: given at create (TagSpecifications), changed in place with CreateTags/DeleteTags. */
import {
  CreateTagsCommand,
  DeleteTagsCommand,
  type ResourceType as Ec2ResourceType,
} from "@aws-sdk/client-ec2";
import { ec2, send } from "../clients";
import { tagChanges, tagList, type Tags } from "../tags";

export function tagSpecifications(type: Ec2ResourceType, tags: Tags | undefined) {
  return tags && Object.keys(tags).length > 0 ? [{ ResourceType: type, Tags: tagList(tags) }] : undefined;
}

export async function updateEc2Tags(
  what: string,
  id: string,
  region: string,
  before?: Tags,
  after?: Tags,
): Promise<void> {
  const { set, remove } = tagChanges(before, after);
  if (remove.length > 0)
    await send(
      `updating tags of ${what} (${id})`,
      ec2(region),
      new DeleteTagsCommand({ Resources: [id], Tags: remove.map((Key) => ({ Key })) }),
    );
  if (Object.keys(set).length > 0)
    await send(
      `updating tags of ${what} (${id})`,
      ec2(region),
      new CreateTagsCommand({ Resources: [id], Tags: tagList(set) }),
    );
}
