/**
 * Validates a stack's raw `saltpipe:*` config into an EnvironmentSpec, all at once:
 * every problem is reported in one error naming the key and the stack file, before
 * any resource is registered.
 */
import { RunError } from "@pulumi/pulumi/errors";
import { utils as sshUtils } from "ssh2";
import * as c from "./checks";
import { DEFAULTS, defaultSubnetCidrs, SALT_VERSION_PATTERN } from "./defaults";
import { checkAwsNames, checkLocalNames, checkLocalPorts, checkProxyPort } from "./limits";
import type { StackFileFacts } from "./stack-file";
import { hostKeyProblem, parseHostKey } from "../ssh/host-key";
import { parseEvents } from "./events";
import { tagPolicyProblem } from "./tag-policy";
import type {
  AppSpec,
  AwsSpec,
  Cloud,
  DeploySpec,
  EnvironmentSpec,
  HookTlsSpec,
  LocalSpec,
  MasterSpec,
  MinionSpec,
  OsName,
  RegistrySpec,
  SaltSpec,
} from "./spec";

export const CONFIG_NAMESPACE = "saltpipe";

const OS_NAMES: readonly OsName[] = ["ubuntu", "centos", "debian"];
const CLOUDS: readonly Cloud[] = ["aws", "local", "existing"];
const TOP_LEVEL_KEYS = [
  "cloud",
  "environment",
  "adminCidrs",
  "master",
  "minions",
  "minionOs",
  "salt",
  "deploy",
  "app",
  "registry",
  "aws",
  "local",
  "events",
  "webhookSecret",
  "registryPassword",
  "sshPrivateKey",
  "notifySecret",
  "hookTls",
  "hookTlsKey",
] as const;

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
  const registry = parseRegistry(p, cfg.registry, cloud, ctx.secrets, cfg.registryPassword !== undefined);
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

function defaultOs(cloud: Cloud): OsName | undefined {
  // `local` hosts are containers of the Debian host image; `existing` hosts must say what they run.
  return cloud === "local" ? "debian" : cloud === "aws" ? "ubuntu" : undefined;
}

function parseOs(
  p: c.Problems,
  path: string,
  value: unknown,
  cloud: Cloud,
  fallback: OsName | undefined,
): OsName {
  const os = c.oneOf(p, path, value, OS_NAMES, fallback);
  if (cloud === "local" && os === "centos") {
    p.add(
      path,
      `"centos" is not available on the local cloud: its host image is apt-based (use debian or ubuntu)`,
    );
  }
  if (cloud === "aws" && os === "debian") {
    p.add(path, `"debian" has no AMI lookup on aws (use ubuntu or centos, or set aws.amis.debian)`);
  }
  return os;
}

const EXISTING_HOST_KEYS = ["address", "user", "port", "privateAddress", "hostKey"];

function parseHostAddress(p: c.Problems, path: string, h: c.Raw, cloud: Cloud) {
  if (cloud !== "existing") {
    for (const key of EXISTING_HOST_KEYS) {
      if (h[key] !== undefined) p.add(`${path}.${key}`, `only applies when cloud is "existing"`);
    }
    return {};
  }
  return {
    address: c.string(p, `${path}.address`, h.address),
    user: c.optionalString(p, `${path}.user`, h.user),
    port: c.integer(p, `${path}.port`, h.port, { default: 22, min: 1, max: 65535 }),
    privateAddress: c.optionalString(p, `${path}.privateAddress`, h.privateAddress),
    hostKey: parseHostKeyLine(p, `${path}.hostKey`, h.hostKey),
  };
}

function parseHostKeyLine(p: c.Problems, path: string, value: unknown): string | undefined {
  const text = c.optionalString(p, path, value);
  if (text === undefined) return undefined;
  const problem = hostKeyProblem(text);
  if (problem) p.add(path, problem);
  return parseHostKey(text)?.line ?? text;
}

