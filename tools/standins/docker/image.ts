/**
 * `docker:index/image:Image`, as pulumi-docker's native Image does it: check fills in the build
 * defaults and `build.contextDigest`; any change updates (rebuild, then push unless `skipPush`),
 * never replaces; registry username/password changes alone are no change; nothing is built in
 * preview; destroy leaves the image and its tags alone. `repoDigest` is `repo@sha256:…` of the
 * pushed manifest, or the local image id when the push is skipped.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Context, ResourceType } from "../lib/provider";
import { isSecret, Props, reveal, secret } from "../lib/wire";
import { contextDigest } from "./context";
import { docker, dockerCli, followProgress } from "./engine";

interface Build {
  context: string;
  dockerfile: string;
  platform: string;
  args?: Record<string, string>;
  target?: string;
  cacheFrom?: { images?: string[] };
  builderVersion?: "BuilderV1" | "BuilderBuildKit";
  addHosts?: string[];
  network?: string;
  contextDigest: string;
}
interface ImageInputs {
  imageName: string;
  build: Build;
  registry?: { server?: string; username?: string; password?: string };
  skipPush?: boolean;
  buildOnPreview?: boolean;
}

export const image: ResourceType<ImageInputs, ImageInputs> = {
  inputs: {
    imageName: true,
    build: [
      "context",
      "dockerfile",
      "platform",
      "args",
      "target",
      "cacheFrom",
      "builderVersion",
      "addHosts",
      "network",
      "contextDigest",
    ],
    registry: ["server", "username", "password"],
    skipPush: true,
    buildOnPreview: true,
  },
  outputs: ["baseImageName", "registryServer", "context", "dockerfile", "platform", "repoDigest"],
  replaceOnChanges: [],
  ignoreChanges: (key, olds, news) =>
    key === "registry" && (olds.registry as Props)?.server === (news.registry as Props)?.server,
  check(news) {
    const raw = (news.build ?? {}) as Props;
    const b = reveal<Partial<Build>>(raw);
    const context = b.context ?? ".";
    const dockerfile = b.dockerfile ?? path.join(context, "Dockerfile");
    if (!fs.existsSync(dockerfile))
      throw new Error(`could not open dockerfile at ${JSON.stringify(dockerfile)}`);
    const filled = {
      context,
      dockerfile,
      platform: b.platform ?? "linux/amd64",
      contextDigest: contextDigest(context, dockerfile),
    };
    return { ...news, build: isSecret(raw) ? secret({ ...b, ...filled }) : { ...raw, ...filled } };
  },
  async create(i, ctx) {
    return { id: i.imageName, outs: await buildAndPush(i, ctx) };
  },
  async update(_id, _olds, i, ctx) {
    return buildAndPush(i, ctx);
  },
};

async function buildAndPush(i: ImageInputs, ctx: Context) {
  const b = i.build;
  const log = ctx.secretInputs.has("build") ? undefined : (line: string) => ctx.log("info", line);
  const cacheFrom = b.cacheFrom?.images ?? [];
  for (const ref of cacheFrom) {
    await docker
      .pull(ref)
      .then((s) => followProgress(s))
      .catch((err) => ctx.log("info", `cacheFrom image ${ref} not available: ${(err as Error).message}`));
  }
  const args = [
    ["-f", b.dockerfile],
    ["-t", i.imageName],
    ["--platform", b.platform],
    ...Object.entries(b.args ?? {}).map(([k, v]) => ["--build-arg", `${k}=${v}`]),
    ...cacheFrom.map((ref) => ["--cache-from", ref]),
    ...(b.addHosts ?? []).map((h) => ["--add-host", h]),
    b.target ? ["--target", b.target] : [],
    b.network ? ["--network", b.network] : [],
  ].flat();
  const buildkit = b.builderVersion === "BuilderV1" ? "0" : "1";
  await dockerCli(["build", ...args, b.context], {
    env: { DOCKER_BUILDKIT: buildkit, BUILDKIT_INLINE_CACHE: "1" },
    onLine: log,
  });
  const { Id } = await docker.getImage(i.imageName).inspect();
  const outs = {
    imageName: i.imageName,
    baseImageName: i.imageName,
    registryServer: i.registry?.server ?? "",
    context: b.context,
    dockerfile: path.relative(b.context, b.dockerfile),
    platform: b.platform,
  };
  if (i.skipPush) return { ...outs, repoDigest: Id };
  ctx.log("info", `pushing ${i.imageName}`);
  return { ...outs, repoDigest: `${repository(i.imageName)}@${await push(i)}` };
}

/** Push the image's tag; the registry's manifest digest. Credentials go in the request, never on disk. */
async function push(i: ImageInputs): Promise<string> {
  const ref = parseRef(i.imageName);
  const r = i.registry;
  const authconfig = r?.username
    ? { username: r.username, password: r.password, serveraddress: r.server ?? ref.domain }
    : {};
  let digest: string | undefined;
  const stream = await docker.getImage(`${ref.name}:${ref.tag}`).push({ tag: ref.tag, authconfig });
  await followProgress(stream, (e) => (digest = e.aux?.Digest ?? digest));
  if (!digest) throw new Error(`pushing ${i.imageName} reported no digest`);
  return digest;
}

/** Split "host:5000/a/b:tag" into its registry domain, name and tag (tag "latest" when none). */
export function parseRef(imageName: string): { domain: string; name: string; tag: string } {
  const slash = imageName.lastIndexOf("/");
  const colon = imageName.lastIndexOf(":");
  const [name, tag] =
    colon > slash ? [imageName.slice(0, colon), imageName.slice(colon + 1)] : [imageName, "latest"];
  const first = name.split("/")[0];
  const hasDomain =
    name.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  return { domain: hasDomain ? first : "docker.io", name, tag };
}

/** The normalized repository, as Docker names it in a digest reference ("docker.io/library/x" for "x"). */
export function repository(imageName: string): string {
  const { domain, name } = parseRef(imageName);
  if (domain !== "docker.io" || name.startsWith("docker.io/")) return name;
  return `docker.io/${name.includes("/") ? name : `library/${name}`}`;
}
