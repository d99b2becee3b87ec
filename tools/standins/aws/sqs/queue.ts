/**
 * `aws:sqs/queue:Queue` and `aws:sqs/queuePolicy:QueuePolicy`.
 *
 * Replacement, from terraform-provider-aws: internal/service/sqs/queue.go (ForceNew: `name`,
 * `name_prefix`, `fifo_queue`; every queue attribute and tags change in place with
 * SetQueueAttributes / TagQueue / UntagQueue; Pulumi auto-names `name` within 80 characters,
 * `.fifo` added for a FIFO queue) and queue_policy.go (ForceNew `queue_url`; the policy changes
 * in place, delete clears it). The v7 `region` replaces. The queue's id is its URL.
 */
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ListQueueTagsCommand,
  SetQueueAttributesCommand,
  TagQueueCommand,
  UntagQueueCommand,
  type QueueAttributeName,
} from "@aws-sdk/client-sqs";
import type { ResourceType } from "../../lib/provider";
import { isCode, send, sqs } from "../clients";
import { deleteIgnoringNotFound, regional, regionOf, type Regional } from "../common";
import { autoName, nameOrPrefixed } from "../naming";
import { tagChanges, tagsAll } from "../tags";

/** Inputs that are queue attributes: the SDK's name and the API's attribute name. */
const ATTRIBUTES: Record<string, QueueAttributeName> = {
  delaySeconds: "DelaySeconds",
  maxMessageSize: "MaximumMessageSize",
  messageRetentionSeconds: "MessageRetentionPeriod",
  receiveWaitTimeSeconds: "ReceiveMessageWaitTimeSeconds",
  visibilityTimeoutSeconds: "VisibilityTimeout",
  redrivePolicy: "RedrivePolicy",
  redriveAllowPolicy: "RedriveAllowPolicy",
  policy: "Policy",
  sqsManagedSseEnabled: "SqsManagedSseEnabled",
  kmsMasterKeyId: "KmsMasterKeyId",
  kmsDataKeyReusePeriodSeconds: "KmsDataKeyReusePeriodSeconds",
  contentBasedDeduplication: "ContentBasedDeduplication",
  fifoQueue: "FifoQueue",
};
/** The API's defaults, applied when an attribute is removed from the program. */
const DEFAULTS: Record<string, string> = {
  DelaySeconds: "0",
  MaximumMessageSize: "262144",
  MessageRetentionPeriod: "345600",
  ReceiveMessageWaitTimeSeconds: "0",
  VisibilityTimeout: "30",
  RedrivePolicy: "",
  RedriveAllowPolicy: "",
  Policy: "",
  SqsManagedSseEnabled: "true",
  KmsMasterKeyId: "",
  KmsDataKeyReusePeriodSeconds: "300",
  ContentBasedDeduplication: "false",
};

type QueueInputs = Regional & { name?: string; namePrefix?: string; fifoQueue?: boolean } & Record<
    string,
    unknown
  >;

function attributesOf(i: QueueInputs, only?: string[]): Partial<Record<QueueAttributeName, string>> {
  return Object.fromEntries(
    Object.entries(ATTRIBUTES)
      .filter(([k]) => (only ? only.includes(k) : i[k] !== undefined))
      .filter(([k]) => k !== "fifoQueue" || i.fifoQueue === true)
      .map(([k, api]) => [api, i[k] === undefined ? DEFAULTS[api] : String(i[k])]),
  );
}

async function describeQueue(url: string, region: string) {
  let attrs;
  try {
    attrs = (
      await send(
        `reading SQS Queue (${url})`,
        sqs(region),
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }),
      )
    ).Attributes;
  } catch (err) {
    if (isCode(err, "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")) return undefined;
    throw err;
  }
  if (!attrs) return undefined;
  const tags = (
    await send(
      `listing tags for SQS Queue (${url})`,
      sqs(region),
      new ListQueueTagsCommand({ QueueUrl: url }),
    )
  ).Tags;
  return {
    arn: attrs.QueueArn,
    url,
    name: attrs.QueueArn?.split(":").pop(),
    tagsAll: tagsAll(tags),
    region,
  };
}

