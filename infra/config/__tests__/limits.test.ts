/**
 * Bad input caught before any resource: colliding ports, names past Docker/AWS limits, an
 * unknown cloud alone, and numbers that YAML changed (read from the stack file's own text).
 */
import { ConfigError, parseStackConfig, type RawSecrets } from "..";
import { stackFileFacts, type StackFileFacts } from "../stack-file";
import { testSecretsFor } from "../../../test/unit/fixtures";
import { RunError } from "@pulumi/pulumi/errors";

function problemsOf(raw: Record<string, unknown>, stackFile?: StackFileFacts, stack = "local"): string[] {
  const secrets: RawSecrets = testSecretsFor(raw, stack);
  try {
    parseStackConfig(raw, { stack, secrets, stackFile });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  return [];
}

const local = (extra: Record<string, unknown> = {}) => ({ cloud: "local", minions: 2, ...extra });
const aws = (extra: Record<string, unknown> = {}) => ({
  cloud: "aws",
  aws: { region: "eu-west-1" },
  adminCidrs: ["203.0.113.0/24"],
  minions: 1,
  ...extra,
});

test("a ConfigError is a pulumi.RunError (the CLI prints its message alone, no stack trace)", () => {
  const e = new ConfigError("Pulumi.x.yaml", ["minions: is required"]);
  expect(RunError.isInstance(e)).toBe(true);
  expect(e.message).toBe(
    "Invalid stack configuration in Pulumi.x.yaml (1 problem):\n  - saltpipe:minions: is required",
  );
});

describe("ports", () => {
  test("the proxy port may not be a blue/green slot port (nor SSH)", () => {
    expect(problemsOf(local({ app: { proxyPort: 18081 } }))).toEqual([
      "app.proxyPort: 18081 collides with the blue/green slot ports 18081/18082 the app containers are published on (choose another port)",
    ]);
    expect(problemsOf(aws({ app: { proxyPort: 18082 } }), undefined, "dev")).toHaveLength(1);
    expect(problemsOf(local({ app: { proxyPort: 22 } }))).toEqual([
      "app.proxyPort: 22 is the minions' SSH port",
    ]);
    expect(problemsOf(local({ app: { proxyPort: 8081 } }))).toEqual([]);
  });

  test("the registry port may not be one of the published app or SSH ports", () => {
    // appPortBase 50080, 2 minions: app 50080..50081, SSH 51080..51082.
    const base = { local: { appPortBase: 50080 } };
    expect(problemsOf(local({ ...base, registry: { port: 50081 } }))).toEqual([
      "registry.port: 50081 collides with the minions' app ports 50080..50081 published from local.appPortBase 50080 (choose a port outside 50080..51082)",
    ]);
    expect(problemsOf(local({ ...base, registry: { port: 51082 } }))).toEqual([
      "registry.port: 51082 collides with the hosts' SSH ports 51080..51082 published from local.appPortBase 50080 (choose a port outside 50080..51082)",
    ]);
    expect(problemsOf(local({ ...base, registry: { port: 50082 } }))).toEqual([]);
    expect(problemsOf(local({ ...base, registry: { port: 51580 } }))).toEqual([]);
  });

  test("SSH ports past 65535 for a high appPortBase", () => {
    expect(problemsOf(local({ local: { appPortBase: 64600 } }))).toEqual([
      "local.appPortBase: 64600 puts the SSH port of minion-2 at 65602, past 65535 (use at most 64533)",
    ]);
    expect(problemsOf(local({ local: { appPortBase: 64533 } }))).toEqual([]);
  });
});

describe("names", () => {
  test("local.namePrefix may not make a Docker name longer than 63 characters", () => {
    const prefix = "p".repeat(47); // + "-minion-2-docker" = 63
    expect(problemsOf(local({ local: { namePrefix: prefix } }))).toEqual([]);
    expect(problemsOf(local({ local: { namePrefix: `${prefix}q` } }))).toEqual([
      `local.namePrefix: "${prefix}q" makes the Docker name "${prefix}q-minion-1-docker" 64 characters long (at most 63: shorten the prefix to 47 characters or the host names)`,
    ]);
  });

  test("the environment name may not make an AWS name too long (IAM role: 64)", () => {
    const name = "e".repeat(40); // + "-registry-master" + "-xxxxxxx" = 64
    expect(problemsOf(aws({ environment: name }), undefined, "dev")).toEqual([]);
    expect(problemsOf(aws({ environment: `${name}e` }), undefined, "dev")).toEqual([
      `environment: "${name}e" makes the IAM role name "${name}e-registry-master-xxxxxxx" 65 characters long (AWS allows 64: use at most 40 characters)`,
    ]);
  });
});

test("an unknown cloud is reported alone (not with the AWS errors its fallback would raise)", () => {
  expect(problemsOf({ cloud: "azure", minions: 0, aws: {} })).toEqual([
    'cloud: invalid value "azure" (one of: aws, local, existing)',
  ]);
});

describe("numbers YAML changed: quote it", () => {
  const file = (body: string) => stackFileFacts(`config:\n${body}`)!;

  test("the stack file's text shows what YAML changed, and what was stored encrypted", () => {
    const facts = file(
      "  saltpipe:salt:\n    version: 3008.10\n  saltpipe:minions:\n    - name: a\n      port: 010\n" +
        '  saltpipe:app:\n    port: 8080\n    name: "010"\n  saltpipe:webhookSecret:\n    secure: v1:abc\n  other:x: 010\n',
    );
    expect(facts.changedNumbers).toEqual([
      { path: "salt.version", source: "3008.10", readAs: [3008.1] },
      { path: "minions[0].port", source: "010", readAs: [8, 10] },
    ]);
    expect([...facts.keys]).toEqual(["salt", "minions", "app", "webhookSecret"]);
    expect([...facts.secureKeys]).toEqual(["webhookSecret"]);
  });

  test("3008.10 read as 3008.1: one problem saying quote it, instead of 'expected a string'", () => {
    const facts = file(
      "  saltpipe:cloud: local\n  saltpipe:minions: 2\n  saltpipe:salt:\n    version: 3008.10\n",
    );
    expect(problemsOf(local({ salt: { version: 3008.1 } }), facts)).toEqual([
      'salt.version: 3008.10 is read by YAML as the number 3008.1: quote it ("3008.10")',
    ]);
    // Quoted, it is the release it says.
    expect(
      problemsOf(local({ salt: { version: "3008.10" } }), file('  saltpipe:salt:\n    version: "3008.10"\n')),
    ).toEqual([]);
  });

  test("010 read as 8 or 10 (whichever the engine's YAML made of it)", () => {
    const facts = file("  saltpipe:local:\n    appPortBase: 020070\n");
    for (const readAs of [20070, 8248]) {
      expect(problemsOf(local({ local: { appPortBase: readAs } }), facts)).toEqual([
        `local.appPortBase: 020070 is read by YAML as the number ${readAs}: quote it ("020070")`,
      ]);
    }
    // A file out of step with what the program got says nothing.
    expect(problemsOf(local({ local: { appPortBase: 20081 } }), facts)).toEqual([]);
  });
});

test("a secret given in plain text gets one problem (set it as a secret), not also 'is required'", () => {
  const raw = aws({
    registry: { kind: "ecr", username: "ci" },
    registryPassword: "plain",
    webhookSecret: "plain",
  });
  expect(problemsOf(raw, undefined, "dev")).toEqual([
    "webhookSecret: must be set as a secret: pulumi config set --secret webhookSecret",
    "registryPassword: must be set as a secret: pulumi config set --secret registryPassword",
  ]);
});
