/**
 * The Pulumi edge of config: reads the current stack's `saltpipe:*` keys, validates them
 * all up front, and wraps the secret values as Pulumi secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import type { EnvironmentSpec } from "./spec";
import { stackFileFacts, type StackFileFacts } from "./stack-file";
import { CONFIG_NAMESPACE, parseStackConfig, stackFileOf, type RawSecrets } from "./validate";

const SECRET_KEYS = [
  "webhookSecret",
  "registryPassword",
  "sshPrivateKey",
  "notifySecret",
  "hookTlsKey",
] as const;

/** The spec's secrets as Pulumi secrets: never printed, encrypted in state. */
export type Spec = EnvironmentSpec<pulumi.Output<string>>;

export interface ReadOptions {
  /** Where `Pulumi.<stack>.yaml` lives (default: the project's root directory, else the working directory). */
  readonly projectDir?: string;
}

/**
 * Whether the engine handed the program this key as a secret. Every way a program runs fills the
 * same store: the CLI's language host (PULUMI_CONFIG_SECRET_KEYS), the Automation API's inline
 * programs and `pulumi.runtime.setAllConfig(config, secretKeys)` under mocks. The SDK's reader is
 * internal (not in its typings); without it, the environment variable. Unknown means not secret.
 */
function engineMarkedSecret(fullKey: string): boolean {
  const reader = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
  if (typeof reader === "function") return reader(fullKey);
  try {
    const listed: unknown = JSON.parse(process.env.PULUMI_CONFIG_SECRET_KEYS ?? "[]");
    return Array.isArray(listed) && listed.includes(fullKey);
  } catch {
    return false;
  }
}

/**
 * The stack file's facts, when it can be read (a program may run without one: Automation API, mocks).
 * Looked for in the project's root directory, then the working directory (where the CLI runs the
 * program). The SDK's root directory is not always a path: with CLI 3.274 and SDK 3.248 it is the
 * literal text "rootDirectory".
 */
function readStackFile(stack: string, dirs: readonly string[]): StackFileFacts | undefined {
  for (const dir of dirs.filter((d) => path.isAbsolute(d))) {
    let text: string;
    try {
      text = fs.readFileSync(path.join(dir, stackFileOf(stack)), "utf8");
    } catch {
      continue;
    }
    return stackFileFacts(text);
  }
  return undefined;
}

export function readStackConfig(stack: string = pulumi.getStack(), opts: ReadOptions = {}): Spec {
  const dirs = opts.projectDir ? [opts.projectDir] : [pulumi.runtime.getRootDirectory(), process.cwd()];
  const stackFile = readStackFile(stack, dirs);
  const prefix = `${CONFIG_NAMESPACE}:`;
  const raw: Record<string, unknown> = {};
  const secrets: Record<string, string> = {};
  for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    // A secret key is taken as a secret only when the engine says so and the stack file (when
    // read) does not hold it in plain text; otherwise it stays in `raw`, where validation refuses it.
    const plainInFile = stackFile !== undefined && stackFile.keys.has(key) && !stackFile.secureKeys.has(key);
    const isSecretKey = (SECRET_KEYS as readonly string[]).includes(key);
    if (isSecretKey && engineMarkedSecret(fullKey) && !plainInFile) secrets[key] = value;
    else raw[key] = value;
  }
  return asSecrets(parseStackConfig(raw, { stack, secrets: secrets as RawSecrets, stackFile }));
}

export function asSecrets(spec: EnvironmentSpec<string>): Spec {
  const { webhookSecret, registryPassword, sshPrivateKey, notifySecret, hookTlsKey } = spec.secrets;
  return {
    ...spec,
    secrets: {
      webhookSecret: pulumi.secret(webhookSecret),
      registryPassword: registryPassword === undefined ? undefined : pulumi.secret(registryPassword),
      sshPrivateKey: pulumi.secret(sshPrivateKey),
      notifySecret: notifySecret === undefined ? undefined : pulumi.secret(notifySecret),
      hookTlsKey: hookTlsKey === undefined ? undefined : pulumi.secret(hookTlsKey),
    },
  };
}
