/**
 * Validates a stack's raw `saltpipe:*` config into an EnvironmentSpec, all at once:
 * every problem is reported in one error naming the key and the stack file, before
 * any resource is registered. Each section has its own parser (./sections/); this module
 * runs them, adds the checks across sections, and reports.
 */
import { RunError } from "@pulumi/pulumi/errors";
import * as c from "./checks";
import { TOP_LEVEL_KEYS } from "./keys";
import { checkAwsNames, checkLocalNames, checkLocalPorts, checkProxyPort } from "./limits";
import { parseApp } from "./sections/app";
import { parseAws } from "./sections/aws";
import { parseDeploy } from "./sections/deploy";
import { parseEvents } from "./sections/events";
import { parseHookTls } from "./sections/hook-tls";
import { parseAdminCidrs, parseMaster, parseMinions } from "./sections/hosts";
import { parseLocal } from "./sections/local";
import { parseRegistry } from "./sections/registry";
import { parseSalt } from "./sections/salt";
import { checkNotifySecret, checkPlainSecrets, checkWebhookSecret, publicKeyOf } from "./sections/secrets";
import type { Cloud, EnvironmentSpec } from "./spec";
import type { StackFileFacts } from "./stack-file";

export const CONFIG_NAMESPACE = "saltpipe";

const CLOUDS: readonly Cloud[] = ["aws", "local", "existing"];

/** Plaintext secret values, read by the Pulumi shell; they never appear in an error. */
export interface RawSecrets {
  readonly webhookSecret?: string;
  readonly registryPassword?: string;
  readonly sshPrivateKey?: string;
  readonly notifySecret?: string;
  readonly hookTlsKey?: string;
}

/**
 * A `RunError`, so the Pulumi CLI prints just this message: no stack trace, no second copy.
 */