function parseMaster(p: c.Problems, value: unknown, cloud: Cloud): MasterSpec {
  const m = c.object(p, "master", value, ["name", "os", "instanceType", ...EXISTING_HOST_KEYS]);
  return {
    name: c.string(p, "master.name", m.name, {
      default: "master",
      pattern: c.NAME_PATTERN,
      hint: c.NAME_HINT,
    }),
    os: parseOs(p, "master.os", m.os, cloud, defaultOs(cloud)),
    instanceType: c.optionalString(p, "master.instanceType", m.instanceType),
    ...parseHostAddress(p, "master", m, cloud),
  };
}

const MINION_KEYS = ["name", "os", "roles", "instanceType", ...EXISTING_HOST_KEYS];
const MAX_MINIONS = 500;

function parseMinions(
  p: c.Problems,
  value: unknown,
  minionOs: unknown,
  cloud: Cloud,
  masterName: string,
): MinionSpec[] {
  const fallbackOs =
    minionOs === undefined ? defaultOs(cloud) : parseOs(p, "minionOs", minionOs, cloud, undefined);
  let minions: MinionSpec[];
  if (value === undefined) {
    p.add("minions", "is required (a count such as 2, or a list of {name, os, roles})");
    return [];
  } else if (typeof value === "number" || (typeof value === "string" && /^\s*-?\d+\s*$/.test(value))) {
    const count = c.integer(p, "minions", value, { min: 1, max: MAX_MINIONS });
    if (cloud === "existing")
      p.add("minions", "must be a list with an address per minion on the existing cloud");
    if (fallbackOs === undefined) p.add("minionOs", "is required when minions is a count");
    minions = Array.from({ length: Math.max(0, Math.min(count, MAX_MINIONS)) }, (_, i) => ({
      name: `minion-${i + 1}`,
      os: fallbackOs ?? "ubuntu",
      roles: ["app"],
    }));
  } else if (Array.isArray(value)) {
    if (value.length === 0) p.add("minions", "must list at least 1 minion");
    if (value.length > MAX_MINIONS)
      p.add("minions", `lists ${value.length} minions (at most ${MAX_MINIONS})`);
    minions = value.map((item, i) => parseMinion(p, `minions[${i}]`, item, i, cloud, fallbackOs));
  } else {
    p.add("minions", `expected a count or a list, got ${JSON.stringify(value)}`);
    return [];
  }
  const seen = new Set<string>([masterName]);
  minions.forEach((m, i) => {
    if (seen.has(m.name))
      p.add(`minions[${i}].name`, `duplicate name "${m.name}" (names must be unique, master included)`);
    seen.add(m.name);
  });
  return minions;
}

function parseMinion(
  p: c.Problems,
  path: string,
  item: unknown,
  index: number,
  cloud: Cloud,
  fallbackOs: OsName | undefined,
): MinionSpec {
  const m = c.object(p, path, item, MINION_KEYS);
  const roles = c.stringList(p, `${path}.roles`, m.roles, ["app"]);
  roles.forEach((r, j) => {
    if (!c.NAME_PATTERN.test(r)) p.add(`${path}.roles[${j}]`, `invalid role "${r}" (${c.NAME_HINT})`);
  });
  return {
    name: c.string(p, `${path}.name`, m.name, {
      default: `minion-${index + 1}`,
      pattern: c.NAME_PATTERN,
      hint: c.NAME_HINT,
    }),
    os: parseOs(p, `${path}.os`, m.os, cloud, fallbackOs),
    roles,
    instanceType: c.optionalString(p, `${path}.instanceType`, m.instanceType),
    ...parseHostAddress(p, path, m, cloud),
  };
}

