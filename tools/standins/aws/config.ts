/**
 * The aws provider's configuration, resolved as the real provider resolves it:
 *   - region: the provider's `region` (from `aws:region` for the default provider), else
 *     AWS_REGION / AWS_DEFAULT_REGION; none is an error;
 *   - credentials: the AWS SDK's default chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 *     AWS_SESSION_TOKEN first, then shared files, then instance metadata), checked once with
 *     STS GetCallerIdentity unless `skipCredentialsValidation` (that call also gives the account);
 *   - endpoints: AWS_ENDPOINT_URL_<SERVICE> (EC2, ECR, ELASTIC_LOAD_BALANCING_V2, EVENTBRIDGE,
 *     IAM, SQS, STS), else AWS_ENDPOINT_URL, else the service's public endpoint — the
 *     variables the Terraform AWS provider honours, so pointing a stack at an emulator needs
 *     only the environment.
 * Any other provider setting is refused by name: the stand-in does not implement it.
 */
import type { Props } from "../lib/wire";

export interface AwsConfig {
  region: string;
  skipCredentialsValidation: boolean;
}

/** Provider inputs the stand-in accepts (the SDK sends the skip* flags as JSON text). */
const ACCEPTED = new Set([
  "region",
  "skipCredentialsValidation",
  "skipRegionValidation",
  "skipMetadataApiCheck",
  "skipRequestingAccountId",
  "version",
]);

let current: AwsConfig | undefined;

const flag = (v: unknown): boolean => v === true || v === "true";

/** Resolve the configuration from Configure's inputs (or `aws:config:<key>` variables); throws on a bad one. */
export function resolveConfig(args: Props | undefined, variables: Record<string, string>): AwsConfig {
  const inputs: Props =
    args ??
    Object.fromEntries(Object.entries(variables).map(([k, v]) => [k.replace(/^aws:(config:)?/, ""), v]));
  for (const [key, value] of Object.entries(inputs)) {
    if (value != null && value !== "" && !ACCEPTED.has(key))
      throw new Error(
        `aws:${key} is not supported by the offline aws stand-in (it reads aws:region; credentials and endpoints come from the environment)`,
      );
  }
  const region =
    (inputs.region as string | undefined) || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
  if (!region)
    throw new Error(
      "Missing required configuration variable 'region'\n\tplease set a value using the command `pulumi config set aws:region <value>`",
    );
  return { region, skipCredentialsValidation: flag(inputs.skipCredentialsValidation) };
}

export function setConfig(config: AwsConfig): void {
  current = config;
}

export function config(): AwsConfig {
  if (!current)
    throw new Error("the aws provider was not configured (no region): Configure was never called");
  return current;
}

/** The endpoint override for a service (its SDK service id, e.g. "Elastic Load Balancing v2"), if any. */
export function endpointFor(serviceId: string): string | undefined {
  const name = `AWS_ENDPOINT_URL_${serviceId.toUpperCase().replace(/ /g, "_")}`;
  return process.env[name] || process.env.AWS_ENDPOINT_URL || undefined;
}
