/**
 * Checks across keys that would otherwise fail only when a resource is created (or never, with
 * a collision that breaks the deploy later): ports that collide, names past Docker or AWS limits.
 */
import type * as c from "./checks";
import { DEFAULTS } from "./defaults";
import type { AppSpec, Cloud, LocalSpec, MasterSpec, MinionSpec } from "./spec";

/** Local hosts publish SSH on 127.0.0.1:appPortBase+1000 (master), +1001… (minions). */
export const LOCAL_SSH_PORT_OFFSET = 1000;
const MAX_PORT = 65535;

/**
 * On a minion, nginx listens on `app.proxyPort` and the blue/green containers are published on the
 * slot ports (salt-states/salt/app, DEFAULTS.app.slots); sshd listens on 22 (or the host's port).
 */
export function checkProxyPort(
  p: c.Problems,
  app: AppSpec,
  minions: readonly MinionSpec[],
  cloud: Cloud,
): void {
  const { blue, green } = DEFAULTS.app.slots;
  if (app.proxyPort === blue || app.proxyPort === green) {
    p.add(
      "app.proxyPort",
      `${app.proxyPort} collides with the blue/green slot ports ${blue}/${green} the app containers are published on (choose another port)`,
    );
  }
  const sshPorts = new Set(cloud === "existing" ? minions.map((m) => m.port ?? 22) : [22]);
  if (sshPorts.has(app.proxyPort)) p.add("app.proxyPort", `${app.proxyPort} is the minions' SSH port`);
}

/** 127.0.0.1 ports of a local environment: proxies appPortBase…, SSH appPortBase+1000…, the registry. */
export function checkLocalPorts(
  p: c.Problems,
  local: LocalSpec,
  registryPort: number,
  minionCount: number,
): void {
  const base = local.appPortBase;
  const lastSsh = base + LOCAL_SSH_PORT_OFFSET + minionCount;
  if (lastSsh > MAX_PORT) {
    p.add(
      "local.appPortBase",
      `${base} puts the SSH port of minion-${minionCount} at ${lastSsh}, past ${MAX_PORT} (use at most ${MAX_PORT - LOCAL_SSH_PORT_OFFSET - minionCount})`,
    );
  }
  const appPorts = [base, base + minionCount - 1];
  const sshPorts = [base + LOCAL_SSH_PORT_OFFSET, lastSsh];
  const inside = ([from, to]: number[]) => registryPort >= from && registryPort <= to;
  if (inside(appPorts) || inside(sshPorts)) {
    const [from, to] = inside(appPorts) ? appPorts : sshPorts;
    p.add(
      "registry.port",
      `${registryPort} collides with the ${inside(appPorts) ? "minions' app" : "hosts' SSH"} ports ${from}..${to} published from local.appPortBase ${base} (choose a port outside ${base}..${lastSsh})`,
    );
  }
}

/**
 * Docker names made from `local.namePrefix`: `<prefix>-<host>` (containers, also their DNS name
 * on the environment's network), `<prefix>-<host>-docker` (volumes), `<prefix>-registry-data`.
 * Each must stay a DNS label (at most 63 characters).
 */
export const DOCKER_NAME_MAX = 63;

export function checkLocalNames(
  p: c.Problems,
  prefix: string,
  hosts: readonly (MasterSpec | MinionSpec)[],
): void {
  const names = [`${prefix}-registry-data`, ...hosts.map((h) => `${prefix}-${h.name}-docker`)];
  const longest = names.reduce((a, b) => (b.length > a.length ? b : a), "");
  if (longest.length > DOCKER_NAME_MAX) {
    p.add(
      "local.namePrefix",
      `"${prefix}" makes the Docker name "${longest}" ${longest.length} characters long (at most ${DOCKER_NAME_MAX}: shorten the prefix to ${Math.max(1, prefix.length - (longest.length - DOCKER_NAME_MAX))} characters or the host names)`,
    );
  }
}

/**
 * AWS resources named by Pulumi from the environment name: `<environment><suffix>-<7 random>`.
 * The longest suffix per AWS limit (IAM role names 64, EventBridge rules 64, SQS queues 80).
 * test/unit/stacks.test.ts checks that every auto-named AWS resource is covered.
 */
export const AWS_AUTO_NAMES = [
  { what: "IAM role", suffix: "-registry-master", limit: 64 },
  { what: "EventBridge rule", suffix: "-registry-push", limit: 64 },
  { what: "SQS queue", suffix: "-registry-events", limit: 80 },
] as const;
/** Pulumi's auto-name suffix: "-" and 7 random characters. */
export const AUTO_NAME_SUFFIX = 8;
const ECR_REPOSITORY_MAX = 256;

export function checkAwsNames(p: c.Problems, environment: string, repository: string): void {
  for (const { what, suffix, limit } of AWS_AUTO_NAMES) {
    const length = environment.length + suffix.length + AUTO_NAME_SUFFIX;
    if (length > limit) {
      p.add(
        "environment",
        `"${environment}" makes the ${what} name "${environment}${suffix}-xxxxxxx" ${length} characters long (AWS allows ${limit}: use at most ${limit - suffix.length - AUTO_NAME_SUFFIX} characters)`,
      );
      return;
    }
  }
  if (repository.length > ECR_REPOSITORY_MAX)
    p.add(
      "registry.repository",
      `is ${repository.length} characters long (ECR allows ${ECR_REPOSITORY_MAX})`,
    );
}
