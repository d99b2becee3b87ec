/** What the validator's tests share: parsing a raw config, its problem lines, valid stacks. */
import { ConfigError, parseStackConfig, type RawSecrets } from "..";
import { testSecretsFor } from "../../../test/unit/fixtures";

export function parse(
  raw: Record<string, unknown>,
  stack = "dev",
  secrets: RawSecrets = testSecretsFor(raw, stack),
) {
  return parseStackConfig(raw, { stack, secrets });
}

/** The error's problem lines, for exact assertions. */
export function problemsOf(
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

export const CERTIFICATE =
  "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000";
/** A valid prod stack needs a certificate (or an explicit allowPlainHttp). */
export const prodAws = { aws: { region: "eu-west-1", certificateArn: CERTIFICATE } };

export const validAws = () => ({
  cloud: "aws",
  aws: { region: "eu-west-1" },
  adminCidrs: ["203.0.113.0/24"],
  minions: [{ name: "web-1", os: "ubuntu" }],
});
