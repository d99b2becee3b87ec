/**
 * The AWS event path and pull access, as data: ECR push → EventBridge rule (its pattern) →
 * SQS queue (its policy, settings and redrive to a dead-letter queue) → the master's
 * `saltpipe_sqs` engine; the IAM documents of the master (read and delete its queue) and of
 * the minions (pull this repository); and where, and how, the minions pull. Pure functions:
 * the Pulumi components (./ecr.ts, ./ecr-iam.ts) and the tests, including the end-to-end proof
 * against the moto emulator, use the same values.
 */
import { checkAccountAndRegion, SQS_MAX_WAIT_SECONDS } from "../render/sqs-engine";

/** An IAM policy document (the subset we render). */
export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly PolicyStatement[];
}

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Principal?: Readonly<Record<string, string>>;
  readonly Action: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** Queue settings shared by the component and the emulator test. */
export const EVENT_QUEUE = {
  /** 14 days: registry events are otherwise best effort. */
  retentionSeconds: 1_209_600,
  /** A received, undeleted message comes back after this (the engine records in well under it). */
  visibilityTimeoutSeconds: 60,
  /** Receives before a message moves to the dead-letter queue. */
  maxReceiveCount: 5,
  /** Long polling of the engine (SQS maximum). */
  waitSeconds: SQS_MAX_WAIT_SECONDS,
  /** EventBridge retries a failed delivery to the queue for up to 24 h, then the DLQ. */
  targetRetry: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86_400 },
} as const;

const REPO_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

function checkRepository(repository: string): void {
  if (!REPO_RE.test(repository)) throw new Error(`repository: invalid ${JSON.stringify(repository)}`);
}

/** The EventBridge rule's pattern: successful pushes of `repository` only. */
export function ecrPushEventPattern(repository: string): Record<string, unknown> {
  checkRepository(repository);
  return {
    source: ["aws.ecr"],
    "detail-type": ["ECR Image Action"],
    detail: { "action-type": ["PUSH"], result: ["SUCCESS"], "repository-name": [repository] },
  };
}

/** The queue's policy: only EventBridge, and only for this rule (`aws:SourceArn`), may send. */
export function eventQueuePolicy(queueArn: string, ruleArn: string): PolicyDocument {
  return {
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
  };
}

/** The queue's redrive policy: after `maxReceiveCount` receives a message moves to the DLQ. */
export function redrivePolicy(
  deadLetterArn: string,
  maxReceiveCount: number = EVENT_QUEUE.maxReceiveCount,
): { deadLetterTargetArn: string; maxReceiveCount: number } {
  if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000)
    throw new Error(`maxReceiveCount: want 1..1000, got ${maxReceiveCount}`);
  return { deadLetterTargetArn: deadLetterArn, maxReceiveCount };
}

/** Trust policy of an instance role. */
export function ec2AssumeRolePolicy(): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
  };
}

/** Actions of the master's role: read and delete its own queue, nothing else. */
export const MASTER_QUEUE_ACTIONS = [
  "sqs:ReceiveMessage",
  "sqs:DeleteMessage",
  "sqs:GetQueueAttributes",
] as const;

/** The master's role: only what the engine calls, only on its queue (no ECR, no send). */
export function masterQueuePolicy(queueArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "ReadItsQueue", Effect: "Allow", Action: [...MASTER_QUEUE_ACTIONS], Resource: queueArn },
    ],
  };
}

/** Pull actions a minion's role has on the repository (no push, no delete, no other repository). */
export const MINION_PULL_ACTIONS = [
  "ecr:BatchCheckLayerAvailability",
  "ecr:BatchGetImage",
  "ecr:GetDownloadUrlForLayer",
] as const;

/**
 * A minion's role: a registry token (`ecr:GetAuthorizationToken` has no resource-level
 * permissions, hence `*`) and pulling from this repository only.
 */
export function minionPullPolicy(repositoryArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "RegistryToken", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
      {
        Sid: "PullThisRepository",
        Effect: "Allow",
        Action: [...MINION_PULL_ACTIONS],
        Resource: repositoryArn,
      },
    ],
  };
}

/** The registry host of an account's ECR in a region (what docker pulls from). */
export function ecrRegistryHost(account: string, region: string): string {
  checkAccountAndRegion(account, region);
  return `${account}.dkr.ecr.${region}.amazonaws.com`;
}

/** The minions' docker config: the ECR credential helper for the registry host, no password. */
export function ecrDockerConfig(registryHost: string): { credHelpers: Record<string, string> } {
  return { credHelpers: { [registryHost]: "ecr-login" } };
}
