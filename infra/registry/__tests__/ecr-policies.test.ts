/** The AWS event path's documents and pull access, by value (the component and the moto proof use them). */
import {
  ec2AssumeRolePolicy,
  ecrDockerConfig,
  ecrPushEventPattern,
  ecrRegistryHost,
  EVENT_QUEUE,
  eventQueuePolicy,
  masterQueuePolicy,
  minionPullPolicy,
  redrivePolicy,
} from "../ecr-policies";

const QUEUE = "arn:aws:sqs:eu-west-1:123456789012:prod-events";
const RULE = "arn:aws:events:eu-west-1:123456789012:rule/prod-push";
const REPO = "arn:aws:ecr:eu-west-1:123456789012:repository/saltpipe/app";

describe("ECR event path and pull policies", () => {
  test("the rule matches successful pushes of the one repository", () => {
    expect(ecrPushEventPattern("saltpipe/app")).toEqual({
      source: ["aws.ecr"],
      "detail-type": ["ECR Image Action"],
      detail: { "action-type": ["PUSH"], result: ["SUCCESS"], "repository-name": ["saltpipe/app"] },
    });
    expect(() => ecrPushEventPattern("Bad Repo")).toThrow('repository: invalid "Bad Repo"');
  });

  test("only the rule may send to the queue", () => {
    expect(eventQueuePolicy(QUEUE, RULE)).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "OnlyThePushRule",
          Effect: "Allow",
          Principal: { Service: "events.amazonaws.com" },
          Action: "sqs:SendMessage",
          Resource: QUEUE,
          Condition: { ArnEquals: { "aws:SourceArn": RULE } },
        },
      ],
    });
  });

  test("redrive: bounded receives, then the dead-letter queue", () => {
    expect(redrivePolicy("arn:dlq")).toEqual({ deadLetterTargetArn: "arn:dlq", maxReceiveCount: 5 });
    expect(redrivePolicy("arn:dlq", 2)).toEqual({ deadLetterTargetArn: "arn:dlq", maxReceiveCount: 2 });
    expect(() => redrivePolicy("arn:dlq", 0)).toThrow("maxReceiveCount: want 1..1000, got 0");
    expect(EVENT_QUEUE).toMatchObject({ visibilityTimeoutSeconds: 60, maxReceiveCount: 5, waitSeconds: 20 });
  });

  test("the master's role: receive, delete, inspect its queue — nothing else", () => {
    const policy = masterQueuePolicy(QUEUE);
    expect(policy).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "ReadItsQueue",
          Effect: "Allow",
          Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
          Resource: QUEUE,
        },
      ],
    });
    const actions = policy.Statement.flatMap((s) => s.Action);
    expect(actions.filter((a) => !a.startsWith("sqs:") || a === "sqs:SendMessage")).toEqual([]);
  });

  test("a minion's role: a registry token and pulls of this repository only", () => {
    const policy = minionPullPolicy(REPO);
    expect(policy).toEqual({
      Version: "2012-10-17",
      Statement: [
        { Sid: "RegistryToken", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
        {
          Sid: "PullThisRepository",
          Effect: "Allow",
          Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
          Resource: REPO,
        },
      ],
    });
    // The only statement on "*" is the token (ECR has no resource-level permission for it).
    const wide = policy.Statement.filter((s) => s.Resource === "*");
    expect(wide.map((s) => s.Action)).toEqual(["ecr:GetAuthorizationToken"]);
    const all = policy.Statement.flatMap((s) => s.Action);
    for (const write of ["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:BatchDeleteImage"])
      expect(all).not.toContain(write);
    expect(ec2AssumeRolePolicy().Statement).toEqual([
      { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
    ]);
  });

  test("minions' docker config: the credential helper for the ECR host, no auth entry", () => {
    const host = ecrRegistryHost("123456789012", "eu-west-1");
    expect(host).toBe("123456789012.dkr.ecr.eu-west-1.amazonaws.com");
    expect(ecrDockerConfig(host)).toEqual({ credHelpers: { [host]: "ecr-login" } });
  });
});