function parseSalt(p: c.Problems, value: unknown, cloud: Cloud): SaltSpec {
  const d = DEFAULTS.salt;
  const s = c.object(p, "salt", value, [
    "version",
    "installMethod",
    "pipIndexUrl",
    "wheelhouseUrl",
    "wheelhouseDir",
    "extraPackages",
    "publishPort",
    "retPort",
    "apiPort",
    "hookPort",
  ]);
  const url = { pattern: /^https?:\/\/\S+$/, hint: "an http(s) URL" };
  const port = (key: string, fallback: number) =>
    c.integer(p, `salt.${key}`, s[key], { default: fallback, min: 1, max: 65535 });
  const spec: SaltSpec = {
    version: c.string(p, "salt.version", s.version, {
      default: d.version,
      pattern: SALT_VERSION_PATTERN,
      hint: "an exact release such as 3008.4",
    }),
    installMethod: c.oneOf(
      p,
      "salt.installMethod",
      s.installMethod,
      ["onedir", "pip"],
      cloud === "local" ? "pip" : "onedir",
    ),
    pipIndexUrl: c.optionalString(p, "salt.pipIndexUrl", s.pipIndexUrl, url),
    wheelhouseUrl: c.optionalString(p, "salt.wheelhouseUrl", s.wheelhouseUrl, url),
    wheelhouseDir: c.optionalString(p, "salt.wheelhouseDir", s.wheelhouseDir),
    extraPackages: c.stringList(p, "salt.extraPackages", s.extraPackages, d.extraPackages),
    publishPort: port("publishPort", d.publishPort),
    retPort: port("retPort", d.retPort),
    apiPort: port("apiPort", d.apiPort),
    hookPort: port("hookPort", d.hookPort),
  };
  const sources = [spec.pipIndexUrl, spec.wheelhouseUrl, spec.wheelhouseDir].filter((x) => x !== undefined);
  if (spec.installMethod === "onedir" && sources.length > 0) {
    p.add(
      "salt.installMethod",
      `"onedir" ignores pipIndexUrl/wheelhouseUrl/wheelhouseDir: set installMethod to "pip"`,
    );
  }
  if (sources.length > 1) p.add("salt", "set at most one of pipIndexUrl, wheelhouseUrl, wheelhouseDir");
  const ports = [spec.publishPort, spec.retPort, spec.apiPort, spec.hookPort];
  if (new Set(ports).size !== ports.length)
    p.add("salt", "publishPort, retPort, apiPort and hookPort must differ");
  return spec;
}

function parseBatch(p: c.Problems, value: unknown, minionCount: number): string {
  const text = value === undefined ? DEFAULTS.deploy.batch : String(value).trim();
  const m = /^(\d+)(%?)$/.exec(text);
  const n = m ? Number(m[1]) : NaN;
  if (!m || n < 1 || (m[2] === "%" && n > 100)) {
    p.add(
      "deploy.batch",
      `invalid value ${JSON.stringify(value)} (a count ≥ 1 such as 1, or a percentage 1%..100%)`,
    );
  } else if (m[2] === "" && minionCount > 0 && n > minionCount) {
    p.add("deploy.batch", `${n} is larger than the number of minions (${minionCount})`);
  }
  return text;
}