export const queue: ResourceType<QueueInputs, QueueInputs> = {
  inputs: {
    ...regional,
    name: true,
    namePrefix: true,
    tags: true,
    ...Object.fromEntries(Object.keys(ATTRIBUTES).map((k) => [k, true])),
  },
  outputs: ["arn", "url", "name", "tagsAll", "region"],
  replaceOnChanges: ["name", "namePrefix", "fifoQueue", "region"],
  check(news, olds, name) {
    if (news.name != null && news.namePrefix != null) throw new Error('"name": conflicts with namePrefix');
    return autoName(news, olds, name, {
      prefixKey: "namePrefix",
      maxLength: 80,
      suffix: news.fifoQueue === true ? ".fifo" : "",
    });
  },
  async create(i) {
    const region = regionOf(i);
    const name = nameOrPrefixed(i.name, i.namePrefix) + (i.name == null && i.fifoQueue ? ".fifo" : "");
    const created = await send(
      `creating SQS Queue (${name})`,
      sqs(region),
      new CreateQueueCommand({
        QueueName: name,
        Attributes: attributesOf(i),
        tags: i.tags && Object.keys(i.tags).length > 0 ? i.tags : undefined,
      }),
    );
    const url = created.QueueUrl!;
    return { id: url, outs: await describeQueue(url, region) };
  },
  async update(url, olds, news) {
    const region = regionOf(news);
    const changed = Object.keys(ATTRIBUTES).filter(
      (k) => k !== "fifoQueue" && String(olds[k]) !== String(news[k]),
    );
    if (changed.length > 0)
      await send(
        `updating SQS Queue (${url}) attributes`,
        sqs(region),
        new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributesOf(news, changed) }),
      );
    const { set, remove } = tagChanges(olds.tags, news.tags);
    if (remove.length > 0)
      await send(
        `updating SQS Queue (${url}) tags`,
        sqs(region),
        new UntagQueueCommand({ QueueUrl: url, TagKeys: remove }),
      );
    if (Object.keys(set).length > 0)
      await send(
        `updating SQS Queue (${url}) tags`,
        sqs(region),
        new TagQueueCommand({ QueueUrl: url, Tags: set }),
      );
    return describeQueue(url, region);
  },
  async delete(url, state) {
    await deleteIgnoringNotFound(["AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"], () =>
      send(`deleting SQS Queue (${url})`, sqs(regionOf(state)), new DeleteQueueCommand({ QueueUrl: url })),
    );
  },
  read: (url, state) => describeQueue(url, regionOf(state)),
};

interface PolicyInputs extends Regional {
  queueUrl: string;
  policy: string;
}

const setPolicy = (url: string, region: string, policy: string, what: string) =>
  send(
    `${what} SQS Queue Policy (${url})`,
    sqs(region),
    new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Policy: policy } }),
  );

export const queuePolicy: ResourceType<PolicyInputs, PolicyInputs> = {
  inputs: { ...regional, queueUrl: true, policy: true },
  outputs: ["region"],
  replaceOnChanges: ["queueUrl", "region"],
  async create(i) {
    const region = regionOf(i);
    await setPolicy(i.queueUrl, region, i.policy, "creating");
    return { id: i.queueUrl, outs: { region } };
  },
  async update(url, _olds, news) {
    await setPolicy(url, regionOf(news), news.policy, "updating");
    return { region: regionOf(news) };
  },
  async delete(url, state) {
    await deleteIgnoringNotFound(["AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"], () =>
      setPolicy(url, regionOf(state), "", "deleting"),
    );
  },
  async read(url, state) {
    const region = regionOf(state);
    try {
      const attrs = (
        await send(
          `reading SQS Queue Policy (${url})`,
          sqs(region),
          new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["Policy"] }),
        )
      ).Attributes;
      return attrs?.Policy ? { region } : undefined;
    } catch (err) {
      if (isCode(err, "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")) return undefined;
      throw err;
    }
  },
};
