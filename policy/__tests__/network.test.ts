import { prodHttpsListeners, prodMinionsPrivate } from "../network";
import { resourceViolations, UNKNOWN } from "./harness";

const INSTANCE = "aws:ec2/instance:Instance";
const LISTENER = "aws:lb/listener:Listener";

const minion = (props: Record<string, unknown>, stack = "prod") =>
  resourceViolations(prodMinionsPrivate, {
    type: INSTANCE,
    stack,
    props: { instanceType: "t3.small", tags: { "saltpipe:role": "minion" }, ...props },
  });

const listener = (props: Record<string, unknown>, stack = "prod", config: object = {}) =>
  resourceViolations(prodHttpsListeners, { type: LISTENER, stack, props, config });

describe("prod-minions-private", () => {
  test("a prod minion without a public address passes", async () => {
    expect(await minion({ associatePublicIpAddress: false })).toEqual([]);
  });

  test("a prod minion with a public address, or without saying, fails", async () => {
    const message =
      "prod minion with a public IP address: set associatePublicIpAddress: false (reach it through the master)";
    expect(await minion({ associatePublicIpAddress: true })).toEqual([message]);
    expect(await minion({})).toEqual([message]);
  });

  test("the master, and minions of other stacks, may have public addresses", async () => {
    expect(await minion({ associatePublicIpAddress: true, tags: { "saltpipe:role": "master" } })).toEqual([]);
    expect(await minion({ associatePublicIpAddress: true }, "dev")).toEqual([]);
    expect(
      await minion(
        { associatePublicIpAddress: true, tags: { "saltpipe:role": "minion", environment: "prod" } },
        "x",
      ),
    ).toHaveLength(1);
  });
});

describe("prod-https-listeners", () => {
  const forward = [{ type: "forward", targetGroupArn: "arn:tg" }];
  const redirect = [
    { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
  ];

  test("HTTPS with a TLS 1.2+ policy, and HTTP that only redirects, pass", async () => {
    expect(
      await listener({
        port: 443,
        protocol: "HTTPS",
        sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
        defaultActions: forward,
      }),
    ).toEqual([]);
    expect(await listener({ port: 80, protocol: "HTTP", defaultActions: redirect })).toEqual([]);
  });

  test("plain HTTP that forwards fails on prod", async () => {
    expect(await listener({ port: 80, protocol: "HTTP", defaultActions: forward })).toEqual([
      "prod listener on port 80 serves plain HTTP: serve HTTPS (aws.certificateArn) and only redirect HTTP to it",
    ]);
  });

  test("an HTTPS listener with an old TLS policy fails", async () => {
    expect(
      await listener({
        port: 443,
        protocol: "HTTPS",
        sslPolicy: "ELBSecurityPolicy-2016-08",
        defaultActions: forward,
      }),
    ).toEqual([
      'prod HTTPS listener with ssl policy "ELBSecurityPolicy-2016-08": use a TLS 1.2+ policy such as ELBSecurityPolicy-TLS13-1-2-2021-06',
    ]);
  });

  test("other stacks, and prod with allowPlainHttp, may serve plain HTTP", async () => {
    expect(await listener({ port: 80, protocol: "HTTP", defaultActions: forward }, "dev")).toEqual([]);
    expect(
      await listener({ port: 80, protocol: "HTTP", defaultActions: forward }, "prod", {
        allowPlainHttp: true,
      }),
    ).toEqual([]);
  });

  test("a listener whose actions are not known yet (preview) is judged by what is known", async () => {
    expect(
      await listener({
        port: 80,
        protocol: "HTTP",
        defaultActions: [{ type: "forward", targetGroupArn: UNKNOWN }],
      }),
    ).toHaveLength(1);
  });
});
