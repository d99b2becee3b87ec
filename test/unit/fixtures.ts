/** Test inputs: the committed stack files and throwaway secrets. */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import type { RawSecrets } from "../../infra/config";
import { PACKAGE_ROOT } from "../../infra/paths";
import { ed25519KeyPair } from "../support/ssh-keys";

export const ROOT = PACKAGE_ROOT;
export const STACKS = ["local", "dev", "test", "prod"] as const;

/** A stack file's `saltpipe:*` keys, without the namespace. */
export function stackConfig(stack: string): Record<string, unknown> {
  const doc = parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as {
    config: Record<string, unknown>;
  };
  return Object.fromEntries(
    Object.entries(doc.config)
      .filter(([key]) => key.startsWith("saltpipe:"))
      .map(([key, value]) => [key.slice("saltpipe:".length), value]),
  );
}

let cachedKey: string | undefined;

/** A fresh ed25519 private key (generated once per test file). */
export function testPrivateKey(): string {
  cachedKey ??= ed25519KeyPair().private;
  return cachedKey;
}

export const WEBHOOK_SECRET = "test-webhook-secret-0123456789abcdef";

export const REGISTRY_PASSWORD = "test-registry-push-password-0123456789";

export function testSecrets(extra: Partial<RawSecrets> = {}): RawSecrets {
  return { webhookSecret: WEBHOOK_SECRET, sshPrivateKey: testPrivateKey(), ...extra };
}

/** testSecrets, plus the local registry's push password where the config is a local cloud. */
export function testSecretsFor(
  raw: Record<string, unknown>,
  stack: string,
  extra: Partial<RawSecrets> = {},
): RawSecrets {
  const local = raw.cloud === "local" || (raw.cloud === undefined && stack === "local");
  return testSecrets({ ...(local ? { registryPassword: REGISTRY_PASSWORD } : {}), ...extra });
}
