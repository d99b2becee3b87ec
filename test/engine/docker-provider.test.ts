/**
 * The `docker` stand-in's resource logic against the running Docker engine, called the way
 * the engine calls a provider. Everything it makes is named spengine-<pid>-… and removed.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { resourceTypes } from "../../tools/standins/docker/main";
import { makeProvider } from "../../tools/standins/lib/provider";
import { isSecret, Props, reveal, secret } from "../../tools/standins/lib/wire";
import { baseImage, docker, leftovers, removeTestImages, requireEngine, testLabel } from "./support/docker";

jest.setTimeout(5 * 60_000);

const provider = makeProvider("5.2.0", resourceTypes);
const prefix = `spengine-${process.pid}`;
const urn = (type: string, name: string) => `urn:pulumi:test::saltpipe::docker:index/${type}::${name}`;
const NETWORK = urn("network:Network", "net");
const VOLUME = urn("volume:Volume", "vol");
const CONTAINER = urn("container:Container", "ctr");
const IMAGE = urn("image:Image", "img");

let runtime: string;
let work: string;
const created: { urn: string; id: string; outs: Props }[] = [];

async function create(u: string, inputs: Props) {
  const checked = await provider.check!(u, {}, inputs);
  expect(checked.failures ?? []).toEqual([]);
  const res = await provider.create!(u, checked.inputs);
  created.push({ urn: u, id: res.id, outs: res.outs });
  return { ...res, inputs: checked.inputs as Props };
}

beforeAll(async () => {
  await requireEngine();
  runtime = baseImage("runtime");
  work = fs.mkdtempSync(path.join(os.tmpdir(), "spengine-docker-"));
});
afterAll(async () => {
  for (const r of created.reverse()) await provider.delete!(r.id, r.urn, r.outs).catch(() => undefined);
  fs.rmSync(work, { recursive: true, force: true });
  await removeTestImages(prefix);
  expect(await leftovers(prefix)).toEqual([]);
});

test("network and volume: create, read, replace on any change, delete", async () => {
  const net = await create(NETWORK, { name: `${prefix}-net`, labels: [{ label: "app", value: "x" }] });
  expect((await docker.getNetwork(net.id).inspect()).Labels).toEqual({ app: "x" });
  expect(await provider.diff!(net.id, NETWORK, net.outs, net.inputs)).toEqual({
    changes: false,
    replaces: [],
  });
  expect(
    (await provider.diff!(net.id, NETWORK, net.outs, { ...net.inputs, internal: true })).replaces,
  ).toEqual(["internal"]);

  const vol = await create(VOLUME, {});
  expect(vol.id).toMatch(/^vol-[0-9a-f]{7}$/); // auto-named like Pulumi does
  expect(vol.outs.mountpoint).toMatch(/^\/var\/lib\/docker\/volumes\//);
  await provider.delete!(vol.id, VOLUME, vol.outs);
  expect(await provider.read!(vol.id, VOLUME, vol.outs)).toEqual({ id: "", props: {} });
});

test("image: build with skipPush gives the image id; a context change is an update, never a replace", async () => {
  fs.writeFileSync(
    path.join(work, "Dockerfile"),
    `ARG BASE\nFROM \${BASE}\n${testLabel(prefix)}\nCOPY hello.txt /hello.txt\n`,
  );
  fs.writeFileSync(path.join(work, "hello.txt"), "v1");
  fs.writeFileSync(path.join(work, "ignored.txt"), "x");
  fs.writeFileSync(path.join(work, ".dockerignore"), "ignored.txt\n");
  const inputs = {
    imageName: `${prefix}-img:latest`,
    build: { context: work, args: { BASE: runtime } },
    skipPush: true,
  };
  const img = await create(IMAGE, inputs);
  expect(img.outs.repoDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(img.outs).toMatchObject({ dockerfile: "Dockerfile", context: work, platform: "linux/amd64" });

  const same = await provider.check!(IMAGE, img.inputs, inputs);
  expect(await provider.diff!(img.id, IMAGE, img.outs, same.inputs)).toEqual({
    changes: false,
    replaces: [],
  });
  fs.writeFileSync(path.join(work, "ignored.txt"), "changed, but ignored");
  expect(
    (await provider.diff!(img.id, IMAGE, img.outs, (await provider.check!(IMAGE, img.inputs, inputs)).inputs))
      .changes,
  ).toBe(false);
  fs.writeFileSync(path.join(work, "hello.txt"), "v2");
  const changed = await provider.check!(IMAGE, img.inputs, inputs);
  expect(await provider.diff!(img.id, IMAGE, img.outs, changed.inputs)).toEqual({
    changes: true,
    replaces: [],
  });
  const rebuilt = await provider.update!(img.id, IMAGE, img.outs, changed.inputs);
  expect(rebuilt.outs.repoDigest).not.toBe(img.outs.repoDigest);
});

test("container: networks, ports, uploads, volumes; assigned ports never look like a change; image change replaces", async () => {
  const net = await create(NETWORK, { name: `${prefix}-cnet` });
  const vol = await create(VOLUME, { name: `${prefix}-cvol` });
  const inputs = {
    name: `${prefix}-ctr`,
    image: runtime,
    hostname: "box",
    command: ["sleep", "300"],
    envs: secret(["TOKEN=s3cr3t"]),
    ports: [{ internal: 8080, ip: "127.0.0.1" }],
    networksAdvanced: [{ name: net.outs.name, aliases: ["box-alias"] }],
    capabilities: { adds: ["NET_ADMIN"] },
    securityOpts: ["no-new-privileges"],
    tmpfs: { "/run": "rw" },
    volumes: [{ volumeName: vol.outs.name, containerPath: "/data" }],
    uploads: [{ file: "/etc/app/config", content: secret("key: value"), permissions: "0600" }],
    labels: [{ label: "saltpipe", value: "test" }],
    restart: "unless-stopped",
    mustRun: true,
  };
  const ctr = await create(CONTAINER, inputs);
  const info = await docker.getContainer(ctr.id).inspect();
  expect(info.State.Running).toBe(true);
  expect(info.Config.Hostname).toBe("box");
  expect(Object.keys(info.NetworkSettings.Networks)).toEqual([`${prefix}-cnet`]);
  expect(info.NetworkSettings.Networks[`${prefix}-cnet`].Aliases).toContain("box-alias");
  expect(info.HostConfig.CapAdd).toEqual(["NET_ADMIN"]);
  expect(info.HostConfig.RestartPolicy?.Name).toBe("unless-stopped");
  expect(info.Mounts.map((m) => m.Name)).toContain(`${prefix}-cvol`);

  const ports = ctr.outs.ports as { internal: number; external: number; ip: string }[];
  expect(ports).toEqual([{ internal: 8080, external: expect.any(Number), ip: "127.0.0.1", protocol: "tcp" }]);
  expect(ports[0].external).toBeGreaterThan(0);
  expect(isSecret(ctr.outs.envs)).toBe(true);
  expect(isSecret(ctr.outs.uploads)).toBe(true);
  expect(reveal<string[]>(ctr.outs.networkDatas).length).toBe(1);

  const exec = async (cmd: string[]) => {
    const e = await docker
      .getContainer(ctr.id)
      .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: true });
    const stream = await e.start({ Tty: true });
    const chunks: Buffer[] = [];
    await new Promise((r) => (stream.on("data", (d: Buffer) => chunks.push(d)), stream.on("end", r)));
    return Buffer.concat(chunks).toString();
  };
  expect(await exec(["stat", "-c", "%a", "/etc/app/config"])).toContain("600");
  expect(await exec(["cat", "/etc/app/config"])).toContain("key: value");

  expect(await provider.diff!(ctr.id, CONTAINER, ctr.outs, ctr.inputs)).toEqual({
    changes: false,
    replaces: [],
  });
  expect(await provider.diff!(ctr.id, CONTAINER, ctr.outs, { ...ctr.inputs, restart: "always" })).toEqual({
    changes: true,
    replaces: [],
  });
  expect(
    (await provider.diff!(ctr.id, CONTAINER, ctr.outs, { ...ctr.inputs, image: "other" })).replaces,
  ).toEqual(["image"]);

  const updated = await provider.update!(ctr.id, CONTAINER, ctr.outs, { ...ctr.inputs, restart: "always" });
  expect((await docker.getContainer(ctr.id).inspect()).HostConfig.RestartPolicy?.Name).toBe("always");
  expect(updated.outs.ports).toEqual(ctr.outs.ports);

  await provider.delete!(ctr.id, CONTAINER, ctr.outs);
  expect(await provider.read!(ctr.id, CONTAINER, ctr.outs)).toEqual({ id: "", props: {} });
});

/** Debian's default registry config asks for htpasswd auth it has no file for: serve without auth. */
const registryConfig = `version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/docker-registry
http:
  addr: :5000
`;