function parseDeploy(p: c.Problems, value: unknown, minionCount: number): DeploySpec {
  const d = DEFAULTS.deploy;
  const s = c.object(p, "deploy", value, [
    "batch",
    "healthTimeoutSeconds",
    "drainSeconds",
    "keepImages",
    "tagPolicy",
    "approval",
    "preSwitch",
    "notify",
    "reconcileSeconds",
  ]);
  const tagPolicy = c.string(p, "deploy.tagPolicy", s.tagPolicy, { default: d.tagPolicy }).trim();
  const policyProblem = tagPolicyProblem(tagPolicy);
  if (policyProblem) p.add("deploy.tagPolicy", policyProblem);
  const approval = c.object(p, "deploy.approval", s.approval, ["required", "expiresMinutes"]);
  const notify = c.object(p, "deploy.notify", s.notify, ["urls", "timeoutSeconds", "retries"]);
  return {
    batch: parseBatch(p, s.batch, minionCount),
    healthTimeoutSeconds: c.integer(p, "deploy.healthTimeoutSeconds", s.healthTimeoutSeconds, {
      default: d.healthTimeoutSeconds,
      min: 1,
      max: 3600,
    }),
    drainSeconds: c.integer(p, "deploy.drainSeconds", s.drainSeconds, {
      default: d.drainSeconds,
      min: 0,
      max: 3600,
    }),
    keepImages: c.integer(p, "deploy.keepImages", s.keepImages, { default: d.keepImages, min: 1, max: 100 }),
    tagPolicy,
    approval: {
      required: c.boolean(p, "deploy.approval.required", approval.required, d.approval.required),
      expiresMinutes: c.integer(p, "deploy.approval.expiresMinutes", approval.expiresMinutes, {
        default: d.approval.expiresMinutes,
        min: 1,
        max: 60 * 24 * 30,
      }),
    },
    preSwitch: parsePreSwitch(p, s.preSwitch),
    notify: {
      urls: c.stringList(p, "deploy.notify.urls", notify.urls, d.notify.urls).map((url, i) => {
        if (!/^https?:\/\/[^\s/]+(\/\S*)?$/.test(url))
          p.add(`deploy.notify.urls[${i}]`, `invalid URL ${JSON.stringify(url)} (an http(s) URL)`);
        return url;
      }),
      timeoutSeconds: c.integer(p, "deploy.notify.timeoutSeconds", notify.timeoutSeconds, {
        default: d.notify.timeoutSeconds,
        min: 1,
        max: 60,
      }),
      retries: c.integer(p, "deploy.notify.retries", notify.retries, {
        default: d.notify.retries,
        min: 0,
        max: 10,
      }),
    },
    reconcileSeconds: c.integer(p, "deploy.reconcileSeconds", s.reconcileSeconds, {
      default: d.reconcileSeconds,
      min: 5,
      max: 3600,
    }),
  };
}

function parsePreSwitch(p: c.Problems, value: unknown): DeploySpec["preSwitch"] {
  if (value === undefined) return undefined;
  const s = c.object(p, "deploy.preSwitch", value, ["command", "timeoutSeconds"]);
  const command = c.stringList(p, "deploy.preSwitch.command", s.command, []);
  if (command.length === 0 && (s.command === undefined || Array.isArray(s.command)))
    p.add("deploy.preSwitch.command", "is required: an argv list such as [npm, run, migrate] (no shell)");
  return {
    command,
    timeoutSeconds: c.integer(p, "deploy.preSwitch.timeoutSeconds", s.timeoutSeconds, {
      default: DEFAULTS.deploy.preSwitchTimeoutSeconds,
      min: 1,
      max: 3600,
    }),
  };
}

function parseApp(p: c.Problems, value: unknown): AppSpec {
  const d = DEFAULTS.app;
  const s = c.object(p, "app", value, ["name", "port", "proxyPort", "healthPath", "context", "buildArgs"]);
  return {
    name: c.string(p, "app.name", s.name, { default: d.name, pattern: c.NAME_PATTERN, hint: c.NAME_HINT }),
    port: c.integer(p, "app.port", s.port, { default: d.port, min: 1, max: 65535 }),
    proxyPort: c.integer(p, "app.proxyPort", s.proxyPort, { default: d.proxyPort, min: 1, max: 65535 }),
    healthPath: c.string(p, "app.healthPath", s.healthPath, {
      default: d.healthPath,
      pattern: /^\/[A-Za-z0-9._~\-/]*$/,
      hint: "an absolute URL path such as /healthz",
    }),
    context: c.string(p, "app.context", s.context, { default: d.context }),
    buildArgs: c.stringMap(p, "app.buildArgs", s.buildArgs),
  };
}

const REPOSITORY_PATTERN = /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

