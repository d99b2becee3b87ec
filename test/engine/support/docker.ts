/** Docker for the engine tests: a running engine, the project's local base images, and what a test left behind. */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import Docker from "dockerode";

export const docker = new Docker();

export async function requireEngine(): Promise<void> {
  await docker.ping().catch(() => {
    throw new Error("the docker tests need a running Docker engine: scripts/docker-engine.sh");
  });
}

/** A base image from scripts/base-image.sh (built once, cached afterwards). */
export function baseImage(flavour: "runtime" | "registry" | "host"): string {
  const script = path.resolve(__dirname, "../../../scripts/base-image.sh");
  return execFileSync("bash", [script, flavour], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
    .trim()
    .split("\n")
    .pop()!;
}

/** Containers, networks and volumes whose name starts with PREFIX. */
export async function leftovers(prefix: string): Promise<string[]> {
  const containers = (await docker.listContainers({ all: true })).flatMap((c) =>
    c.Names.map((n) => n.replace(/^\//, "")),
  );
  const networks = (await docker.listNetworks()).map((n) => n.Name);
  const volumes = ((await docker.listVolumes()).Volumes ?? []).map((v) => v.Name);
  return [...containers, ...networks, ...volumes].filter((n) => n.startsWith(prefix));
}

/** A Dockerfile line marking an image as made by the test run PREFIX (see removeTestImages). */
export const testLabel = (prefix: string) => `LABEL saltpipe.test=${prefix}`;

/** Remove every image the run PREFIX built (destroy leaves images behind, as the real plugin does). */
export async function removeTestImages(prefix: string): Promise<void> {
  for (const img of await docker.listImages({ filters: { label: [`saltpipe.test=${prefix}`] } })) {
    await docker
      .getImage(img.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
}
