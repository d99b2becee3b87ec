/** The AWS event path's rendered documents, by value (the component and the moto proof use them). */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
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
  renderSqsEngineConfig,
} from "../aws-events";
import { BOTO3_PINS } from "../install";

const QUEUE = "arn:aws:sqs:eu-west-1:123456789012:prod-events";
const RULE = "arn:aws:events:eu-west-1:123456789012:rule/prod-push";
const REPO = "arn:aws:ecr:eu-west-1:123456789012:repository/saltpipe/app";

describe("aws-events render", () => {
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

  test("engine config on AWS: long polling, the stack's account and region, no emulator", () => {
    const text = renderSqsEngineConfig({
      queueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/prod-events",
      region: "eu-west-1",
      account: "123456789012",
    });
    expect(parse(text)).toEqual({
      engines: [
        {
          saltpipe_sqs: {
            queue_url: "https://sqs.eu-west-1.amazonaws.com/123456789012/prod-events",
            region: "eu-west-1",
            wait_seconds: 20,
            max_messages: 10,
          },
        },
      ],
      saltpipe: {
        events: {
          transport: "sqs",
          account: "123456789012",
          region: "eu-west-1",
          allow_missing_account: false,
        },
      },
    });
  });

  test("engine config for an emulator: endpoints, and a missing event account accepted", () => {
    const config = parse(
      renderSqsEngineConfig({
        queueUrl: "http://moto:5000/123456789012/q",
        region: "eu-west-1",
        account: "123456789012",
        endpointUrl: "http://moto:5000",
        metadataEndpoint: "http://moto:5000",
        waitSeconds: 5,
      }),
    );
    expect(config.engines[0].saltpipe_sqs).toMatchObject({
      endpoint_url: "http://moto:5000",
      metadata_endpoint: "http://moto:5000",
      wait_seconds: 5,
    });
    expect(config.saltpipe.events.allow_missing_account).toBe(true);
  });

  test("engine config refuses bad values, naming them", () => {
    const ok = { queueUrl: "https://sqs/x", region: "eu-west-1", account: "123456789012" };
    expect(() => renderSqsEngineConfig({ ...ok, account: "12" })).toThrow(
      'account: want 12 digits, got "12"',
    );
    expect(() => renderSqsEngineConfig({ ...ok, region: "mars" })).toThrow('region: invalid "mars"');
    expect(() => renderSqsEngineConfig({ ...ok, waitSeconds: 21 })).toThrow(
      "waitSeconds: want 1..20, got 21",
    );
    expect(() => renderSqsEngineConfig({ ...ok, endpointUrl: "moto" })).toThrow(
      "endpointUrl: want http(s)://",
    );
    expect(() => renderSqsEngineConfig({ ...ok, queueUrl: "queue" })).toThrow('queueUrl: invalid "queue"');
  });

  test("minions' docker config: the credential helper for the ECR host, no auth entry", () => {
    const host = ecrRegistryHost("123456789012", "eu-west-1");
    expect(host).toBe("123456789012.dkr.ecr.eu-west-1.amazonaws.com");
    expect(ecrDockerConfig(host)).toEqual({ credHelpers: { [host]: "ecr-login" } });
  });

  test("the onedir master gets the boto3 pins of requirements/salt.txt", () => {
    const req = fs.readFileSync(path.join(__dirname, "../../../requirements/salt.txt"), "utf8");
    for (const pin of BOTO3_PINS) expect(req.split("\n")).toContain(pin);
  });
});