function parseRegistry(
  p: c.Problems,
  value: unknown,
  cloud: Cloud,
  secrets: RawSecrets,
  plainPassword: boolean,
): RegistrySpec {
  const d = DEFAULTS.registry;
  const s = c.object(p, "registry", value, [
    "kind",
    "repository",
    "server",
    "pullServer",
    "insecure",
    "username",
    "port",
    "keepImages",
  ]);
  const server = { pattern: /^[A-Za-z0-9.-]+(:\d+)?$/, hint: "host[:port]" };
  const fallbackKind = cloud === "aws" ? "ecr" : cloud === "local" ? "local" : "external";
  const kind = c.oneOf(p, "registry.kind", s.kind, ["ecr", "local", "external"], fallbackKind);
  if (kind === "ecr" && cloud !== "aws") p.add("registry.kind", `"ecr" needs cloud "aws"`);
  if (kind === "local" && cloud !== "local") p.add("registry.kind", `"local" needs cloud "local"`);
  const spec: RegistrySpec = {
    kind,
    repository: c.string(p, "registry.repository", s.repository, {
      default: d.repository,
      pattern: REPOSITORY_PATTERN,
      hint: "lowercase path such as team/app",
    }),
    server: kind === "external" ? c.string(p, "registry.server", s.server, server) : undefined,
    pullServer:
      kind === "external" ? c.optionalString(p, "registry.pullServer", s.pullServer, server) : undefined,
    insecure: c.boolean(p, "registry.insecure", s.insecure, false),
    username: c.optionalString(p, "registry.username", s.username),
    port: c.integer(p, "registry.port", s.port, { default: d.port, min: 1, max: 65535 }),
    keepImages: c.integer(p, "registry.keepImages", s.keepImages, {
      default: d.keepImages,
      min: 1,
      max: 1000,
    }),
  };
  for (const key of ["server", "pullServer", "insecure"]) {
    if (kind !== "external" && s[key] !== undefined)
      p.add(`registry.${key}`, `only applies to kind "external"`);
  }
  if (kind === "local" && spec.username !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(spec.username))
    p.add(
      "registry.username",
      `invalid value ${JSON.stringify(spec.username)} (the local registry's push user: letters, digits, . _ -, at most 64)`,
    );
  if (kind === "local" && secrets.registryPassword === undefined && !plainPassword) {
    p.add(
      "registryPassword",
      'is required for the local registry: only the pipeline pushes, with this password (scripts/local-stack.sh makes one; or pulumi config set --secret registryPassword "$(openssl rand -hex 32)")',
    );
  } else if (
    kind === "local" &&
    secrets.registryPassword !== undefined &&
    secrets.registryPassword.length < 16
  ) {
    p.add("registryPassword", "must be at least 16 characters (openssl rand -hex 32)");
  }
  if (
    kind !== "local" &&
    spec.username !== undefined &&
    secrets.registryPassword === undefined &&
    !plainPassword
  ) {
    p.add(
      "registryPassword",
      "is required when registry.username is set (pulumi config set --secret registryPassword …)",
    );
  }
  return spec;
}

function parseAdminCidrs(p: c.Problems, value: unknown, cloud: Cloud): string[] {
  if (value === undefined && cloud === "aws") {
    p.add("adminCidrs", 'is required on aws: the CIDRs that may reach SSH, e.g. ["203.0.113.0/24"]');
    return [];
  }
  if (value === undefined) return ["127.0.0.1/32"];
  if (!Array.isArray(value) || value.length === 0) {
    p.add("adminCidrs", `expected a non-empty list of CIDRs, got ${JSON.stringify(value)}`);
    return [];
  }
  return value.map((v, i) => {
    const text = c.cidr(p, `adminCidrs[${i}]`, v);
    if (text.endsWith("/0")) p.add(`adminCidrs[${i}]`, `${text} would open SSH to the whole internet`);
    return text;
  });
}

