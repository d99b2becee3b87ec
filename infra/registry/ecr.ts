/**
 * EcrRegistry: an ECR repository (scan on push, lifecycle policy) whose successful pushes
 * reach the master through EventBridge → SQS, read by the master's `saltpipe_sqs` engine
 * (salt-states/salt/_engines/saltpipe_sqs.py). Every policy and pattern comes from
 * ./ecr-policies.ts; the roles from ./ecr-iam.ts.
 *
 * Why SQS and not an API destination to salt-api: the master needs no inbound port at
 * all, the queue is durable (14 days, with a dead-letter queue for poison messages),
 * and IAM — not a shared secret over the internet — decides who may write events: only
 * this EventBridge rule may send, only the master's instance role may read.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ecrPushEventPattern, EVENT_QUEUE, eventQueuePolicy, redrivePolicy } from "./ecr-policies";
import { EcrIam } from "./ecr-iam";

export interface EcrRegistryArgs {
  readonly namePrefix: string;
  /** Repository name, e.g. `team/app`. */
  readonly repository: string;
  /** How many images the lifecycle policy keeps. */
  readonly keepImages: number;
  /** Minion names: each gets its own instance profile that may pull this repository only. */
  readonly minions?: readonly string[];
  readonly tags?: Readonly<Record<string, string>>;
}

export class EcrRegistry extends pulumi.ComponentResource {
  readonly repository: aws.ecr.Repository;
  readonly repositoryUrl: pulumi.Output<string>;
  readonly queue: aws.sqs.Queue;
  readonly queueName: pulumi.Output<string>;
  /** What the master's `saltpipe_sqs` engine long-polls. */
  readonly queueUrl: pulumi.Output<string>;
  /** Instance profile that lets the master read (and delete) the queue's messages, nothing else. */
  readonly masterInstanceProfile: aws.iam.InstanceProfile;
  /** Per minion name: an instance profile that may pull this repository (credential helper). */
  readonly minionInstanceProfiles: Readonly<Record<string, aws.iam.InstanceProfile>>;
  /** Registry login for pushes, from a token fetched at run time (tokens expire after 12 h). */
  readonly login: {
    server: pulumi.Output<string>;
    username: pulumi.Output<string>;
    password: pulumi.Output<string>;
  };

  constructor(name: string, args: EcrRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("saltpipe:registry:EcrRegistry", name, {}, opts);
    const parent = { parent: this };
    const tags = { ...args.tags };

    this.repository = new aws.ecr.Repository(
      `${name}-repo`,
      {
        name: args.repository,
        imageScanningConfiguration: { scanOnPush: true },
        imageTagMutability: "MUTABLE",
        encryptionConfigurations: [{ encryptionType: "AES256" }],
        tags,
      },
      parent,
    );
    this.repositoryUrl = this.repository.repositoryUrl;
    new aws.ecr.LifecyclePolicy(
      `${name}-lifecycle`,
      {
        repository: this.repository.name,
        policy: JSON.stringify({
          rules: [
            {
              rulePriority: 1,
              description: `keep the newest ${args.keepImages} images`,
              selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: args.keepImages },
              action: { type: "expire" },
            },
          ],
        }),
      },
      parent,
    );

    const deadLetters = new aws.sqs.Queue(
      `${name}-dlq`,
      { messageRetentionSeconds: EVENT_QUEUE.retentionSeconds, sqsManagedSseEnabled: true, tags },
      parent,
    );
    this.queue = new aws.sqs.Queue(
      `${name}-events`,
      {
        messageRetentionSeconds: EVENT_QUEUE.retentionSeconds,
        visibilityTimeoutSeconds: EVENT_QUEUE.visibilityTimeoutSeconds,
        // The engine long-polls; the queue's own default matches it.
        receiveWaitTimeSeconds: EVENT_QUEUE.waitSeconds,
        sqsManagedSseEnabled: true,
        redrivePolicy: deadLetters.arn.apply((arn) => JSON.stringify(redrivePolicy(arn))),
        tags,
      },
      parent,
    );
    this.queueName = this.queue.name;
    this.queueUrl = this.queue.url;

    const rule = new aws.cloudwatch.EventRule(
      `${name}-push`,
      {
        description: `Successful pushes to ${args.repository}`,
        eventPattern: JSON.stringify(ecrPushEventPattern(args.repository)),
        tags,
      },
      parent,
    );
    new aws.sqs.QueuePolicy(
      `${name}-events`,
      {
        queueUrl: this.queue.url,
        policy: pulumi
          .all([this.queue.arn, rule.arn])
          .apply(([queueArn, ruleArn]) => JSON.stringify(eventQueuePolicy(queueArn, ruleArn))),
      },
      parent,
    );
    new aws.cloudwatch.EventTarget(
      `${name}-push`,
      {
        rule: rule.name,
        arn: this.queue.arn,
        retryPolicy: { ...EVENT_QUEUE.targetRetry },
        deadLetterConfig: { arn: deadLetters.arn },
      },
      parent,
    );

    const iam = new EcrIam(
      name,
      {
        queueArn: this.queue.arn,
        repositoryArn: this.repository.arn,
        minions: args.minions ?? [],
        tags,
      },
      parent,
    );
    this.masterInstanceProfile = iam.masterInstanceProfile;
    this.minionInstanceProfiles = iam.minionInstanceProfiles;

    const token = aws.ecr.getAuthorizationTokenOutput({ registryId: this.repository.registryId }, parent);
    this.login = {
      server: this.repository.repositoryUrl.apply((url) => url.split("/")[0]),
      username: token.userName,
      password: pulumi.secret(token.password),
    };
    this.registerOutputs({
      repositoryUrl: this.repositoryUrl,
      queueName: this.queueName,
      queueUrl: this.queueUrl,
    });
  }
}
