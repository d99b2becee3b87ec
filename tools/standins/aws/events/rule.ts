/**
 * `aws:cloudwatch/eventRule:EventRule` and `aws:cloudwatch/eventTarget:EventTarget`
 * (EventBridge).
 *
 * Replacement, from terraform-provider-aws: internal/service/events/rule.go (ForceNew: `name`,
 * `name_prefix`, `event_bus_name`; pattern, schedule, description, role, state and tags change
 * in place with PutRule; Pulumi auto-names `name` within 64 characters; the id is the name, or
 * `<bus>/<name>` on another bus) and target.go (ForceNew: `rule`, `target_id`,
 * `event_bus_name`; everything else is a new PutTargets; Pulumi auto-names `targetId`; the id
 * is `<rule>-<targetId>`, or `<bus>/<rule>/<targetId>`). The v7 `region` replaces.
 */
import {
  DeleteRuleCommand,
  DescribeRuleCommand,
  ListTagsForResourceCommand,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type RuleState,
} from "@aws-sdk/client-eventbridge";
import type { ResourceType } from "../../lib/provider";
import { events, isCode, send } from "../clients";
import { deleteIgnoringNotFound, regional, regionOf, retryWhile, type Regional } from "../common";
import { autoName, nameOrPrefixed } from "../naming";
import { tagChanges, tagList, tagMap, tagsAll } from "../tags";

const DEFAULT_BUS = "default";
const busOf = (bus?: string) => (bus && bus !== DEFAULT_BUS ? bus : undefined);

interface RuleInputs extends Regional {
  name?: string;
  namePrefix?: string;
  eventBusName?: string;
  description?: string;
  eventPattern?: string;
  scheduleExpression?: string;
  roleArn?: string;
  state?: string;
}

const putRule = (name: string, i: RuleInputs, region: string, what: string) =>
  send(
    `${what} EventBridge Rule (${name})`,
    events(region),
    new PutRuleCommand({
      Name: name,
      EventBusName: busOf(i.eventBusName),
      Description: i.description,
      EventPattern: i.eventPattern,
      ScheduleExpression: i.scheduleExpression,
      RoleArn: i.roleArn,
      State: (i.state ?? "ENABLED") as RuleState,
      Tags: what === "creating" && i.tags && Object.keys(i.tags).length > 0 ? tagList(i.tags) : undefined,
    }),
  );

async function describeRule(name: string, bus: string | undefined, region: string) {
  let r;
  try {
    r = await send(
      `reading EventBridge Rule (${name})`,
      events(region),
      new DescribeRuleCommand({ Name: name, EventBusName: busOf(bus) }),
    );
  } catch (err) {
    if (isCode(err, "ResourceNotFoundException")) return undefined;
    throw err;
  }
  const tags = (
    await send(
      `listing tags for EventBridge Rule (${name})`,
      events(region),
      new ListTagsForResourceCommand({ ResourceARN: r.Arn }),
    )
  ).Tags;
  return {
    arn: r.Arn,
    name: r.Name,
    eventBusName: r.EventBusName ?? DEFAULT_BUS,
    state: r.State,
    tagsAll: tagsAll(tagMap(tags)),
    region,
  };
}

const ruleName = (id: string) => id.split("/").pop()!;

export const eventRule: ResourceType<RuleInputs, RuleInputs> = {
  inputs: {
    ...regional,
    name: true,
    namePrefix: true,
    eventBusName: true,
    description: true,
    eventPattern: true,
    scheduleExpression: true,
    roleArn: true,
    state: true,
    tags: true,
  },
  outputs: ["arn", "name", "eventBusName", "state", "tagsAll", "region"],
  replaceOnChanges: ["name", "namePrefix", "eventBusName", "region"],
  check(news, olds, name) {
    if (news.name != null && news.namePrefix != null) throw new Error('"name": conflicts with namePrefix');
    return autoName(news, olds, name, { prefixKey: "namePrefix", maxLength: 64 });
  },
  async create(i) {
    const region = regionOf(i);
    const name = nameOrPrefixed(i.name, i.namePrefix);
    await putRule(name, i, region, "creating");
    const bus = busOf(i.eventBusName);
    return { id: bus ? `${bus}/${name}` : name, outs: await describeRule(name, bus, region) };
  },
  async update(id, olds, news) {
    const region = regionOf(news);
    const name = ruleName(id);
    await putRule(name, news, region, "updating");
    const live = await describeRule(name, news.eventBusName, region);
    const { set, remove } = tagChanges(olds.tags, news.tags);
    if (live?.arn && remove.length > 0)
      await send(
        `updating EventBridge Rule (${name}) tags`,
        events(region),
        new UntagResourceCommand({ ResourceARN: live.arn, TagKeys: remove }),
      );
    if (live?.arn && Object.keys(set).length > 0)
      await send(
        `updating EventBridge Rule (${name}) tags`,
        events(region),
        new TagResourceCommand({ ResourceARN: live.arn, Tags: tagList(set) }),
      );
    return describeRule(name, news.eventBusName, region);
  },
  async delete(id, state) {
    // A rule with targets cannot be deleted: the targets (their own resources) go first; the
    // real provider retries while the last removal settles.
    await deleteIgnoringNotFound(["ResourceNotFoundException"], () =>
      retryWhile(["ValidationException"], () =>
        send(
          `deleting EventBridge Rule (${id})`,
          events(regionOf(state)),
          new DeleteRuleCommand({ Name: ruleName(id), EventBusName: busOf(state.eventBusName) }),
        ),
      ),
    );
  },
  read: (id, state) => describeRule(ruleName(id), state.eventBusName, regionOf(state)),
};