const ZONE = { pattern: /^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, hint: "an availability zone such as eu-west-1a" };
const CERTIFICATE_ARN = {
  pattern: /^arn:aws[a-z-]*:acm:[a-z]{2}(-[a-z]+)+-\d:\d{12}:certificate\/[A-Za-z0-9-]+$/,
  hint: "an ACM certificate ARN such as arn:aws:acm:eu-west-1:123456789012:certificate/…",
};
/** Keys of earlier releases, with what replaced them. */
const REPLACED_AWS_KEYS: Readonly<Record<string, string>> = {
  availabilityZone: "was replaced by aws.availabilityZones (a list of at least 2 zones)",
  subnetCidr: "was replaced by aws.publicSubnetCidrs and aws.privateSubnetCidrs (one per zone)",
};

function parseAws(p: c.Problems, value: unknown, stack: string): AwsSpec {
  const d = DEFAULTS.aws;
  const raw = c.isObject(value) ? { ...value } : value;
  if (c.isObject(raw)) {
    for (const [key, message] of Object.entries(REPLACED_AWS_KEYS)) {
      if (raw[key] !== undefined) p.add(`aws.${key}`, message);
      delete raw[key];
    }
  }
  const s = c.object(p, "aws", raw, [
    "region",
    "availabilityZones",
    "vpcCidr",
    "publicSubnetCidrs",
    "privateSubnetCidrs",
    "natGateways",
    "certificateArn",
    "allowPlainHttp",
    "masterInstanceType",
    "minionInstanceType",
    "rootVolumeGb",
    "amis",
    "terminationProtection",
  ]);
  const region = c.string(p, "aws.region", s.region, {
    pattern: /^[a-z]{2}(-[a-z]+)+-\d$/,
    hint: "an AWS region such as eu-west-1",
  });
  const amis = c.object(p, "aws.amis", s.amis, OS_NAMES);
  const instanceType = { pattern: /^[a-z][a-z0-9-]*\.[a-z0-9]+$/, hint: "an instance type such as t3.small" };
  const zones = c
    .stringList(
      p,
      "aws.availabilityZones",
      s.availabilityZones,
      d.zoneSuffixes.map((z) => `${region}${z}`),
    )
    .map((zone, i) => c.string(p, `aws.availabilityZones[${i}]`, zone, ZONE));
  if (zones.length < 2)
    p.add(
      "aws.availabilityZones",
      `lists ${zones.length} zone(s): at least 2 are needed (the load balancer spans them)`,
    );
  if (new Set(zones).size !== zones.length) p.add("aws.availabilityZones", "lists a zone twice");
  zones.forEach((zone, i) => {
    if (region && zone && !zone.startsWith(region))
      p.add(`aws.availabilityZones[${i}]`, `${zone} is not in aws.region ${region}`);
  });
  const vpcCidr = s.vpcCidr === undefined ? d.vpcCidr : c.cidr(p, "aws.vpcCidr", s.vpcCidr);
  const derived = defaultSubnetCidrs(vpcCidr, zones.length);
  const subnets = (key: "publicSubnetCidrs" | "privateSubnetCidrs", fallback: string[] | undefined) => {
    if (s[key] === undefined && fallback === undefined) {
      p.add(
        `aws.${key}`,
        `is required: aws.vpcCidr ${vpcCidr} is too small for default /24 subnets (use /20 or larger, or list the subnets)`,
      );
      return [];
    }
    const list =
      s[key] === undefined
        ? fallback!
        : Array.isArray(s[key])
          ? (s[key] as unknown[]).map((v, i) => c.cidr(p, `aws.${key}[${i}]`, v))
          : (p.add(`aws.${key}`, `expected a list of CIDRs, got ${JSON.stringify(s[key])}`), []);
    if (s[key] !== undefined && list.length !== zones.length)
      p.add(
        `aws.${key}`,
        `lists ${list.length} subnet(s) for ${zones.length} availability zones (one per zone)`,
      );
    list.forEach((cidr, i) => checkSubnetInVpc(p, `aws.${key}[${i}]`, vpcCidr, cidr));
    return list;
  };
  const publicSubnetCidrs = subnets("publicSubnetCidrs", derived?.public);
  const privateSubnetCidrs = subnets("privateSubnetCidrs", derived?.private);
  const all = [...publicSubnetCidrs, ...privateSubnetCidrs];
  if (new Set(all).size !== all.length)
    p.add("aws", "publicSubnetCidrs and privateSubnetCidrs must all differ");
  const certificateArn = c.optionalString(p, "aws.certificateArn", s.certificateArn, CERTIFICATE_ARN);
  const allowPlainHttp = c.boolean(p, "aws.allowPlainHttp", s.allowPlainHttp, false);
  if (stack === "prod" && certificateArn === undefined && !allowPlainHttp) {
    p.add(
      "aws.certificateArn",
      "is required on prod: the load balancer serves HTTPS with it (plain HTTP on prod only with aws.allowPlainHttp: true)",
    );
  }
  const spec: AwsSpec = {
    region,
    availabilityZones: zones,
    vpcCidr,
    publicSubnetCidrs,
    privateSubnetCidrs,
    natGateways: c.oneOf(
      p,
      "aws.natGateways",
      s.natGateways,
      ["perAz", "single"],
      stack === "prod" ? "perAz" : "single",
    ),
    certificateArn,
    allowPlainHttp,
    masterInstanceType: c.string(p, "aws.masterInstanceType", s.masterInstanceType, {
      default: d.instanceType,
      ...instanceType,
    }),
    minionInstanceType: c.string(p, "aws.minionInstanceType", s.minionInstanceType, {
      default: d.instanceType,
      ...instanceType,
    }),
    rootVolumeGb: c.integer(p, "aws.rootVolumeGb", s.rootVolumeGb, {
      default: d.rootVolumeGb,
      min: 8,
      max: 16384,
    }),
    amis: Object.fromEntries(
      Object.entries(amis).map(([os, ami]) => [
        os,
        c.string(p, `aws.amis.${os}`, ami, {
          pattern: /^ami-[0-9a-f]{8,17}$/,
          hint: "an AMI id such as ami-0abc1234",
        }),
      ]),
    ),
    terminationProtection: c.boolean(
      p,
      "aws.terminationProtection",
      s.terminationProtection,
      stack === "prod",
    ),
  };
  return spec;
}

