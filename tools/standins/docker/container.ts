/**
 * `docker:index/container:Container`, as the Terraform docker provider behind @pulumi/docker
 * does it: create (pulling the image if it is not local), leave the default bridge for
 * `networksAdvanced`, upload files, start, optionally wait for healthy. Changes to restart
 * policy, start/mustRun/wait and the destroy options update in place; every other input
 * replaces the container (Terraform: ForceNew) — give named containers `deleteBeforeReplace`.
 */
import * as fs from "node:fs";
import type Docker from "dockerode";
import type { Context, ResourceType } from "../lib/provider";
import { autoname } from "../lib/provider";
import { docker, followProgress, isNotFound } from "./engine";
import { labelsMap } from "./labels";
import { tarOf } from "./tar";

interface Port {
  internal: number;
  external?: number;
  ip?: string;
  protocol?: string;
}
interface Upload {
  file: string;
  content?: string;
  contentBase64?: string;
  source?: string;
  executable?: boolean;
  permissions?: string;
}
interface ContainerInputs {
  name: string;
  image: string;
  hostname?: string;
  command?: string[];
  entrypoints?: string[];
  envs?: string[];
  user?: string;
  workingDir?: string;
  labels?: { label: string; value: string }[];
  ports?: Port[];
  networkMode?: string;
  networksAdvanced?: { name: string; aliases?: string[]; ipv4Address?: string }[];
  capabilities?: { adds?: string[]; drops?: string[] };
  securityOpts?: string[];
  tmpfs?: Record<string, string>;
  volumes?: { volumeName?: string; hostPath?: string; containerPath?: string; readOnly?: boolean }[];
  uploads?: Upload[];
  restart?: string;
  maxRetryCount?: number;
  start?: boolean;
  mustRun?: boolean;
  wait?: boolean;
  waitTimeout?: number;
  healthcheck?: {
    tests?: string[];
    interval?: string;
    timeout?: string;
    startPeriod?: string;
    retries?: number;
  };
  destroyGraceSeconds?: number;
  removeVolumes?: boolean;
}

const updatable = [
  "restart",
  "maxRetryCount",
  "start",
  "mustRun",
  "wait",
  "waitTimeout",
  "tmpfs",
  "healthcheck",
  "destroyGraceSeconds",
  "removeVolumes",
];

const inputs = {
  name: true,
  image: true,
  hostname: true,
  command: true,
  entrypoints: true,
  envs: true,
  user: true,
  workingDir: true,
  labels: ["label", "value"],
  ports: ["internal", "external", "ip", "protocol"],
  networkMode: true,
  networksAdvanced: ["name", "aliases", "ipv4Address"],
  capabilities: ["adds", "drops"],
  securityOpts: true,
  tmpfs: true,
  volumes: ["volumeName", "hostPath", "containerPath", "readOnly"],
  uploads: ["file", "content", "contentBase64", "source", "executable", "permissions"],
  restart: true,
  maxRetryCount: true,
  start: true,
  mustRun: true,
  wait: true,
  waitTimeout: true,
  healthcheck: ["tests", "interval", "timeout", "startPeriod", "retries"],
  destroyGraceSeconds: true,
  removeVolumes: true,
} as const;

