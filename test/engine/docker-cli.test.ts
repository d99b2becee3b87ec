/**
 * The `docker` stand-in under the real Pulumi CLI: a network, a volume, a registry container,
 * an image built and pushed to it, an image built locally and a container running it. Up,
 * no-op, a context change (image update + container replace, nothing else), destroy leaving
 * nothing behind, and the secrets (upload content, registry password) absent from state and output.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { baseImage, docker, leftovers, removeTestImages, requireEngine, testLabel } from "./support/docker";
import { changedSteps, newProject, Project, recordingPulumi, Result, timings } from "./support/pulumi";

jest.setTimeout(15 * 60_000);

const prefix = `spcli-${process.pid}`;
const program = `
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";

const e = process.env;
const prefix = e.PREFIX!;
const net = new docker.Network("net", { name: prefix + "-net" });
const data = new docker.Volume("data", { name: prefix + "-data" });

const registry = new docker.Container("registry", {
  name: prefix + "-registry",
  image: e.BASE_REGISTRY!,
  command: ["docker-registry", "serve", "/etc/registry.yml"],
  ports: [{ internal: 5000, ip: "127.0.0.1" }],
  uploads: [{ file: "/etc/registry.yml", content: "version: 0.1\\nstorage:\\n  filesystem:\\n    rootdirectory: /tmp/r\\nhttp:\\n  addr: :5000\\n" }],
  networksAdvanced: [{ name: net.name, aliases: ["registry"] }],
}, { deleteBeforeReplace: true });
const registryHost = registry.ports.apply((p) => "127.0.0.1:" + p![0].external);

const pushed = new docker.Image("pushed", {
  imageName: pulumi.interpolate\`\${registryHost}/\${prefix}/app:v1\`,
  build: { context: "app", args: { BASE: e.BASE_RUNTIME! } },
  registry: { server: registryHost, username: "ci", password: pulumi.secret("REGISTRY-PASSWORD-XYZ") },
});

const local = new docker.Image("local", {
  imageName: prefix + "-app:latest",
  build: { context: "app", dockerfile: "app/Dockerfile", args: { BASE: e.BASE_RUNTIME! } },
  skipPush: true,
});
const app = new docker.Container("app", {
  name: prefix + "-app",
  image: local.repoDigest,
  command: ["sleep", "600"],
  envs: ["MODE=test"],
  ports: [{ internal: 8080, ip: "127.0.0.1" }],
  volumes: [{ volumeName: data.name, containerPath: "/data" }],
  uploads: [{ file: "/etc/app/token", content: pulumi.secret("UPLOAD-SECRET-XYZ"), permissions: "0600" }],
  networksAdvanced: [{ name: net.name, aliases: ["app"] }],
  restart: "unless-stopped",
}, { deleteBeforeReplace: true });

export const repoDigest = pushed.repoDigest;
export const appPort = app.ports.apply((p) => p![0].external);
`;

let project: Project;
const log: Result[] = [];

const pulumi = recordingPulumi(() => project, log);

beforeAll(async () => {
  await requireEngine();
  const files = {
    "index.ts": program,
    "app/Dockerfile": `ARG BASE\nFROM \${BASE}\n${testLabel(prefix)}\nCOPY version /version\n`,
    "app/version": "1\n",
  };
  project = await newProject("engine-docker", files, {
    PREFIX: prefix,
    BASE_RUNTIME: baseImage("runtime"),
    BASE_REGISTRY: baseImage("registry"),
  });
});
afterAll(async () => {
  process.stderr.write(`engine timings (${project?.dir}): ${timings(log)}\n`);
  await project?.pulumi(["destroy", "--yes", "--skip-preview"]);
  project?.remove();
  await removeTestImages(prefix);
});

test("up, no-op, context change, destroy through the CLI", async () => {
  await pulumi("up", "--yes", "--skip-preview");
  const out = JSON.parse((await pulumi("stack", "output", "--json")).stdout);
  expect(out.repoDigest).toMatch(new RegExp(`^127\\.0\\.0\\.1:\\d+/${prefix}/app@sha256:[0-9a-f]{64}$`));
  expect(out.appPort).toBeGreaterThan(0);
  const token = await docker.getContainer(`${prefix}-app`).inspect();
  expect(token.State.Running).toBe(true);

  expect((await pulumi("preview", "--expect-no-changes")).code).toBe(0);

  fs.writeFileSync(path.join(project.dir, "app/version"), "2\n");
  const preview = await pulumi("preview", "--json");
  expect(changedSteps(preview.stdout).sort()).toEqual(["replace app", "update local", "update pushed"]);

  await pulumi("up", "--yes", "--skip-preview");
  expect(JSON.parse((await pulumi("stack", "output", "--json")).stdout).repoDigest).not.toBe(out.repoDigest);

  await pulumi("destroy", "--yes", "--skip-preview");
  expect(await leftovers(prefix)).toEqual([]);
});

test("no secret in plain text in the state or the engine's output", () => {
  const everything = [project.backendText(), ...log.map((r) => r.stdout + r.stderr)].join("\n");
  expect(everything).toContain(`${prefix}/app`); // sanity: we are looking at the right text
  expect(everything).not.toContain("REGISTRY-PASSWORD-XYZ");
  expect(everything).not.toContain("UPLOAD-SECRET-XYZ");
});