test("image: build and push to a registry gives repo@sha256 of the pushed manifest", async () => {
  const registry = await create(CONTAINER, {
    name: `${prefix}-registry`,
    image: baseImage("registry"),
    command: ["docker-registry", "serve", "/etc/registry.yml"],
    ports: [{ internal: 5000, ip: "127.0.0.1" }],
    uploads: [{ file: "/etc/registry.yml", content: registryConfig }],
  });
  const port = (registry.outs.ports as { external: number }[])[0].external;
  fs.writeFileSync(
    path.join(work, "Dockerfile"),
    `ARG BASE\nFROM \${BASE}\n${testLabel(prefix)}\nRUN echo pushed > /pushed\n`,
  );
  const imageName = `127.0.0.1:${port}/spengine/app:t1`;
  const img = await create(IMAGE, {
    imageName,
    build: { context: work, args: { BASE: runtime } },
    registry: { server: `127.0.0.1:${port}`, username: "u", password: secret("registry-pw") },
  });
  const repoDigest = img.outs.repoDigest as string;
  expect(repoDigest).toMatch(new RegExp(`^127\\.0\\.0\\.1:${port}/spengine/app@sha256:[0-9a-f]{64}$`));
  const digest = repoDigest.split("@")[1];
  const status = await new Promise<number>((resolve, reject) =>
    http
      .request(
        {
          host: "127.0.0.1",
          port,
          method: "HEAD",
          path: `/v2/spengine/app/manifests/${digest}`,
          headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" },
        },
        (res) => resolve(res.statusCode!),
      )
      .on("error", reject)
      .end(),
  );
  expect(status).toBe(200);
  expect(isSecret(img.outs.registry)).toBe(true);
  const newPassword = {
    ...img.inputs,
    registry: { server: `127.0.0.1:${port}`, username: "u", password: secret("rotated") },
  };
  expect((await provider.diff!(img.id, IMAGE, img.outs, newPassword)).changes).toBe(false);
});
