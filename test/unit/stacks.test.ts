/**
 * The program as a whole under Pulumi mocks: bad config registers nothing, auto-names fit AWS
 * limits, stacks/index.ts exports the outputs. Per stack: aws-stack.test.ts, local-stack.test.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import { Environment, readStackConfig } from "../../infra";
import { AUTO_NAME_SUFFIX } from "../../infra/config/limits";
import { ROOT } from "./fixtures";
import { promiseOf, recorded, resetAll, settle, useStackFile as useStack } from "./mocks";

// Building a whole stack under mocks takes seconds on a busy machine.
jest.setTimeout(120_000);

describe("bad config fails before any resource is registered", () => {
  test.each([
    ["dev", { minions: 0 }, "saltpipe:minions: 0 is out of range"],
    ["local", { deploy: { batch: "0%" } }, "saltpipe:deploy.batch: invalid value"],
    ["prod", { adminCidrs: ["0.0.0.0/0"] }, "would open SSH to the whole internet"],
  ])("%s with %j", (stack, extra, message) => {
    resetAll();
    useStack(stack, extra);
    expect(() => readStackConfig()).toThrow(message);
    expect(() => readStackConfig()).toThrow(`Pulumi.${stack}.yaml`);
    expect(recorded).toEqual([]);
  });
});

describe("names fit AWS limits", () => {
  // Pulumi names these from the logical name plus "-" and 7 random characters.
  const LIMITS: Record<string, number> = {
    "aws:iam/role:Role": 64,
    "aws:iam/instanceProfile:InstanceProfile": 128,
    "aws:iam/rolePolicy:RolePolicy": 128,
    "aws:cloudwatch/eventRule:EventRule": 64,
    "aws:cloudwatch/eventTarget:EventTarget": 64,
    "aws:sqs/queue:Queue": 80,
    "aws:ec2/securityGroup:SecurityGroup": 255,
  };

  test("the longest environment name validation admits gives auto-names within every limit", async () => {
    const environment = "e".repeat(40);
    resetAll();
    useStack("dev", { environment });
    const env = new Environment(environment, { spec: readStackConfig(), projectDir: ROOT });
    await promiseOf(env.imageDigest);
    await settle();
    const named = recorded.filter((r) => r.type in LIMITS && r.inputs.name === undefined);
    expect(named.map((r) => r.type)).toEqual(expect.arrayContaining(Object.keys(LIMITS)));
    const over = named.filter((r) => r.name.length + AUTO_NAME_SUFFIX > LIMITS[r.type]);
    expect(over.map((r) => `${r.type} ${r.name}`)).toEqual([]);
    // One character more is refused before any resource.
    resetAll();
    useStack("dev", { environment: `${environment}e` });
    expect(() => readStackConfig()).toThrow("saltpipe:environment:");
    expect(recorded).toEqual([]);
  });
});

describe("the program", () => {
  test("stacks/index.ts exports the environment's outputs", async () => {
    resetAll();
    useStack("local");
    const program = await import("../../stacks/index");
    expect(Object.keys(program).sort()).toEqual([
      "appUrl",
      "appUrls",
      "environmentName",
      "hookCaCertificate",
      "imageDigest",
      "imageName",
      "masterAddress",
      "masterSsh",
      "masterSshKey",
      "registry",
      "webhookUrl",
    ]);
    expect(await promiseOf(program.webhookUrl)).toBe("https://master:8443/hook/saltpipe/registry");
    expect(await promiseOf(program.masterSsh)).toEqual({
      name: "master",
      host: "127.0.0.1",
      port: 19080,
      user: "root",
      hostKey: expect.stringMatching(/^ssh-ed25519 AAAA/),
    });
    expect(await pulumi.isSecret(program.masterSsh)).toBe(false);
    expect(await pulumi.isSecret(program.masterSshKey)).toBe(true);
    expect(await promiseOf(program.masterSshKey)).toContain("PRIVATE KEY");
  });
});