interface TargetInputs extends Regional {
  rule: string;
  targetId: string;
  eventBusName?: string;
  arn: string;
  roleArn?: string;
  input?: string;
  inputPath?: string;
  retryPolicy?: { maximumEventAgeInSeconds?: number; maximumRetryAttempts?: number };
  deadLetterConfig?: { arn?: string };
  sqsTarget?: { messageGroupId?: string };
}

const putTarget = async (i: TargetInputs, region: string, what: string) => {
  const out = await send(
    `${what} EventBridge Target (${i.rule}-${i.targetId})`,
    events(region),
    new PutTargetsCommand({
      Rule: i.rule,
      EventBusName: busOf(i.eventBusName),
      Targets: [
        {
          Id: i.targetId,
          Arn: i.arn,
          RoleArn: i.roleArn,
          Input: i.input,
          InputPath: i.inputPath,
          RetryPolicy: i.retryPolicy && {
            MaximumEventAgeInSeconds: i.retryPolicy.maximumEventAgeInSeconds,
            MaximumRetryAttempts: i.retryPolicy.maximumRetryAttempts,
          },
          DeadLetterConfig: i.deadLetterConfig && { Arn: i.deadLetterConfig.arn },
          SqsParameters: i.sqsTarget && { MessageGroupId: i.sqsTarget.messageGroupId },
        },
      ],
    }),
  );
  const failed = out.FailedEntries?.[0];
  if (failed)
    throw new Error(
      `${what} EventBridge Target (${i.rule}-${i.targetId}): failure entry: ${failed.ErrorCode}: ${failed.ErrorMessage}`,
    );
};

async function describeTarget(i: TargetInputs, region: string) {
  try {
    const out = await send(
      `reading EventBridge Target (${i.rule}-${i.targetId})`,
      events(region),
      new ListTargetsByRuleCommand({ Rule: i.rule, EventBusName: busOf(i.eventBusName) }),
    );
    const t = out.Targets?.find((x) => x.Id === i.targetId);
    return t ? { arn: t.Arn, eventBusName: i.eventBusName ?? DEFAULT_BUS, region } : undefined;
  } catch (err) {
    if (isCode(err, "ResourceNotFoundException")) return undefined;
    throw err;
  }
}

export const eventTarget: ResourceType<TargetInputs, TargetInputs> = {
  inputs: {
    ...regional,
    rule: true,
    targetId: true,
    eventBusName: true,
    arn: true,
    roleArn: true,
    input: true,
    inputPath: true,
    retryPolicy: ["maximumEventAgeInSeconds", "maximumRetryAttempts"],
    deadLetterConfig: ["arn"],
    sqsTarget: ["messageGroupId"],
  },
  outputs: ["eventBusName", "region"],
  replaceOnChanges: ["rule", "targetId", "eventBusName", "region"],
  check: (news, olds, name) => autoName(news, olds, name, { key: "targetId" }),
  async create(i) {
    const region = regionOf(i);
    await putTarget(i, region, "creating");
    const bus = busOf(i.eventBusName);
    return {
      id: bus ? `${bus}/${i.rule}/${i.targetId}` : `${i.rule}-${i.targetId}`,
      outs: { eventBusName: i.eventBusName ?? DEFAULT_BUS, region },
    };
  },
  async update(_id, _olds, news) {
    await putTarget(news, regionOf(news), "updating");
    return { eventBusName: news.eventBusName ?? DEFAULT_BUS, region: regionOf(news) };
  },
  async delete(id, state) {
    await deleteIgnoringNotFound(["ResourceNotFoundException"], () =>
      send(
        `deleting EventBridge Target (${id})`,
        events(regionOf(state)),
        new RemoveTargetsCommand({
          Rule: state.rule,
          EventBusName: busOf(state.eventBusName),
          Ids: [state.targetId],
        }),
      ),
    );
  },
  read: (_id, state) => describeTarget(state, regionOf(state)),
};
