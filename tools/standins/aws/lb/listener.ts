/**
 * `aws:lb/listener:Listener`. Replacement, from terraform-provider-aws
 * internal/service/elbv2/listener.go: ForceNew `load_balancer_arn` only; port, protocol, SSL
 * policy, certificate, default actions and tags change in place (ModifyListener). The v7
 * `region` replaces. Default actions: `forward` (one target group), `redirect`, `fixed-response`.
 */
import {
  CreateListenerCommand,
  DeleteListenerCommand,
  DescribeListenersCommand,
  ModifyListenerCommand,
  type Action,
  type ProtocolEnum,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { ResourceType } from "../../lib/provider";
import { elbv2, isCode, send } from "../clients";
import { deleteIgnoringNotFound, regional, regionOf, type Regional } from "../common";
import { tagList, tagsAll } from "../tags";
import { readElbTags, updateElbTags } from "./tags";

interface DefaultAction {
  type: string;
  order?: number;
  targetGroupArn?: string;
  redirect?: {
    protocol?: string;
    port?: string;
    host?: string;
    path?: string;
    query?: string;
    statusCode: string;
  };
  fixedResponse?: { contentType: string; messageBody?: string; statusCode?: string };
}

interface ListenerInputs extends Regional {
  loadBalancerArn: string;
  port?: number;
  protocol?: string;
  sslPolicy?: string;
  certificateArn?: string;
  alpnPolicy?: string;
  defaultActions: DefaultAction[];
}

const REDIRECT = ["protocol", "port", "host", "path", "query", "statusCode"];
const FIXED = ["contentType", "messageBody", "statusCode"];

function checkAction(a: DefaultAction): void {
  const extra = (obj: object | undefined, known: string[]) =>
    Object.keys(obj ?? {}).filter((k) => !known.includes(k));
  const bad = [
    ...extra(a.redirect, REDIRECT).map((k) => `redirect.${k}`),
    ...extra(a.fixedResponse, FIXED).map((k) => `fixedResponse.${k}`),
  ];
  if (bad.length > 0)
    throw new Error(`defaultActions.${bad.join(", defaultActions.")} not supported by the offline stand-in`);
  if (!["forward", "redirect", "fixed-response"].includes(a.type))
    throw new Error(
      `defaultActions.type ${a.type} is not supported by the offline stand-in (forward, redirect, fixed-response)`,
    );
}

const actionOf = (a: DefaultAction): Action => ({
  Type: a.type as Action["Type"],
  Order: a.order,
  TargetGroupArn: a.type === "forward" ? a.targetGroupArn : undefined,
  RedirectConfig: a.redirect && {
    Protocol: a.redirect.protocol,
    Port: a.redirect.port,
    Host: a.redirect.host,
    Path: a.redirect.path,
    Query: a.redirect.query,
    StatusCode: a.redirect.statusCode as "HTTP_301",
  },
  FixedResponseConfig: a.fixedResponse && {
    ContentType: a.fixedResponse.contentType,
    MessageBody: a.fixedResponse.messageBody,
    StatusCode: a.fixedResponse.statusCode,
  },
});

const listenerRequest = (i: ListenerInputs) => ({
  Port: i.port,
  Protocol: i.protocol as ProtocolEnum,
  SslPolicy: i.sslPolicy,
  Certificates: i.certificateArn ? [{ CertificateArn: i.certificateArn }] : undefined,
  AlpnPolicy: i.alpnPolicy ? [i.alpnPolicy] : undefined,
  DefaultActions: i.defaultActions.map(actionOf),
});

async function describeListener(arn: string, region: string) {
  let l;
  try {
    l = (
      await send(
        `reading ELBv2 Listener (${arn})`,
        elbv2(region),
        new DescribeListenersCommand({ ListenerArns: [arn] }),
      )
    ).Listeners?.[0];
  } catch (err) {
    if (isCode(err, "ListenerNotFound")) return undefined;
    throw err;
  }
  if (!l) return undefined;
  return {
    arn,
    port: l.Port,
    protocol: l.Protocol,
    sslPolicy: l.SslPolicy ?? "",
    certificateArn: l.Certificates?.[0]?.CertificateArn ?? "",
    tagsAll: tagsAll(await readElbTags(`ELBv2 Listener (${arn})`, arn, region)),
    region,
  };
}

export const listener: ResourceType<ListenerInputs, ListenerInputs> = {
  inputs: {
    ...regional,
    loadBalancerArn: true,
    port: true,
    protocol: true,
    sslPolicy: true,
    certificateArn: true,
    alpnPolicy: true,
    defaultActions: ["type", "order", "targetGroupArn", "redirect", "fixedResponse"],
    tags: true,
  },
  outputs: ["arn", "port", "protocol", "sslPolicy", "certificateArn", "tagsAll", "region"],
  replaceOnChanges: ["loadBalancerArn", "region"],
  check(news) {
    const actions = news.defaultActions;
    if (Array.isArray(actions)) for (const a of actions as DefaultAction[]) checkAction(a);
    return news;
  },
  async create(i) {
    const region = regionOf(i);
    const created = await send(
      `creating ELBv2 Listener (${i.loadBalancerArn})`,
      elbv2(region),
      new CreateListenerCommand({
        LoadBalancerArn: i.loadBalancerArn,
        ...listenerRequest(i),
        Tags: i.tags && Object.keys(i.tags).length > 0 ? tagList(i.tags) : undefined,
      }),
    );
    const arn = created.Listeners![0].ListenerArn!;
    return { id: arn, outs: await describeListener(arn, region) };
  },
  async update(arn, olds, news) {
    const region = regionOf(news);
    await send(
      `modifying ELBv2 Listener (${arn})`,
      elbv2(region),
      new ModifyListenerCommand({ ListenerArn: arn, ...listenerRequest(news) }),
    );
    await updateElbTags(`ELBv2 Listener (${arn})`, arn, region, olds.tags, news.tags);
    return describeListener(arn, region);
  },
  async delete(arn, state) {
    await deleteIgnoringNotFound(["ListenerNotFound"], () =>
      send(
        `deleting ELBv2 Listener (${arn})`,
        elbv2(regionOf(state)),
        new DeleteListenerCommand({ ListenerArn: arn }),
      ),
    );
  },
  read: (arn, state) => describeListener(arn, regionOf(state)),
};
