/**
 * EcrRegistry: an ECR repository (scan on push, lifecycle policy) whose successful pushes
 * reach the master through EventBridge → SQS, read by Salt's `sqs_events` engine.
 *
 * Why SQS and not an API destination to salt-api: the master needs no inbound port at
 * all, the queue is durable (14 days, with a dead-letter queue for poison messages),
 * and IAM — not a shared secret over the internet — decides who may write events: only
 * this EventBridge rule may send, only the master's instance role may read.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface EcrRegistryArgs {
  readonly namePrefix: string;
  /** Repository name, e.g. `team/app`. */
  readonly repository: string;
  /** How many images the lifecycle policy keeps. */
  readonly keepImages: number;
  readonly tags?: Readonly<Record<string, string>>;
}

export class EcrRegistry extends pulumi.ComponentResource {
  readonly repository: aws.ecr.Repository;
  readonly repositoryUrl: pulumi.Output<string>;
  readonly queue: aws.sqs.Queue;
  readonly queueName: pulumi.Output<string>;
  /** Instance profile that lets the master read (and delete) the queue's messages. */
  readonly masterInstanceProfile: aws.iam.InstanceProfile;
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
      { messageRetentionSeconds: 1209600, sqsManagedSseEnabled: true, tags },
      parent,
    );
    this.queue = new aws.sqs.Queue(
      `${name}-events`,
      {
        messageRetentionSeconds: 1209600,
        visibilityTimeoutSeconds: 60,
        sqsManagedSseEnabled: true,
        redrivePolicy: deadLetters.arn.apply((arn) =>
          JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 5 }),
        ),
        tags,
      },
      parent,
    );
    this.queueName = this.queue.name;

    const rule = new aws.cloudwatch.EventRule(
      `${name}-push`,
      {
        description: `Successful pushes to ${args.repository}`,
        eventPattern: JSON.stringify({
          source: ["aws.ecr"],
          "detail-type": ["ECR Image Action"],
          detail: { "action-type": ["PUSH"], result: ["SUCCESS"], "repository-name": [args.repository] },
        }),
        tags,
      },
      parent,
    );
    new aws.sqs.QueuePolicy(
      `${name}-events`,
      {
        queueUrl: this.queue.url,
        policy: pulumi.all([this.queue.arn, rule.arn]).apply(([queueArn, ruleArn]) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "OnlyThePushRule",
                Effect: "Allow",
                Principal: { Service: "events.amazonaws.com" },
                Action: "sqs:SendMessage",
                Resource: queueArn,
                Condition: { ArnEquals: { "aws:SourceArn": ruleArn } },
              },
            ],
          }),
        ),
      },
      parent,
    );
    new aws.cloudwatch.EventTarget(
      `${name}-push`,
      {
        rule: rule.name,
        arn: this.queue.arn,
        retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 },
        deadLetterConfig: { arn: deadLetters.arn },
      },
      parent,
    );

    const role = new aws.iam.Role(
      `${name}-master`,
      {
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
          ],
        }),
        tags,
      },
      parent,
    );
    new aws.iam.RolePolicy(
      `${name}-master-queue`,
      {
        role: role.id,
        policy: pulumi.all([this.queue.arn, this.repository.arn]).apply(([queueArn, repositoryArn]) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Action: [
                  "sqs:ReceiveMessage",
                  "sqs:DeleteMessage",
                  "sqs:GetQueueAttributes",
                  "sqs:GetQueueUrl",
                ],
                Resource: queueArn,
              },
              // The master mints short-lived pull tokens for the minions at deploy time,
              // so minions hold no AWS credentials at all.
              { Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
              {
                Effect: "Allow",
                Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages"],
                Resource: repositoryArn,
              },
            ],
          }),
        ),
      },
      parent,
    );
    this.masterInstanceProfile = new aws.iam.InstanceProfile(`${name}-master`, { role: role.name }, parent);

    const token = aws.ecr.getAuthorizationTokenOutput({ registryId: this.repository.registryId }, parent);
    this.login = {
      server: this.repository.repositoryUrl.apply((url) => url.split("/")[0]),
      username: token.userName,
      password: pulumi.secret(token.password),
    };
    this.registerOutputs({ repositoryUrl: this.repositoryUrl, queueName: this.queueName });
  }
}