function checkSubnetInVpc(p: c.Problems, key: string, vpc: string, subnet: string): void {
  const parse = (text: string) => {
    const [ip, bits] = text.split("/");
    return { n: ip.split(".").reduce((a, o) => a * 256 + Number(o), 0), bits: Number(bits) };
  };
  const v = parse(vpc);
  const s = parse(subnet);
  const size = 2 ** (32 - v.bits);
  if (s.bits < v.bits || s.n - (s.n % size) !== v.n) {
    p.add(key, `${subnet} is not inside aws.vpcCidr ${vpc}`);
  }
}

function parseLocal(p: c.Problems, value: unknown, stack: string): LocalSpec {
  const d = DEFAULTS.local;
  const s = c.object(p, "local", value, [
    "baseImage",
    "registryBaseImage",
    "lbBaseImage",
    "namePrefix",
    "appPortBase",
    "lbPort",
  ]);
  const appPortBase = c.integer(p, "local.appPortBase", s.appPortBase, {
    default: d.appPortBase,
    min: 1024,
    max: 65000,
  });
  const lbPort = c.integer(p, "local.lbPort", s.lbPort, {
    default: appPortBase + d.lbPortOffset,
    min: 1024,
    max: 65535,
  });
  if (lbPort >= appPortBase && lbPort < appPortBase + 100)
    p.add("local.lbPort", `${lbPort} is one of the minions' ports (local.appPortBase ${appPortBase} + N)`);
  if (lbPort >= appPortBase + 1000 && lbPort < appPortBase + 1100)
    p.add(
      "local.lbPort",
      `${lbPort} is one of the hosts' SSH ports (local.appPortBase ${appPortBase} + 1000 + N)`,
    );
  return {
    lbPort,
    lbBaseImage: c.string(p, "local.lbBaseImage", s.lbBaseImage, { default: d.lbBaseImage }),
    baseImage: c.string(p, "local.baseImage", s.baseImage, { default: d.baseImage }),
    registryBaseImage: c.string(p, "local.registryBaseImage", s.registryBaseImage, {
      default: d.registryBaseImage,
    }),
    namePrefix: c.string(p, "local.namePrefix", s.namePrefix, {
      default: `saltpipe-${stack}`,
      pattern: /^[a-z0-9][a-z0-9_.-]*$/,
      hint: "a Docker name prefix",
    }),
    appPortBase,
  };
}

