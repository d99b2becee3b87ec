/**
 * Prod's shape on AWS: minions have no public address (they sit behind the load balancer and
 * are reached through the master), and the load balancer serves HTTPS — an HTTP listener may
 * only redirect to HTTPS, and HTTPS listeners use a TLS 1.2+ policy.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { isProd } from "./instances";

const INSTANCE = "aws:ec2/instance:Instance";
const LISTENERS = ["aws:lb/listener:Listener", "aws:alb/listener:Listener"];

/** ELB security policies that allow TLS 1.2 and newer only. */
export const TLS12_POLICIES = /^ELBSecurityPolicy-(TLS13-1-[23]-|TLS-1-2-|FS-1-2-)/;

export const prodMinionsPrivate: ResourceValidationPolicy = {
  name: "prod-minions-private",
  description:
    "Prod minions (tag saltpipe:role = minion) get no public IP address: set associatePublicIpAddress: false.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (args.type !== INSTANCE || !isProd(args.urn, args.props.tags)) return;
    if (args.props.tags?.["saltpipe:role"] !== "minion") return;
    if (args.props.associatePublicIpAddress !== false)
      reportViolation(
        "prod minion with a public IP address: set associatePublicIpAddress: false (reach it through the master)",
      );
  },
};

interface Action {
  readonly type?: string;
  readonly redirect?: { readonly protocol?: string };
}

export const prodHttpsListeners: ResourceValidationPolicy = {
  name: "prod-https-listeners",
  description:
    "Prod load balancers serve HTTPS with a TLS 1.2+ policy; an HTTP listener only redirects to HTTPS (config allowPlainHttp: true lifts this).",
  enforcementLevel: "mandatory",
  configSchema: { properties: { allowPlainHttp: { type: "boolean", default: false } } },
  validateResource: (args, reportViolation) => {
    if (!LISTENERS.includes(args.type) || !isProd(args.urn, args.props.tags)) return;
    const props = args.props;
    const protocol = String(props.protocol ?? "HTTP").toUpperCase();
    if (protocol === "HTTPS") {
      if (!TLS12_POLICIES.test(String(props.sslPolicy ?? "")))
        reportViolation(
          `prod HTTPS listener with ssl policy ${JSON.stringify(props.sslPolicy ?? "(default)")}: use a TLS 1.2+ policy such as ELBSecurityPolicy-TLS13-1-2-2021-06`,
        );
      return;
    }
    if (protocol !== "HTTP" || args.getConfig<{ allowPlainHttp?: boolean }>().allowPlainHttp === true) return;
    const actions = (props.defaultActions ?? []) as Action[];
    const redirects =
      actions.length > 0 &&
      actions.every((a) => a.type === "redirect" && String(a.redirect?.protocol).toUpperCase() === "HTTPS");
    if (!redirects)
      reportViolation(
        `prod listener on port ${props.port ?? "?"} serves plain HTTP: serve HTTPS (aws.certificateArn) and only redirect HTTP to it`,
      );
  },
};
