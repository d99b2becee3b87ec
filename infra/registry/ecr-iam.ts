/**
 * EcrIam: the instance roles of an AWS environment, least privilege.
 *
 * - master: `sqs:ReceiveMessage`, `sqs:DeleteMessage`, `sqs:GetQueueAttributes` on its event
 *   queue — nothing in ECR, no send (the rule alone may send, by the queue policy);
 * - each minion: its own role and instance profile with `ecr:GetAuthorizationToken` (no
 *   resource-level permissions exist for it) and pull actions on this repository's ARN only,
 *   used by the Docker credential helper `docker-credential-ecr-login` on the minion — no
 *   password is ever stored on a minion, the helper asks for a 12-hour token when docker pulls.
 *
 * The documents come from ./ecr-policies.ts (unit-tested by value).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ec2AssumeRolePolicy, masterQueuePolicy, minionPullPolicy } from "./ecr-policies";

export interface EcrIamArgs {
  readonly queueArn: pulumi.Input<string>;
  readonly repositoryArn: pulumi.Input<string>;
  /** Minion names (one role + instance profile each). */
  readonly minions: readonly string[];
  readonly tags?: Readonly<Record<string, string>>;
}

export class EcrIam extends pulumi.ComponentResource {
  readonly masterRole: aws.iam.Role;
  readonly masterInstanceProfile: aws.iam.InstanceProfile;
  readonly minionRoles: Readonly<Record<string, aws.iam.Role>>;
  readonly minionInstanceProfiles: Readonly<Record<string, aws.iam.InstanceProfile>>;

  constructor(name: string, args: EcrIamArgs, opts?: pulumi.ComponentResourceOptions) {
    super("saltpipe:registry:EcrIam", name, {}, opts);
    const parent = { parent: this };
    const tags = { ...args.tags };
    const trust = JSON.stringify(ec2AssumeRolePolicy());

    this.masterRole = new aws.iam.Role(`${name}-master`, { assumeRolePolicy: trust, tags }, parent);
    new aws.iam.RolePolicy(
      `${name}-master-queue`,
      {
        role: this.masterRole.id,
        policy: pulumi.output(args.queueArn).apply((arn) => JSON.stringify(masterQueuePolicy(arn))),
      },
      parent,
    );
    this.masterInstanceProfile = new aws.iam.InstanceProfile(
      `${name}-master`,
      { role: this.masterRole.name, tags },
      parent,
    );

    const roles: Record<string, aws.iam.Role> = {};
    const profiles: Record<string, aws.iam.InstanceProfile> = {};
    const pull = pulumi.output(args.repositoryArn).apply((arn) => JSON.stringify(minionPullPolicy(arn)));
    // Named by position, not by minion name: IAM role names (resource name + the provider's
    // random suffix) must fit 64 characters for the longest environment name admitted.
    args.minions.forEach((minion, i) => {
      const short = `${name}-m${i + 1}`;
      const role = new aws.iam.Role(
        short,
        { assumeRolePolicy: trust, tags: { ...tags, "saltpipe:minion": minion } },
        parent,
      );
      new aws.iam.RolePolicy(`${short}-pull`, { role: role.id, policy: pull }, parent);
      roles[minion] = role;
      profiles[minion] = new aws.iam.InstanceProfile(short, { role: role.name, tags }, parent);
    });
    this.minionRoles = roles;
    this.minionInstanceProfiles = profiles;
    this.registerOutputs({
      masterRole: this.masterRole.arn,
      minionRoles: Object.fromEntries(Object.entries(roles).map(([m, r]) => [m, r.arn])),
    });
  }
}