export const container: ResourceType<ContainerInputs, ContainerInputs> = {
  inputs,
  outputs: ["ports", "networkDatas", "exitCode", "hostname", "command", "entrypoints"],
  replaceOnChanges: Object.keys(inputs).filter((k) => !updatable.includes(k)),
  check: (news, olds, name) => autoname(news, olds, name),
  async create(i, ctx) {
    await ensureImage(i.image, ctx);
    const c = await docker.createContainer(createOptions(i));
    try {
      if (i.networksAdvanced?.length) {
        await docker
          .getNetwork("bridge")
          .disconnect({ Container: c.id })
          .catch(() => undefined);
        for (const n of i.networksAdvanced) {
          await docker.getNetwork(n.name).connect({
            Container: c.id,
            EndpointConfig: {
              Aliases: n.aliases,
              IPAMConfig: n.ipv4Address ? { IPv4Address: n.ipv4Address } : undefined,
            },
          });
        }
      }
      if (i.uploads?.length) await c.putArchive(tarOf(i.uploads.map(uploadFile)), { path: "/" });
      if (i.start !== false) {
        await c.start();
        if (i.wait) await waitHealthy(c, i.waitTimeout ?? 60);
      }
    } catch (err) {
      await c.remove({ force: true }).catch(() => undefined); // a failed create leaves nothing behind
      throw err;
    }
    return { id: c.id, outs: await computed(c.id, i) };
  },
  async update(id, _olds, i) {
    const c = docker.getContainer(id);
    await c.update({ RestartPolicy: { Name: i.restart ?? "no", MaximumRetryCount: i.maxRetryCount ?? 0 } });
    if (i.start !== false && i.mustRun !== false && !(await c.inspect()).State.Running) await c.start();
    return computed(id, i);
  },
  async delete(id, state) {
    const c = docker.getContainer(id);
    await c.stop({ t: state.destroyGraceSeconds ?? 0 }).catch(() => undefined);
    await c.remove({ force: true, v: state.removeVolumes ?? true }).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
  },
  async read(id, state) {
    return computed(id, state).catch((err) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
  },
};

function createOptions(i: ContainerInputs): Docker.ContainerCreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of i.ports ?? []) {
    const key = `${p.internal}/${p.protocol ?? "tcp"}`;
    exposed[key] = {};
    bindings[key] = [
      ...(bindings[key] ?? []),
      { HostIp: p.ip ?? "0.0.0.0", HostPort: p.external ? String(p.external) : "" },
    ];
  }
  const binds = (i.volumes ?? [])
    .filter((v) => v.hostPath || v.volumeName)
    .map((v) => `${v.hostPath || v.volumeName}:${v.containerPath}:${v.readOnly ? "ro" : "rw"}`);
  const anonymous = (i.volumes ?? []).filter((v) => !v.hostPath && !v.volumeName && v.containerPath);
  const hc = i.healthcheck;
  return {
    name: i.name,
    Image: i.image,
    Hostname: i.hostname,
    Cmd: i.command,
    Entrypoint: i.entrypoints,
    Env: i.envs,
    User: i.user,
    WorkingDir: i.workingDir,
    Labels: labelsMap(i.labels),
    ExposedPorts: exposed,
    Volumes: Object.fromEntries(anonymous.map((v) => [v.containerPath!, {}])),
    Healthcheck: hc && {
      Test: hc.tests,
      Interval: nanos(hc.interval),
      Timeout: nanos(hc.timeout),
      StartPeriod: nanos(hc.startPeriod),
      Retries: hc.retries,
    },
    HostConfig: {
      PortBindings: bindings,
      Binds: binds,
      CapAdd: i.capabilities?.adds,
      CapDrop: i.capabilities?.drops,
      SecurityOpt: i.securityOpts,
      Tmpfs: i.tmpfs,
      RestartPolicy: { Name: i.restart ?? "no", MaximumRetryCount: i.maxRetryCount ?? 0 },
      NetworkMode: i.networkMode,
    },
  };
}

/** Go-style duration ("1s", "500ms", "1m30s") in nanoseconds. */
function nanos(d?: string): number | undefined {
  if (!d) return undefined;
  const unit: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  return [...d.matchAll(/([\d.]+)(ns|us|ms|s|m|h)/g)].reduce((sum, [, n, u]) => sum + Number(n) * unit[u], 0);
}

function uploadFile(u: Upload) {
  const set = [u.content, u.contentBase64, u.source].filter((x) => x != null);
  if (set.length !== 1)
    throw new Error(`upload ${u.file}: exactly one of content, contentBase64, source must be set`);
  const content =
    u.content != null
      ? Buffer.from(u.content)
      : u.contentBase64 != null
        ? Buffer.from(u.contentBase64, "base64")
        : fs.readFileSync(u.source!);
  const mode = u.permissions ? parseInt(u.permissions, 8) : u.executable ? 0o744 : 0o644;
  return { name: u.file, content, mode };
}

async function ensureImage(image: string, ctx: Context): Promise<void> {
  try {
    await docker.getImage(image).inspect();
  } catch (err) {
    if (!isNotFound(err)) throw err;
    ctx.log("info", `pulling ${image}`);
    await followProgress(await docker.pull(image));
  }
}

async function waitHealthy(c: Docker.Container, timeoutSeconds: number): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const health = (await c.inspect()).State.Health;
    if (!health)
      throw new Error(
        "you have supplied a 'wait' argument, but the container does not have a healthcheck defined",
      );
    if (health.Status === "healthy") return;
    if (Date.now() > deadline)
      throw new Error(`container failed to be in a healthy state within ${timeoutSeconds}s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The outputs the engine computes: assigned ports, network data, and defaults taken from the image. */
async function computed(id: string, i: ContainerInputs) {
  const info = await docker.getContainer(id).inspect();
  const ports = Object.entries(info.NetworkSettings.Ports ?? {})
    .flatMap(([key, binds]) => (binds ?? []).map((b) => ({ key, b })))
    .map(({ key, b }) => ({
      internal: Number(key.split("/")[0]),
      external: Number(b.HostPort),
      ip: b.HostIp,
      protocol: key.split("/")[1],
    }))
    .sort((a, b) => a.internal - b.internal || a.protocol.localeCompare(b.protocol));
  const networkDatas = Object.entries(info.NetworkSettings.Networks ?? {}).map(([networkName, n]) => ({
    networkName,
    ipAddress: n.IPAddress,
    ipPrefixLength: n.IPPrefixLen,
    gateway: n.Gateway,
    macAddress: n.MacAddress,
  }));
  return {
    ...(i.ports?.length && info.State.Running ? { ports } : {}),
    networkDatas,
    ...(info.State.Running ? {} : { exitCode: info.State.ExitCode }),
    hostname: i.hostname ?? info.Config.Hostname,
    command: i.command ?? info.Config.Cmd ?? [],
    entrypoints: i.entrypoints ?? info.Config.Entrypoint ?? [],
  };
}