const PEM_CERT = /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?/;

function parseHookTls(p: c.Problems, value: unknown, key: string | undefined): HookTlsSpec | undefined {
  const s = c.object(p, "hookTls", value, ["certificate", "ca"]);
  if (value === undefined) {
    if (key !== undefined)
      p.add("hookTlsKey", "is only used with hookTls.certificate (set both, or neither)");
    return undefined;
  }
  const pem = (path: string, v: unknown): string => {
    const text = c.string(p, path, v);
    if (text && !PEM_CERT.test(text.trim() + "\n"))
      p.add(path, "expected a PEM certificate (-----BEGIN CERTIFICATE----- …)");
    return text.trim() + "\n";
  };
  const certificate = pem("hookTls.certificate", s.certificate);
  const ca = s.ca === undefined ? certificate : pem("hookTls.ca", s.ca);
  if (!key)
    p.add(
      "hookTlsKey",
      "is required with hookTls.certificate (pulumi config set --secret hookTlsKey < hook.key)",
    );
  else if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) p.add("hookTlsKey", "is not a PEM private key"); // never echo the value
  return { certificate, ca };
}

function publicKeyOf(p: c.Problems, privateKey: string | undefined): string {
  if (!privateKey) {
    p.add("sshPrivateKey", "is required (pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519)");
    return "";
  }
  const parsed = sshUtils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key instanceof Error || !key || !key.isPrivateKey()) {
    // Never echo the value: it is a secret.
    p.add("sshPrivateKey", "is not an unencrypted OpenSSH/PEM private key");
    return "";
  }
  return `${key.type} ${key.getPublicSSH().toString("base64")}`;
}

function checkWebhookSecret(p: c.Problems, secret: string | undefined): void {
  if (!secret) {
    p.add(
      "webhookSecret",
      'is required (pulumi config set --secret webhookSecret "$(openssl rand -hex 32)")',
    );
  } else if (secret.length < 16) {
    p.add("webhookSecret", "is too short: use at least 16 characters (e.g. openssl rand -hex 32)");
  }
}

function checkNotifySecret(p: c.Problems, secret: string | undefined, needed: boolean): void {
  if (needed && !secret) {
    p.add(
      "notifySecret",
      'is required when deploy.notify.urls is set (pulumi config set --secret notifySecret "$(openssl rand -hex 32)")',
    );
  } else if (secret !== undefined && secret.length < 16) {
    p.add("notifySecret", "is too short: use at least 16 characters (e.g. openssl rand -hex 32)");
  }
}

/** Secrets must come through `--secret`; the Pulumi shell removes them from `raw` when it reads them so. */
function checkPlainSecrets(p: c.Problems, cfg: c.Raw): void {
  for (const key of ["webhookSecret", "registryPassword", "sshPrivateKey", "notifySecret", "hookTlsKey"]) {
    if (cfg[key] !== undefined) p.add(key, "must be set as a secret: pulumi config set --secret " + key);
  }
}
