/** `deploy`: the batch, the tag policy, approval, the pre-switch step, notifications, reconcile. */
import { testSecrets } from "../../../test/unit/fixtures";
import { parse, problemsOf, prodAws, validAws } from "./helpers";

describe("deploy.batch", () => {
  test.each([
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
      "batch neither a count nor a percentage",
      { deploy: { batch: "half" } },
      'deploy.batch: invalid value "half" (a count ≥ 1 such as 1, or a percentage 1%..100%)',
    ],
    [
      "batch past 100% written as a percentage",
      { deploy: { batch: "150%" } },
      'deploy.batch: invalid value "150%" (a count ≥ 1 such as 1, or a percentage 1%..100%)',
    ],
  ])("%s", (_name, override, expected) => {
    expect(problemsOf({ ...validAws(), ...override })).toContainEqual(expected);
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
      { preSwitch: { command: [] } },
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
