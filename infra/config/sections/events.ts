/**
 * `saltpipe:events`: how registry push events reach the master.
 *
 * - `hook` (default on local/existing): the registry posts to the master's hook proxy
 *   (bearer token / HMAC, see salt-states/README.md).
 * - `sqs` (the only transport on aws): ECR → EventBridge → SQS → the master's
 *   `saltpipe_sqs` engine. On aws the queue comes from the stack's own EcrRegistry; on
 *   another cloud the `sqs` block names the queue, and `endpointUrl` / `metadataEndpoint`
 *   point the engine at an AWS API emulator (moto) — **for emulators and testing only**;
 *   they are refused on aws.
 */
import * as c from "../checks";
import { EVENTS_KEYS, SQS_KEYS } from "../keys";
import type { Cloud } from "../spec";

export type EventTransport = "hook" | "sqs";

export interface SqsEventsSpec {
  /** Off aws: the queue URL (on aws it comes from the EcrRegistry component). */
  readonly queueUrl?: string;
  /** Region of the queue and of the events (default on aws: `aws.region`). */
  readonly region?: string;
  /** Account of the events (default on aws: the deploying account). */
  readonly account?: string;
  /** Emulators/testing only: AWS API endpoint (moto). */
  readonly endpointUrl?: string;
  /** Emulators/testing only: instance-metadata endpoint the engine's credentials come from. */
  readonly metadataEndpoint?: string;
  /** Long-polling wait, seconds (1..20). */
  readonly waitSeconds: number;
}

export interface EventsSpec {
  readonly transport: EventTransport;
  readonly sqs?: SqsEventsSpec;
}

const URL_RE = /^https?:\/\/[^\s/]+\/?$/;

export function parseEvents(p: c.Problems, value: unknown, cloud: Cloud): EventsSpec {
  const s = c.object(p, "events", value, EVENTS_KEYS);
  const transport = c.oneOf<EventTransport>(
    p,
    "events.transport",
    s.transport,
    ["hook", "sqs"],
    cloud === "aws" ? "sqs" : "hook",
  );
  if (cloud === "aws" && transport !== "sqs")
    p.add("events.transport", 'ECR events reach an aws master through SQS only: use "sqs" (the default)');
  if (transport === "hook") {
    if (s.sqs !== undefined) p.add("events.sqs", 'only applies to events.transport "sqs"');
    return { transport };
  }
  const q = c.object(p, "events.sqs", s.sqs, SQS_KEYS);
  const offAws = cloud !== "aws";
  const need = (key: string, v: unknown, opts: { pattern: RegExp; hint: string }) =>
    offAws ? c.string(p, `events.sqs.${key}`, v, opts) : c.optionalString(p, `events.sqs.${key}`, v, opts);
  const sqs: SqsEventsSpec = {
    queueUrl: need("queueUrl", q.queueUrl, { pattern: /^https?:\/\/\S+$/, hint: "the queue URL" }),
    region: need("region", q.region, { pattern: /^[a-z]{2}(-[a-z]+)+-[0-9]$/, hint: "e.g. eu-west-1" }),
    account: need("account", q.account, { pattern: /^[0-9]{12}$/, hint: "12 digits" }),
    endpointUrl: c.optionalString(p, "events.sqs.endpointUrl", q.endpointUrl, {
      pattern: URL_RE,
      hint: "http(s)://host[:port] of an AWS API emulator",
    }),
    metadataEndpoint: c.optionalString(p, "events.sqs.metadataEndpoint", q.metadataEndpoint, {
      pattern: URL_RE,
      hint: "http(s)://host[:port] of an emulator's instance metadata",
    }),
    waitSeconds: c.integer(p, "events.sqs.waitSeconds", q.waitSeconds, { default: 20, min: 1, max: 20 }),
  };
  if (!offAws) {
    for (const key of ["queueUrl", "account", "endpointUrl", "metadataEndpoint"] as const) {
      if (q[key] !== undefined)
        p.add(
          `events.sqs.${key}`,
          "is set by the stack itself on aws (emulators/testing use it off aws only)",
        );
    }
  }
  return { transport, sqs };
}
