/**
 * The environment's one entry point on AWS: an Application Load Balancer across the public
 * subnets, a target group on every minion's proxy port checked on the app's health path,
 * and either HTTPS (TLS 1.2+, HTTP redirected to HTTPS) or, without a certificate, plain HTTP.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ALB_SSL_POLICY } from "../config/defaults";

export interface LoadBalancerOptions {
  /** Path that answers 2xx/3xx when a minion's app is healthy (default `/healthz`). */
  readonly healthPath?: string;
  /** Deregistration delay: in-flight requests finish this long (≥ the deploy's drain time; default 10). */
  readonly drainSeconds?: number;
  /** ACM certificate ARN: HTTPS on 443 and HTTP → HTTPS; without it, plain HTTP on 80. */
  readonly certificateArn?: string;
  /** Health check interval in seconds (default 10): a failed minion is out after 2 intervals. */
  readonly healthIntervalSeconds?: number;
}

export interface AppLoadBalancer {
  readonly securityGroup: aws.ec2.SecurityGroup;
  readonly loadBalancer: aws.lb.LoadBalancer;
  readonly targetGroup: aws.lb.TargetGroup;
  readonly listeners: aws.lb.Listener[];
  /** `https://<dns>/` or `http://<dns>/`. */
  readonly url: pulumi.Output<string>;
}

export interface LoadBalancerArgs extends LoadBalancerOptions {
  readonly namePrefix: string;
  readonly vpcId: pulumi.Input<string>;
  readonly vpcCidr: string;
  readonly subnetIds: pulumi.Input<string>[];
  /** Port nginx serves the app on, on every minion. */
  readonly appPort: number;
  readonly tags: (suffix: string) => Record<string, string>;
}

/** ALB names allow 32 characters. */
const albName = (prefix: string, suffix: string) => `${prefix.slice(0, 31 - suffix.length)}-${suffix}`;

export function createLoadBalancer(
  name: string,
  args: LoadBalancerArgs,
  parent: pulumi.Resource,
): AppLoadBalancer {
  const opts = { parent };
  const https = args.certificateArn !== undefined;
  const listenPorts = https ? [80, 443] : [80];
  const securityGroup = new aws.ec2.SecurityGroup(
    `${name}-lb`,
    {
      vpcId: args.vpcId,
      description: https
        ? "Load balancer: HTTPS (and HTTP redirect) from anywhere"
        : "Load balancer: HTTP from anywhere",
      ingress: listenPorts.map((port) => ({
        protocol: "tcp",
        fromPort: port,
        toPort: port,
        cidrBlocks: ["0.0.0.0/0"],
        ipv6CidrBlocks: ["::/0"],
        description: port === 443 ? "HTTPS" : https ? "HTTP (redirected to HTTPS)" : "HTTP",
      })),
      egress: [
        {
          protocol: "tcp",
          fromPort: args.appPort,
          toPort: args.appPort,
          cidrBlocks: [args.vpcCidr],
          description: "to the minions' proxies",
        },
      ],
      tags: args.tags("lb"),
    },
    opts,
  );
  const loadBalancer = new aws.lb.LoadBalancer(
    `${name}-lb`,
    {
      name: albName(args.namePrefix, "lb"),
      loadBalancerType: "application",
      internal: false,
      subnets: args.subnetIds,
      securityGroups: [securityGroup.id],
      dropInvalidHeaderFields: true,
      tags: args.tags("lb"),
    },
    opts,
  );
  const interval = args.healthIntervalSeconds ?? 10;
  const targetGroup = new aws.lb.TargetGroup(
    `${name}-app`,
    {
      name: albName(args.namePrefix, "app"),
      vpcId: args.vpcId,
      port: args.appPort,
      protocol: "HTTP",
      targetType: "instance",
      deregistrationDelay: args.drainSeconds ?? 10,
      healthCheck: {
        enabled: true,
        protocol: "HTTP",
        port: "traffic-port",
        path: args.healthPath ?? "/healthz",
        matcher: "200-399",
        interval,
        timeout: Math.max(2, Math.min(interval - 1, 5)),
        healthyThreshold: 2,
        unhealthyThreshold: 2,
      },
      tags: args.tags("app"),
    },
    opts,
  );
  const forward = [{ type: "forward", targetGroupArn: targetGroup.arn }];
  const listener = (
    suffix: string,
    port: number,
    settings: Omit<aws.lb.ListenerArgs, "loadBalancerArn" | "port" | "tags">,
  ) =>
    new aws.lb.Listener(
      `${name}-${suffix}`,
      { loadBalancerArn: loadBalancer.arn, port, tags: args.tags(suffix), ...settings },
      opts,
    );
  const listeners = https
    ? [
        listener("https", 443, {
          protocol: "HTTPS",
          sslPolicy: ALB_SSL_POLICY,
          certificateArn: args.certificateArn,
          defaultActions: forward,
        }),
        listener("http", 80, {
          protocol: "HTTP",
          defaultActions: [
            { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
          ],
        }),
      ]
    : [listener("http", 80, { protocol: "HTTP", defaultActions: forward })];
  const url = pulumi.interpolate`${https ? "https" : "http"}://${loadBalancer.dnsName}/`;
  return { securityGroup, loadBalancer, targetGroup, listeners, url };
}
