import { ConfigError, parseStackConfig, type RawSecrets } from "..";
import {
  REGISTRY_PASSWORD,
  STACKS,
  stackConfig,
  testSecrets,
  testSecretsFor,
  WEBHOOK_SECRET,
} from "../../../test/unit/fixtures";

function parse(
  raw: Record<string, unknown>,
  stack = "dev",
  secrets: RawSecrets = testSecretsFor(raw, stack),
) {
  return parseStackConfig(raw, { stack, secrets });
}

/** The error's problem lines, for exact assertions. */
function problemsOf(
  raw: Record<string, unknown>,
  stack = "dev",
  secrets: RawSecrets = testSecretsFor(raw, stack),
): string[] {
  try {
    parse(raw, stack, secrets);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  throw new Error("expected a ConfigError");
}

const CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000";
/** A valid prod stack needs a certificate (or an explicit allowPlainHttp). */
const prodAws = { aws: { region: "eu-west-1", certificateArn: CERTIFICATE } };

const validAws = () => ({
  cloud: "aws",
  aws: { region: "eu-west-1" },
  adminCidrs: ["203.0.113.0/24"],
  minions: [{ name: "web-1", os: "ubuntu" }],
});

describe("committed stack files", () => {
  test.each(STACKS)("Pulumi.%s.yaml validates", (stack) => {
    const spec = parse(stackConfig(stack), stack);
    expect(spec.stack).toBe(stack);
    expect(spec.environment).toBe(stack);
    expect(spec.minions.length).toBeGreaterThan(0);
    expect(spec.sshPublicKey).toMatch(/^ssh-ed25519 AAAA/);
  });

  test("local runs Debian container hosts installed with pip from a wheelhouse", () => {
    const spec = parse(stackConfig("local"), "local");
    expect(spec.cloud).toBe("local");
    expect(spec.minions.map((m) => [m.name, m.os])).toEqual([
      ["minion-1", "debian"],
      ["minion-2", "debian"],
    ]);
    expect(spec.salt).toMatchObject({
      installMethod: "pip",
      wheelhouseDir: ".state/wheelhouse",
      version: "3008.4",
    });
    expect(spec.registry.kind).toBe("local");
  });

  test("prod mixes Ubuntu and CentOS, rolls a quarter at a time, protects instances", () => {
    const spec = parse(stackConfig("prod"), "prod");
    expect(new Set(spec.minions.map((m) => m.os))).toEqual(new Set(["ubuntu", "centos"]));
    expect(spec.deploy.batch).toBe("25%");
    expect(spec.aws?.terminationProtection).toBe(true);
    expect(spec.salt.installMethod).toBe("onedir");
    expect(spec.registry.kind).toBe("ecr");
  });
});

describe("defaults", () => {
  test("a minimal aws stack gets every default from one place", () => {
    const spec = parse(validAws());
    expect(spec.master).toEqual({ name: "master", os: "ubuntu", instanceType: undefined });
    expect(spec.deploy).toEqual({
      batch: "50%",
      healthTimeoutSeconds: 60,
      drainSeconds: 10,
      keepImages: 3,
      tagPolicy: "",
      approval: { required: false, expiresMinutes: 60 },
      preSwitch: undefined,
      notify: { urls: [], timeoutSeconds: 5, retries: 3 },
      reconcileSeconds: 30,
    });
    expect(spec.app).toMatchObject({ name: "app", port: 8080, proxyPort: 80, healthPath: "/healthz" });
    expect(spec.aws).toMatchObject({
      availabilityZones: ["eu-west-1a", "eu-west-1b"],
      vpcCidr: "10.42.0.0/16",
      publicSubnetCidrs: ["10.42.1.0/24", "10.42.2.0/24"],
      privateSubnetCidrs: ["10.42.129.0/24", "10.42.130.0/24"],
      natGateways: "single",
      certificateArn: undefined,
      allowPlainHttp: false,
      terminationProtection: false,
    });
    expect(spec.minions[0].roles).toEqual(["app"]);
  });

  test("a minion count expands to named minions of minionOs", () => {
    const spec = parse({ ...validAws(), minions: "3", minionOs: "centos" });
    expect(spec.minions.map((m) => `${m.name}:${m.os}`)).toEqual([
      "minion-1:centos",
      "minion-2:centos",
      "minion-3:centos",
    ]);
  });

  test("JSON-encoded values (as pulumi stores objects) are decoded", () => {
    const spec = parse({ ...validAws(), deploy: JSON.stringify({ batch: 2 }), minions: 2 });
    expect(spec.deploy.batch).toBe("2");
  });

  test("secrets are carried through, untouched", () => {
    const spec = parse(validAws());
    expect(spec.secrets.webhookSecret).toBe(WEBHOOK_SECRET);
    expect(spec.secrets.sshPrivateKey).toContain("PRIVATE KEY");
  });
});

describe("deploy lifecycle keys", () => {
  test("tag policy, approval, pre-switch step, notifications and reconcile interval are read", () => {
    const spec = parse(
      {
        ...validAws(),
        deploy: {
          tagPolicy: "semver:>=1.2.0 <2.0.0 || ^3",
          approval: { required: "true", expiresMinutes: "30" },
          preSwitch: { command: ["npm", "run", "migrate"], timeoutSeconds: 120 },
          notify: { urls: ["https://hooks.example.com/deploys"], timeoutSeconds: 2, retries: 5 },
          reconcileSeconds: 15,
        },
      },
      "dev",
      testSecrets({ notifySecret: "n".repeat(32) }),
    );
    expect(spec.deploy).toMatchObject({
      tagPolicy: "semver:>=1.2.0 <2.0.0 || ^3",
      approval: { required: true, expiresMinutes: 30 },
      preSwitch: { command: ["npm", "run", "migrate"], timeoutSeconds: 120 },
      notify: { urls: ["https://hooks.example.com/deploys"], timeoutSeconds: 2, retries: 5 },
      reconcileSeconds: 15,
    });
  });

  test.each([
    "exact:stable",
    "glob:prod-*",
    "semver:^1.4",
    "semver:~1.2.3",
    "semver:1.x",
    "semver:*",
    "semver:>= 1.0.0-rc.1",
  ])("tag policy %s is valid", (tagPolicy) => {
    expect(parse({ ...validAws(), deploy: { tagPolicy } }).deploy.tagPolicy).toBe(tagPolicy);
  });

  test.each([
    [
      "regex:.*",
      'deploy.tagPolicy: invalid tag policy "regex:.*" (want exact:<tag>, glob:<pattern> or semver:<range>)',
    ],
    [
      "semver",
      'deploy.tagPolicy: invalid tag policy "semver" (want exact:<tag>, glob:<pattern> or semver:<range>)',
    ],
    ["semver:>=one", 'deploy.tagPolicy: invalid semver comparator ">=one"'],
    ["semver:1.x.3", 'deploy.tagPolicy: invalid semver comparator "1.x.3"'],
    ["semver:1.2 || ", 'deploy.tagPolicy: empty alternative in semver range "1.2 ||"'],
    [
      "semver:1.2-rc",
      'deploy.tagPolicy: invalid semver comparator "1.2-rc" (a pre-release needs a full version)',
    ],
    ["exact:no spaces", 'deploy.tagPolicy: invalid tag "no spaces" in exact: (a Docker tag)'],
    ["glob:a/b", 'deploy.tagPolicy: invalid pattern "a/b" in glob: (tag characters and * ? [ ] !)'],
  ])("tag policy %s fails naming the key", (tagPolicy, expected) => {
    expect(problemsOf({ ...validAws(), deploy: { tagPolicy } })).toEqual([expected]);
  });

  test("an invalid policy fails the preview naming the key and the stack file", () => {
    expect(() =>
      parse({ ...validAws(), ...prodAws, deploy: { tagPolicy: "semver:>=1.2.3.4" } }, "prod"),
    ).toThrow(
      /^Invalid stack configuration in Pulumi\.prod\.yaml \(1 problem\):\n {2}- saltpipe:deploy\.tagPolicy: invalid semver comparator ">=1\.2\.3\.4"$/,
    );
  });

  test.each([
    [{ approval: { required: "yes" } }, 'deploy.approval.required: expected true or false, got "yes"'],
    [{ approval: { expiresMinutes: 0 } }, "deploy.approval.expiresMinutes: 0 is out of range (1..43200)"],
    [{ approval: { when: "always" } }, "deploy.approval.when: unknown key (known: required, expiresMinutes)"],
    [
      { preSwitch: {} },
      "deploy.preSwitch.command: is required: an argv list such as [npm, run, migrate] (no shell)",
    ],
    [
      { preSwitch: { command: "npm run migrate" } },
      'deploy.preSwitch.command: expected a list of strings, got "npm run migrate"',
    ],
    [
      { preSwitch: { command: ["x"], timeoutSeconds: 0 } },
      "deploy.preSwitch.timeoutSeconds: 0 is out of range (1..3600)",
    ],
    [{ notify: { urls: ["ftp://x"] } }, 'deploy.notify.urls[0]: invalid URL "ftp://x" (an http(s) URL)'],
    [{ notify: { urls: "https://x" } }, 'deploy.notify.urls: expected a list of strings, got "https://x"'],
    [{ notify: { timeoutSeconds: 0 } }, "deploy.notify.timeoutSeconds: 0 is out of range (1..60)"],
    [{ notify: { retries: 11 } }, "deploy.notify.retries: 11 is out of range (0..10)"],
    [{ reconcileSeconds: 1 }, "deploy.reconcileSeconds: 1 is out of range (5..3600)"],
  ])("deploy %o fails naming the key", (deploy, expected) => {
    expect(
      problemsOf({ ...validAws(), deploy }, "dev", testSecrets({ notifySecret: "n".repeat(32) })),
    ).toEqual([expected]);
  });
});

describe("bad values fail with the key and the stack file", () => {
  test("the message names the stack file and every bad key at once", () => {
    expect(() => parse({ ...validAws(), ...prodAws, minions: 0, deploy: { batch: "150%" } }, "prod")).toThrow(
      /^Invalid stack configuration in Pulumi\.prod\.yaml \(2 problems\):\n {2}- saltpipe:minions: 0 is out of range \(1\.\.500\)\n {2}- saltpipe:deploy\.batch: invalid value "150%"/,
    );
  });

  test.each([
    [
      "unknown OS",
      { minions: [{ name: "a", os: "windows" }] },
      'minions[0].os: invalid value "windows" (one of: ubuntu, centos, debian)',
    ],
    ["0 minions", { minions: 0 }, "minions: 0 is out of range (1..500)"],
    ["empty minion list", { minions: [] }, "minions: must list at least 1 minion"],
    [
      "invalid CIDR",
      { adminCidrs: ["10.0.0.300/8"] },
      'adminCidrs[0]: invalid CIDR "10.0.0.300/8" (expected IPv4 like 203.0.113.0/24)',
    ],
    [
      "CIDR with host bits",
      { adminCidrs: ["10.1.2.3/16"] },
      'adminCidrs[0]: CIDR "10.1.2.3/16" has host bits set (did you mean 10.1.0.0/16?)',
    ],
    [
      "SSH open to the world",
      { adminCidrs: ["0.0.0.0/0"] },
      "adminCidrs[0]: 0.0.0.0/0 would open SSH to the whole internet",
    ],
    [
      "batch out of range",
      { deploy: { batch: "0" } },
      'deploy.batch: invalid value "0" (a count ≥ 1 such as 1, or a percentage 1%..100%)',
    ],
    [
      "batch larger than the fleet",
      { deploy: { batch: 5 } },
      "deploy.batch: 5 is larger than the number of minions (1)",
    ],
    [
      "batch over 100%",
      { deploy: { batch: "101%" } },
      'deploy.batch: invalid value "101%" (a count ≥ 1 such as 1, or a percentage 1%..100%)',
    ],
    [
      "bad salt version",
      { salt: { version: "latest" } },
      'salt.version: invalid value "latest" (an exact release such as 3008.4)',
    ],
    [
      "unknown install method",
      { salt: { installMethod: "yum" } },
      'salt.installMethod: invalid value "yum" (one of: onedir, pip)',
    ],
    [
      "typo in a key",
      { deploy: { bacth: "1" } },
      "deploy.bacth: unknown key (known: batch, healthTimeoutSeconds, drainSeconds, keepImages, tagPolicy, approval, preSwitch, notify, reconcileSeconds)",
    ],
    ["unknown top-level key", { minon: 2 }, expect.stringMatching(/^minon: unknown key \(known: cloud, /)],
    [
      "duplicate minion names",
      {
        minions: [
          { name: "a", os: "ubuntu" },
          { name: "a", os: "centos" },
        ],
      },
      'minions[1].name: duplicate name "a" (names must be unique, master included)',
    ],
    [
      "minion named like the master",
      { minions: [{ name: "master", os: "ubuntu" }] },
      'minions[0].name: duplicate name "master" (names must be unique, master included)',
    ],
    [
      "bad minion name",
      { minions: [{ name: "Web_1", os: "ubuntu" }] },
      expect.stringMatching(/^minions\[0\]\.name: invalid value "Web_1"/),
    ],
    [
      "bad health path",
      { app: { healthPath: "healthz" } },
      'app.healthPath: invalid value "healthz" (an absolute URL path such as /healthz)',
    ],
    ["port out of range", { app: { port: 70000 } }, "app.port: 70000 is out of range (1..65535)"],
    [
      "bad region",
      { aws: { region: "europe" } },
      'aws.region: invalid value "europe" (an AWS region such as eu-west-1)',
    ],
    [
      "subnet outside the VPC",
      { aws: { region: "eu-west-1", privateSubnetCidrs: ["10.42.8.0/24", "10.9.0.0/24"] } },
      "aws.privateSubnetCidrs[1]: 10.9.0.0/24 is not inside aws.vpcCidr 10.42.0.0/16",
    ],
    [
      "a key of an earlier release",
      { aws: { region: "eu-west-1", availabilityZone: "eu-west-1a" } },
      "aws.availabilityZone: was replaced by aws.availabilityZones (a list of at least 2 zones)",
    ],
    [
      "one zone",
      { aws: { region: "eu-west-1", availabilityZones: ["eu-west-1a"] } },
      "aws.availabilityZones: lists 1 zone(s): at least 2 are needed (the load balancer spans them)",
    ],
    [
      "a zone of another region",
      { aws: { region: "eu-west-1", availabilityZones: ["eu-west-1a", "us-east-1b"] } },
      "aws.availabilityZones[1]: us-east-1b is not in aws.region eu-west-1",
    ],
    [
      "a subnet per zone",
      { aws: { region: "eu-west-1", publicSubnetCidrs: ["10.42.1.0/24"] } },
      "aws.publicSubnetCidrs: lists 1 subnet(s) for 2 availability zones (one per zone)",
    ],
    [
      "a VPC too small for default subnets",
      { aws: { region: "eu-west-1", vpcCidr: "10.42.0.0/24" } },
      "aws.publicSubnetCidrs: is required: aws.vpcCidr 10.42.0.0/24 is too small for default /24 subnets (use /20 or larger, or list the subnets)",
    ],
    [
      "bad NAT choice",
      { aws: { region: "eu-west-1", natGateways: "none" } },
      expect.stringMatching(/^aws\.natGateways: invalid value "none"/),
    ],
    [
      "bad certificate ARN",
      { aws: { region: "eu-west-1", certificateArn: "my-cert" } },
      expect.stringMatching(/^aws\.certificateArn: invalid value "my-cert" \(an ACM certificate ARN/),
    ],
    [
      "bad AMI",
      { aws: { region: "eu-west-1", amis: { ubuntu: "ubuntu-24" } } },
      'aws.amis.ubuntu: invalid value "ubuntu-24" (an AMI id such as ami-0abc1234)',
    ],
    [
      "a local section on aws",
      { local: { namePrefix: "x" } },
      'local: only applies when cloud is "local" (this stack\'s cloud is "aws")',
    ],
    [
      "clashing ports",
      { salt: { apiPort: 4505 } },
      "salt: publishPort, retPort, apiPort and hookPort must differ",
    ],
  ])("%s", (_name, override, expected) => {
    expect(problemsOf({ ...validAws(), ...override })).toContainEqual(expected);
  });

  test("missing cloud, minions and aws region are required", () => {
    // Without a cloud nothing else can be judged: its problem comes alone.
    expect(problemsOf({ aws: {} }, "dev")).toEqual(["cloud: is required (one of: aws, local, existing)"]);
    expect(problemsOf({ cloud: "aws", aws: {} })).toContain(
      "minions: is required (a count such as 2, or a list of {name, os, roles})",
    );
    expect(problemsOf({ cloud: "aws", minions: 1, adminCidrs: ["10.0.0.0/8"] })).toContain(
      "aws.region: is required",
    );
  });

  test("aws needs adminCidrs", () => {
    const { adminCidrs: _omit, ...raw } = validAws();
    expect(problemsOf(raw)).toContainEqual(expect.stringMatching(/^adminCidrs: is required on aws/));
  });

  test("centos is refused on the local cloud (its host image is apt-based)", () => {
    expect(problemsOf({ cloud: "local", minions: [{ name: "a", os: "centos" }] }, "local")).toContainEqual(
      expect.stringMatching(/^minions\[0\]\.os: "centos" is not available on the local cloud/),
    );
  });

  test("existing hosts need addresses", () => {
    expect(
      problemsOf({
        cloud: "existing",
        master: { os: "ubuntu", address: "192.0.2.10" },
        minions: [{ name: "a", os: "ubuntu" }],
        registry: { server: "reg.example:5000" },
      }),
    ).toEqual(["minions[0].address: is required"]);
  });

  describe("secrets", () => {
    test("missing secrets are named with the command that sets them", () => {
      expect(problemsOf(validAws(), "dev", {})).toEqual([
        "sshPrivateKey: is required (pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519)",
        'webhookSecret: is required (pulumi config set --secret webhookSecret "$(openssl rand -hex 32)")',
      ]);
    });

    test("a short webhook secret is refused", () => {
      expect(problemsOf(validAws(), "dev", testSecrets({ webhookSecret: "short" }))).toEqual([
        "webhookSecret: is too short: use at least 16 characters (e.g. openssl rand -hex 32)",
      ]);
    });

    test("an unparsable SSH key is refused without echoing it", () => {
      const problems = problemsOf(validAws(), "dev", testSecrets({ sshPrivateKey: "not-a-key-SECRET-TEXT" }));
      expect(problems).toEqual(["sshPrivateKey: is not an unencrypted OpenSSH/PEM private key"]);
      expect(problems.join("\n")).not.toContain("SECRET-TEXT");
    });

    test("a secret stored in plain text is refused", () => {
      expect(problemsOf({ ...validAws(), webhookSecret: "plain-text-secret-value" })).toContain(
        "webhookSecret: must be set as a secret: pulumi config set --secret webhookSecret",
      );
    });

    test("notification URLs need a notifySecret, and it must be long enough", () => {
      const withUrls = { ...validAws(), deploy: { notify: { urls: ["https://hooks.example.com/deploys"] } } };
      expect(problemsOf(withUrls)).toEqual([
        'notifySecret: is required when deploy.notify.urls is set (pulumi config set --secret notifySecret "$(openssl rand -hex 32)")',
      ]);
      expect(problemsOf(withUrls, "dev", testSecrets({ notifySecret: "short" }))).toEqual([
        "notifySecret: is too short: use at least 16 characters (e.g. openssl rand -hex 32)",
      ]);
      expect(parse(withUrls, "dev", testSecrets({ notifySecret: "n".repeat(32) })).secrets.notifySecret).toBe(
        "n".repeat(32),
      );
      expect(problemsOf({ ...validAws(), notifySecret: "plain-text-secret-value" })).toContain(
        "notifySecret: must be set as a secret: pulumi config set --secret notifySecret",
      );
    });

    test("a registry user needs a password", () => {
      expect(problemsOf({ ...validAws(), registry: { kind: "ecr", username: "ci" } })).toContain(
        "registryPassword: is required when registry.username is set (pulumi config set --secret registryPassword …)",
      );
    });
  });
});

describe("aws: load balancer and network", () => {
  test("prod needs a certificate, or plain HTTP explicitly allowed", () => {
    expect(problemsOf(validAws(), "prod")).toEqual([
      "aws.certificateArn: is required on prod: the load balancer serves HTTPS with it (plain HTTP on prod only with aws.allowPlainHttp: true)",
    ]);
    const plain = parse({ ...validAws(), aws: { region: "eu-west-1", allowPlainHttp: true } }, "prod");
    expect(plain.aws).toMatchObject({
      certificateArn: undefined,
      allowPlainHttp: true,
      natGateways: "perAz",
    });
    const https = parse({ ...validAws(), ...prodAws }, "prod");
    expect(https.aws).toMatchObject({ certificateArn: CERTIFICATE, natGateways: "perAz" });
  });

  test("zones, subnets and NAT can be set; subnets follow the zones", () => {
    const spec = parse({
      ...validAws(),
      aws: {
        region: "eu-west-1",
        availabilityZones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
        vpcCidr: "10.7.0.0/20",
        natGateways: "perAz",
      },
    });
    expect(spec.aws).toMatchObject({
      publicSubnetCidrs: ["10.7.1.0/24", "10.7.2.0/24", "10.7.3.0/24"],
      privateSubnetCidrs: ["10.7.9.0/24", "10.7.10.0/24", "10.7.11.0/24"],
      natGateways: "perAz",
    });
  });
});

describe("existing: addresses and pinned host keys", () => {
  const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEl0ZWRpdG9yLWhvc3Qta2V5LWZvci10ZXN0cy0xMjM0";
  const existing = (master: Record<string, unknown>) => ({
    cloud: "existing",
    master: { os: "debian", address: "10.0.0.10", ...master },
    minions: [{ name: "web-1", os: "debian", address: "10.0.0.11", user: "ops", privateAddress: "web-1" }],
    registry: { server: "registry.example.com" },
  });

  test("a configured host key is pinned as `type base64`; privateAddress is kept", () => {
    const spec = parse(existing({ hostKey: `${HOST_KEY} root@master`, user: "ops" }), "onprem");
    expect(spec.master).toMatchObject({ hostKey: HOST_KEY, user: "ops" });
    expect(spec.minions[0]).toMatchObject({ privateAddress: "web-1", hostKey: undefined });
  });

  test("a host key that is no key, or an RSA key, is refused", () => {
    expect(problemsOf(existing({ hostKey: "not a key" }), "onprem")).toEqual([
      "master.hostKey: is not an SSH public key line such as `ssh-ed25519 AAAA…`",
    ]);
    const rsa = `ssh-rsa ${Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from("ssh-rsa")]).toString("base64")}`;
    expect(problemsOf(existing({ hostKey: rsa }), "onprem")[0]).toMatch(
      /^master\.hostKey: is a ssh-rsa key: pin an ssh-ed25519/,
    );
  });

  test("hostKey and privateAddress only apply to existing hosts", () => {
    expect(problemsOf({ ...validAws(), master: { hostKey: HOST_KEY } })).toEqual([
      'master.hostKey: only applies when cloud is "existing"',
    ]);
  });

  test("an external registry may be pulled under another name and over plain HTTP", () => {
    const spec = parse(
      {
        ...existing({}),
        registry: { server: "127.0.0.1:5000", pullServer: "registry:5000", insecure: true },
      },
      "onprem",
    );
    expect(spec.registry).toMatchObject({
      server: "127.0.0.1:5000",
      pullServer: "registry:5000",
      insecure: true,
    });
    expect(problemsOf({ ...validAws(), registry: { insecure: true } })).toEqual([
      'registry.insecure: only applies to kind "external"',
    ]);
  });
});

describe("events transport", () => {
  const validLocal = () => ({ ...stackConfig("local") });
  const moto = {
    queueUrl: "http://moto:5000/123456789012/q",
    region: "eu-west-1",
    account: "123456789012",
    endpointUrl: "http://moto:5000",
    metadataEndpoint: "http://moto:5000",
  };

  test("aws reads ECR events from SQS; local and existing from the hook", () => {
    expect(parse(validAws()).events).toEqual({ transport: "sqs", sqs: { waitSeconds: 20 } });
    expect(parse(validLocal(), "local").events).toEqual({ transport: "hook" });
  });

  test("off aws, the sqs transport names its queue, region and account (an emulator)", () => {
    const spec = parse({ ...validLocal(), events: { transport: "sqs", sqs: moto } }, "local");
    expect(spec.events).toEqual({ transport: "sqs", sqs: { ...moto, waitSeconds: 20 } });
  });

  test("bad or misplaced keys name the key", () => {
    expect(problemsOf({ ...validLocal(), events: { transport: "sqs" } }, "local")).toEqual([
      "events.sqs.queueUrl: is required",
      "events.sqs.region: is required",
      "events.sqs.account: is required",
    ]);
    expect(
      problemsOf(
        { ...validLocal(), events: { transport: "sqs", sqs: { ...moto, endpointUrl: "moto" } } },
        "local",
      ),
    ).toEqual([
      'events.sqs.endpointUrl: invalid value "moto" (http(s)://host[:port] of an AWS API emulator)',
    ]);
    expect(problemsOf({ ...validAws(), events: { transport: "hook" } })).toEqual([
      'events.transport: ECR events reach an aws master through SQS only: use "sqs" (the default)',
    ]);
    expect(problemsOf({ ...validAws(), events: { sqs: { endpointUrl: "http://moto:5000" } } })).toEqual([
      "events.sqs.endpointUrl: is set by the stack itself on aws (emulators/testing use it off aws only)",
    ]);
    expect(problemsOf({ ...validLocal(), events: { sqs: moto } }, "local")).toEqual([
      'events.sqs: only applies to events.transport "sqs"',
    ]);
  });
});

describe("the local entry point and the hook's certificate", () => {
  const local = (extra: Record<string, unknown> = {}) => ({ ...stackConfig("local"), ...extra });
  const CERT = "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n";
  const KEY = "-----BEGIN PRIVATE KEY-----\nMIIkey\n-----END PRIVATE KEY-----\n";

  test("local.lbPort defaults to appPortBase + 500 and can be set", () => {
    expect(parse(local(), "local").local).toMatchObject({
      lbPort: 18580,
      lbBaseImage: "saltpipe/debian-lb:bookworm",
    });
    expect(parse(local({ local: { appPortBase: 42080 } }), "local").local?.lbPort).toBe(42580);
    expect(parse(local({ local: { lbPort: 8000 } }), "local").local?.lbPort).toBe(8000);
  });

  test.each([
    [{ lbPort: 80 }, "local.lbPort: 80 is out of range (1024..65535)"],
    [{ lbPort: "x" }, 'local.lbPort: expected an integer, got "x"'],
    [{ lbPort: 18081 }, "local.lbPort: 18081 is one of the minions' ports (local.appPortBase 18080 + N)"],
    [
      { lbPort: 19080 },
      "local.lbPort: 19080 is one of the hosts' SSH ports (local.appPortBase 18080 + 1000 + N)",
    ],
  ])("local %j is refused", (value, message) => {
    expect(problemsOf(local({ local: value }), "local")).toEqual([message]);
  });

  test("no hookTls: the master makes its own; with one, the key must come as the secret hookTlsKey", () => {
    expect(parse(local(), "local").hookTls).toBeUndefined();
    const spec = parse(
      local({ hookTls: { certificate: CERT } }),
      "local",
      testSecretsFor(local(), "local", { hookTlsKey: KEY }),
    );
    expect(spec.hookTls).toEqual({ certificate: CERT, ca: CERT });
    expect(spec.secrets.hookTlsKey).toBe(KEY);
    expect(problemsOf(local({ hookTls: { certificate: CERT } }), "local")).toEqual([
      "hookTlsKey: is required with hookTls.certificate (pulumi config set --secret hookTlsKey < hook.key)",
    ]);
    expect(problemsOf(local(), "local", testSecretsFor(local(), "local", { hookTlsKey: KEY }))).toEqual([
      "hookTlsKey: is only used with hookTls.certificate (set both, or neither)",
    ]);
    expect(
      problemsOf(
        local({ hookTls: { certificate: "nope", ca: CERT } }),
        "local",
        testSecretsFor(local(), "local", { hookTlsKey: "x" }),
      ),
    ).toEqual([
      "hookTls.certificate: expected a PEM certificate (-----BEGIN CERTIFICATE----- …)",
      "hookTlsKey: is not a PEM private key",
    ]);
    expect(
      problemsOf(
        local({ hookTlsKey: KEY, hookTls: { certificate: CERT } }),
        "local",
        testSecretsFor(local(), "local", { hookTlsKey: KEY }),
      ),
    ).toEqual(["hookTlsKey: must be set as a secret: pulumi config set --secret hookTlsKey"]);
  });
});

describe("the local registry's push password", () => {
  const local = () => ({ ...stackConfig("local") });
  test("required on local (only the pipeline pushes), at least 16 characters; never given to minions", () => {
    expect(problemsOf(local(), "local", testSecrets())).toEqual([
      'registryPassword: is required for the local registry: only the pipeline pushes, with this password (scripts/local-stack.sh makes one; or pulumi config set --secret registryPassword "$(openssl rand -hex 32)")',
    ]);
    expect(problemsOf(local(), "local", testSecrets({ registryPassword: "short" }))).toEqual([
      "registryPassword: must be at least 16 characters (openssl rand -hex 32)",
    ]);
    expect(parse(local(), "local").secrets.registryPassword).toBe(REGISTRY_PASSWORD);
    expect(problemsOf({ ...local(), registry: { username: "a:b" } }, "local")).toEqual([
      'registry.username: invalid value "a:b" (the local registry\'s push user: letters, digits, . _ -, at most 64)',
    ]);
  });
});
