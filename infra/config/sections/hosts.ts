/**
 * `saltpipe:master`, `saltpipe:minions` (a count or a list), `saltpipe:minionOs` and
 * `saltpipe:adminCidrs`: the machines of the stack and who may reach them over SSH. Host
 * addresses and pinned host keys apply to the `existing` cloud only.
 */
import * as c from "../checks";
import { EXISTING_HOST_KEYS, MASTER_KEYS, MINION_KEYS, OS_NAMES } from "../keys";
import type { Cloud, MasterSpec, MinionSpec, OsName } from "../spec";
import { hostKeyProblem, parseHostKey } from "../../ssh/host-key";

export function defaultOs(cloud: Cloud): OsName | undefined {
  // `local` hosts are containers of the Debian host image; `existing` hosts must say what they run.
  return cloud === "local" ? "debian" : cloud === "aws" ? "ubuntu" : undefined;
}

export function parseOs(
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

export function parseMaster(p: c.Problems, value: unknown, cloud: Cloud): MasterSpec {
  const m = c.object(p, "master", value, MASTER_KEYS);
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

const MAX_MINIONS = 500;

export function parseMinions(
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

export function parseAdminCidrs(p: c.Problems, value: unknown, cloud: Cloud): string[] {
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
