/**
 * `aws:iam/role:Role`, `aws:iam/rolePolicy:RolePolicy` and `aws:iam/instanceProfile:InstanceProfile`
 * (IAM is global: no `region`).
 *
 * Replacement, from terraform-provider-aws: internal/service/iam/role.go (ForceNew: `name`,
 * `name_prefix`, `path`; the trust policy, description, maximum session duration,
 * permissions boundary and tags change in place; Pulumi auto-names `name` within 64
 * characters), role_policy.go (ForceNew: `name`, `name_prefix`, `role`; the policy changes in
 * place with PutRolePolicy; the id is `<role>:<policy name>`) and instance_profile.go (ForceNew:
 * `name`, `name_prefix`, `path`; the role changes in place: removed, then the new one added).
 */
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  DeleteRolePermissionsBoundaryCommand,
  DeleteRolePolicyCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  RemoveRoleFromInstanceProfileCommand,
  TagInstanceProfileCommand,
  TagRoleCommand,
  UntagInstanceProfileCommand,
  UntagRoleCommand,
  UpdateAssumeRolePolicyCommand,
  UpdateRoleCommand,
} from "@aws-sdk/client-iam";
import type { ResourceType } from "../../lib/provider";
import { iam, isCode, send } from "../clients";
import { deleteIgnoringNotFound, retryWhile } from "../common";
import { autoName, nameOrPrefixed } from "../naming";
import { tagChanges, tagList, tagMap, tagsAll, type Tags } from "../tags";

const NOT_FOUND = ["NoSuchEntity", "NoSuchEntityException"];

function namingCheck(key = "name", maxLength?: number) {
  return (news: Record<string, unknown>, olds: Record<string, unknown>, name: string) => {
    if (news[key] != null && news.namePrefix != null) throw new Error(`"${key}": conflicts with namePrefix`);
    return autoName(news, olds, name, { key, prefixKey: "namePrefix", maxLength });
  };
}

async function updateTags(kind: "role" | "profile", name: string, before?: Tags, after?: Tags) {
  const { set, remove } = tagChanges(before, after);
  const what = `updating IAM ${kind === "role" ? "Role" : "Instance Profile"} (${name}) tags`;
  if (kind === "role") {
    if (remove.length > 0) await send(what, iam(), new UntagRoleCommand({ RoleName: name, TagKeys: remove }));
    if (Object.keys(set).length > 0)
      await send(what, iam(), new TagRoleCommand({ RoleName: name, Tags: tagList(set) }));
  } else {
    if (remove.length > 0)
      await send(
        what,
        iam(),
        new UntagInstanceProfileCommand({ InstanceProfileName: name, TagKeys: remove }),
      );
    if (Object.keys(set).length > 0)
      await send(
        what,
        iam(),
        new TagInstanceProfileCommand({ InstanceProfileName: name, Tags: tagList(set) }),
      );
  }
}

interface RoleInputs {
  name?: string;
  namePrefix?: string;
  path?: string;
  assumeRolePolicy: string;
  description?: string;
  maxSessionDuration?: number;
  permissionsBoundary?: string;
  tags?: Tags;
}

async function describeRole(name: string) {
  try {
    const r = (await send(`reading IAM Role (${name})`, iam(), new GetRoleCommand({ RoleName: name }))).Role!;
    return {
      arn: r.Arn,
      name: r.RoleName,
      uniqueId: r.RoleId,
      createDate: r.CreateDate?.toISOString().replace(/\.\d{3}Z$/, "Z"),
      path: r.Path,
      maxSessionDuration: r.MaxSessionDuration,
      tagsAll: tagsAll(tagMap(r.Tags)),
    };
  } catch (err) {
    if (isCode(err, ...NOT_FOUND)) return undefined;
    throw err;
  }
}

export const role: ResourceType<RoleInputs, RoleInputs> = {
  inputs: {
    name: true,
    namePrefix: true,
    path: true,
    assumeRolePolicy: true,
    description: true,
    maxSessionDuration: true,
    permissionsBoundary: true,
    tags: true,
  },
  outputs: ["arn", "name", "uniqueId", "createDate", "path", "maxSessionDuration", "tagsAll"],
  replaceOnChanges: ["name", "namePrefix", "path"],
  check: namingCheck("name", 64),
  async create(i) {
    const name = nameOrPrefixed(i.name, i.namePrefix);
    await send(
      `creating IAM Role (${name})`,
      iam(),
      new CreateRoleCommand({
        RoleName: name,
        Path: i.path ?? "/",
        AssumeRolePolicyDocument: i.assumeRolePolicy,
        Description: i.description,
        MaxSessionDuration: i.maxSessionDuration,
        PermissionsBoundary: i.permissionsBoundary,
        Tags: i.tags && Object.keys(i.tags).length > 0 ? tagList(i.tags) : undefined,
      }),
    );
    return { id: name, outs: await describeRole(name) };
  },
  async update(name, olds, news) {
    if (olds.assumeRolePolicy !== news.assumeRolePolicy)
      await send(
        `updating IAM Role (${name}) assume role policy`,
        iam(),
        new UpdateAssumeRolePolicyCommand({ RoleName: name, PolicyDocument: news.assumeRolePolicy }),
      );
    if (olds.description !== news.description || olds.maxSessionDuration !== news.maxSessionDuration)
      await send(
        `updating IAM Role (${name})`,
        iam(),
        new UpdateRoleCommand({
          RoleName: name,
          Description: news.description ?? "",
          MaxSessionDuration: news.maxSessionDuration,
        }),
      );
    if (olds.permissionsBoundary !== news.permissionsBoundary) {
      if (news.permissionsBoundary)
        await send(
          `updating IAM Role (${name}) permissions boundary`,
          iam(),
          new PutRolePermissionsBoundaryCommand({
            RoleName: name,
            PermissionsBoundary: news.permissionsBoundary,
          }),
        );
      else
        await send(
          `updating IAM Role (${name}) permissions boundary`,
          iam(),
          new DeleteRolePermissionsBoundaryCommand({ RoleName: name }),
        );
    }
    await updateTags("role", name, olds.tags, news.tags);
    return describeRole(name);
  },
  async delete(name) {
    // Inline policies and instance profiles holding the role are their own resources, deleted
    // first; IAM can take a moment to let go of them (DeleteConflict), so the delete is retried.
    await deleteIgnoringNotFound(NOT_FOUND, () =>
      retryWhile(["DeleteConflict"], () =>
        send(`deleting IAM Role (${name})`, iam(), new DeleteRoleCommand({ RoleName: name })),
      ),
    );
  },
  read: (name) => describeRole(name),
};

