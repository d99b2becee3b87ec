/**
 * The Pulumi edge of config: reads the current stack's `saltpipe:*` keys, validates them
 * all up front, and wraps the secret values as Pulumi secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import type { EnvironmentSpec } from "./spec";
import { CONFIG_NAMESPACE, parseStackConfig, type RawSecrets } from "./validate";

const SECRET_KEYS = ["webhookSecret", "registryPassword", "sshPrivateKey", "notifySecret"] as const;

/** The spec's secrets as Pulumi secrets: never printed, encrypted in state. */
export type Spec = EnvironmentSpec<pulumi.Output<string>>;

/** Secret keys the engine told the program about, or undefined when it told none. */
function secretKeyList(): string[] | undefined {
  const listed =
    pulumi.runtime.allConfig()["PULUMI_CONFIG_SECRET_KEYS"] ?? process.env.PULUMI_CONFIG_SECRET_KEYS;
  if (!listed) return undefined;
  try {
    const keys: unknown = JSON.parse(listed);
    return Array.isArray(keys) && keys.length > 0 ? keys.map(String) : undefined;
  } catch {
    return undefined;
  }
}

export function readStackConfig(stack: string = pulumi.getStack()): Spec {
  const prefix = `${CONFIG_NAMESPACE}:`;
  const raw: Record<string, unknown> = {};
  const secrets: Record<string, string> = {};
  const secretKeys = secretKeyList();
  for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    const isSecretKey = (SECRET_KEYS as readonly string[]).includes(key);
    // A secret key stored in plain text stays in `raw`, where validation rejects it.
    if (isSecretKey && (secretKeys === undefined || secretKeys.includes(fullKey))) secrets[key] = value;
    else raw[key] = value;
  }
  return asSecrets(parseStackConfig(raw, { stack, secrets: secrets as RawSecrets }));
}

export function asSecrets(spec: EnvironmentSpec<string>): Spec {
  const { webhookSecret, registryPassword, sshPrivateKey, notifySecret } = spec.secrets;
  return {
    ...spec,
    secrets: {
      webhookSecret: pulumi.secret(webhookSecret),
      registryPassword: registryPassword === undefined ? undefined : pulumi.secret(registryPassword),
      sshPrivateKey: pulumi.secret(sshPrivateKey),
      notifySecret: notifySecret === undefined ? undefined : pulumi.secret(notifySecret),
    },
  };
}