export class ConfigError extends RunError {
  constructor(
    readonly stackFile: string,
    readonly problems: readonly string[],
  ) {
    super(
      `Invalid stack configuration in ${stackFile} (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((line) => `  - ${CONFIG_NAMESPACE}:${line}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

export interface ParseContext {
  readonly stack: string;
  readonly secrets: RawSecrets;
  /** What the stack file's own text says, when the file could be read (./stack-file.ts). */
  readonly stackFile?: StackFileFacts;
}

export function stackFileOf(stack: string): string {
  return `Pulumi.${stack}.yaml`;
}

/**
 * `raw` holds the namespace's keys without the `saltpipe:` prefix; object values may be
 * JSON strings (as Pulumi stores them) or already parsed.
 */
export function parseStackConfig(
  raw: Readonly<Record<string, unknown>>,
  ctx: ParseContext,
): EnvironmentSpec<string> {
  const p = new c.Problems();
  const cfg = c.object(p, "", decodeValues(raw), TOP_LEVEL_KEYS);
  // object() reports unknown keys as ".key"; strip the leading dot for top-level keys.
  const cloud = c.oneOf(p, "cloud", cfg.cloud, CLOUDS, undefined);
  // Everything else depends on the cloud: with a wrong one, its problem is the only one worth reading.
  if (!(CLOUDS as readonly unknown[]).includes(cfg.cloud))
    throw new ConfigError(
      stackFileOf(ctx.stack),
      p.list.filter((line) => line.startsWith("cloud:")),
    );
  const environment = c.string(p, "environment", cfg.environment, {
    default: ctx.stack,
    pattern: c.NAME_PATTERN,
    hint: c.NAME_HINT,
  });

  const master = parseMaster(p, cfg.master, cloud);
  const minions = parseMinions(p, cfg.minions, cfg.minionOs, cloud, master.name);
  const salt = parseSalt(p, cfg.salt, cloud);
  const deploy = parseDeploy(p, cfg.deploy, minions.length);
  const app = parseApp(p, cfg.app);
  const registry = parseRegistry(
    p,
    cfg.registry,
    cloud,
    ctx.secrets.registryPassword,
    cfg.registryPassword !== undefined,
  );
  const adminCidrs = parseAdminCidrs(p, cfg.adminCidrs, cloud);
  const aws = cloud === "aws" ? parseAws(p, cfg.aws, ctx.stack) : rejectSection(p, "aws", cfg.aws, cloud);
  const local =
    cloud === "local" ? parseLocal(p, cfg.local, ctx.stack) : rejectSection(p, "local", cfg.local, cloud);
  const events = parseEvents(p, cfg.events, cloud);
  // A secret given in plain text gets one problem (set it as a secret), not also "is required".
  const sshPublicKey = cfg.sshPrivateKey === undefined ? publicKeyOf(p, ctx.secrets.sshPrivateKey) : "";
  if (cfg.webhookSecret === undefined) checkWebhookSecret(p, ctx.secrets.webhookSecret);
  if (cfg.notifySecret === undefined)
    checkNotifySecret(p, ctx.secrets.notifySecret, deploy.notify.urls.length > 0);
  checkPlainSecrets(p, cfg);
  checkProxyPort(p, app, minions, cloud);
  if (local) {
    checkLocalPorts(p, local, registry.port, minions.length);
    checkLocalNames(p, local.namePrefix, [master, ...minions]);
  }
  if (aws) checkAwsNames(p, environment, registry.repository);
  const hookTls = parseHookTls(p, cfg.hookTls, ctx.secrets.hookTlsKey);

  const problems = withChangedNumbers(
    p.list.map((line) => (line.startsWith(".") ? line.slice(1) : line)),
    cfg,
    ctx.stackFile,
  );
  if (problems.length > 0) throw new ConfigError(stackFileOf(ctx.stack), problems);

  return {
    stack: ctx.stack,
    environment,
    cloud,
    adminCidrs,
    master,
    minions,
    salt,
    deploy,
    app,
    registry,
    aws,
    local,
    events,
    hookTls,
    sshPublicKey,
    secrets: {
      webhookSecret: ctx.secrets.webhookSecret ?? "",
      registryPassword: ctx.secrets.registryPassword,
      sshPrivateKey: ctx.secrets.sshPrivateKey ?? "",
      notifySecret: ctx.secrets.notifySecret,
      hookTlsKey: ctx.secrets.hookTlsKey,
    },
  };
}

/**
 * A number YAML changed (`3008.10` → 3008.1) replaces every other problem of its key: the
 * fix is to quote it, whatever the other checks made of the changed value.
 */
function withChangedNumbers(problems: string[], cfg: c.Raw, facts: StackFileFacts | undefined): string[] {
  const changed = (facts?.changedNumbers ?? []).flatMap((n) => {
    // Only where the program really got the changed number (the file may be out of step with it).
    const got = valueAt(cfg, n.path);
    const value = typeof got === "string" && got.trim() !== n.source ? Number(got) : got;
    return n.readAs.includes(value as number) ? [{ ...n, readAs: value as number }] : [];
  });
  if (changed.length === 0) return problems;
  const covered = (line: string) =>
    changed.some(
      (n) => line.startsWith(`${n.path}:`) || line.startsWith(`${n.path}.`) || line.startsWith(`${n.path}[`),
    );
  return [
    ...problems.filter((line) => !covered(line)),
    ...changed.map(
      (n) => `${n.path}: ${n.source} is read by YAML as the number ${n.readAs}: quote it ("${n.source}")`,
    ),
  ];
}

/** The value at a problem path such as `salt.version` or `minions[0].port`. */
function valueAt(cfg: c.Raw, path: string): unknown {
  let value: unknown = cfg;
  for (const part of path.split(/\.|(?=\[)/)) {
    const index = /^\[(\d+)\]$/.exec(part);
    if (index) value = Array.isArray(value) ? value[Number(index[1])] : undefined;
    else value = c.isObject(value) ? value[part] : undefined;
  }
  return value;
}

function decodeValues(raw: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    out[key] = typeof value === "string" && /^\s*[[{]/.test(value) ? tryJson(value) : value;
  }
  return out;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function rejectSection(p: c.Problems, key: string, value: unknown, cloud: Cloud): undefined {
  if (value !== undefined)
    p.add(key, `only applies when cloud is "${key}" (this stack's cloud is "${cloud}")`);
  return undefined;
}