interface RolePolicyInputs {
  name?: string;
  namePrefix?: string;
  role: string;
  policy: string;
}

const splitId = (id: string) => {
  const at = id.indexOf(":");
  return { role: id.slice(0, at), name: id.slice(at + 1) };
};

const putPolicy = (i: RolePolicyInputs, name: string, what: string) =>
  send(
    `${what} IAM Role (${i.role}) Policy (${name})`,
    iam(),
    new PutRolePolicyCommand({ RoleName: i.role, PolicyName: name, PolicyDocument: i.policy }),
  );

export const rolePolicy: ResourceType<RolePolicyInputs, RolePolicyInputs> = {
  inputs: { name: true, namePrefix: true, role: true, policy: true },
  outputs: ["name"],
  replaceOnChanges: ["name", "namePrefix", "role"],
  check: namingCheck(),
  async create(i) {
    const name = nameOrPrefixed(i.name, i.namePrefix);
    await putPolicy(i, name, "putting");
    return { id: `${i.role}:${name}`, outs: { name } };
  },
  async update(id, _olds, news) {
    const { name } = splitId(id);
    await putPolicy(news, name, "putting");
    return { name };
  },
  async delete(id) {
    const { role: roleName, name } = splitId(id);
    await deleteIgnoringNotFound(NOT_FOUND, () =>
      send(
        `deleting IAM Role (${roleName}) Policy (${name})`,
        iam(),
        new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: name }),
      ),
    );
  },
  async read(id) {
    const { role: roleName, name } = splitId(id);
    try {
      await send(
        `reading IAM Role (${roleName}) Policy (${name})`,
        iam(),
        new GetRolePolicyCommand({ RoleName: roleName, PolicyName: name }),
      );
      return { name };
    } catch (err) {
      if (isCode(err, ...NOT_FOUND)) return undefined;
      throw err;
    }
  },
};

interface ProfileInputs {
  name?: string;
  namePrefix?: string;
  path?: string;
  role?: string;
  tags?: Tags;
}

async function describeProfile(name: string) {
  try {
    const p = (
      await send(
        `reading IAM Instance Profile (${name})`,
        iam(),
        new GetInstanceProfileCommand({ InstanceProfileName: name }),
      )
    ).InstanceProfile!;
    return {
      arn: p.Arn,
      name: p.InstanceProfileName,
      uniqueId: p.InstanceProfileId,
      createDate: p.CreateDate?.toISOString().replace(/\.\d{3}Z$/, "Z"),
      path: p.Path,
      role: p.Roles?.[0]?.RoleName,
      tagsAll: tagsAll(tagMap(p.Tags)),
    };
  } catch (err) {
    if (isCode(err, ...NOT_FOUND)) return undefined;
    throw err;
  }
}

const removeRole = (profile: string, roleName: string) =>
  deleteIgnoringNotFound(NOT_FOUND, () =>
    send(
      `removing role (${roleName}) from IAM Instance Profile (${profile})`,
      iam(),
      new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: profile, RoleName: roleName }),
    ),
  );

const addRole = (profile: string, roleName: string) =>
  send(
    `adding role (${roleName}) to IAM Instance Profile (${profile})`,
    iam(),
    new AddRoleToInstanceProfileCommand({ InstanceProfileName: profile, RoleName: roleName }),
  );

export const instanceProfile: ResourceType<ProfileInputs, ProfileInputs> = {
  inputs: { name: true, namePrefix: true, path: true, role: true, tags: true },
  outputs: ["arn", "name", "uniqueId", "createDate", "path", "role", "tagsAll"],
  replaceOnChanges: ["name", "namePrefix", "path"],
  check: namingCheck(),
  async create(i) {
    const name = nameOrPrefixed(i.name, i.namePrefix);
    await send(
      `creating IAM Instance Profile (${name})`,
      iam(),
      new CreateInstanceProfileCommand({
        InstanceProfileName: name,
        Path: i.path ?? "/",
        Tags: i.tags && Object.keys(i.tags).length > 0 ? tagList(i.tags) : undefined,
      }),
    );
    if (i.role) await addRole(name, i.role);
    return { id: name, outs: await describeProfile(name) };
  },
  async update(name, olds, news) {
    if (olds.role !== news.role) {
      if (olds.role) await removeRole(name, olds.role);
      if (news.role) await addRole(name, news.role);
    }
    await updateTags("profile", name, olds.tags, news.tags);
    return describeProfile(name);
  },
  async delete(name, state) {
    const live = await describeProfile(name);
    if (!live) return;
    if (live.role ?? state.role) await removeRole(name, (live.role ?? state.role)!);
    await deleteIgnoringNotFound(NOT_FOUND, () =>
      send(
        `deleting IAM Instance Profile (${name})`,
        iam(),
        new DeleteInstanceProfileCommand({ InstanceProfileName: name }),
      ),
    );
  },
  read: (name) => describeProfile(name),
};
