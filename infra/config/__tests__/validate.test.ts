/**
 * The validator as a whole: the committed stack files, the defaults, one error naming every bad
 * key and the stack file, and the values of the salt and app sections. Each other section has
 * its own file beside this one.
 */
import { STACKS, stackConfig, WEBHOOK_SECRET } from "../../../test/unit/fixtures";
import { parse, problemsOf, prodAws, validAws } from "./helpers";

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

describe("bad values fail with the key and the stack file", () => {
  test("the message names the stack file and every bad key at once", () => {
    expect(() => parse({ ...validAws(), ...prodAws, minions: 0, deploy: { batch: "150%" } }, "prod")).toThrow(
      /^Invalid stack configuration in Pulumi\.prod\.yaml \(2 problems\):\n {2}- saltpipe:minions: 0 is out of range \(1\.\.500\)\n {2}- saltpipe:deploy\.batch: invalid value "150%"/,
    );
  });

  test.each([
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
      "bad health path",
      { app: { healthPath: "healthz" } },
      'app.healthPath: invalid value "healthz" (an absolute URL path such as /healthz)',
    ],
    ["port out of range", { app: { port: 70000 } }, "app.port: 70000 is out of range (1..65535)"],
    [
      "bad environment name",
      { environment: "dev prod" },
      "environment: invalid value \"dev prod\" (lowercase letters, digits and '-', at most 63 characters)",
    ],
    [
      "salt port out of range",
      { salt: { retPort: 70000 } },
      "salt.retPort: 70000 is out of range (1..65535)",
    ],
    [
      "bad repository",
      { registry: { repository: "Bad/Repo" } },
      'registry.repository: invalid value "Bad/Repo" (lowercase path such as team/app)',
    ],
    [
      "an external registry named by URL",
      { registry: { kind: "external", server: "https://registry:5000" } },
      'registry.server: invalid value "https://registry:5000" (host[:port])',
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
});
