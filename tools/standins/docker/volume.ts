/** `docker:index/volume:Volume`: every input replaces (Terraform schema: ForceNew). */
import type { ResourceType } from "../lib/provider";
import { autoname } from "../lib/provider";
import { docker, isNotFound } from "./engine";
import { labelsMap } from "./labels";

interface VolumeInputs {
  name: string;
  driver?: string;
  driverOpts?: Record<string, string>;
  labels?: { label: string; value: string }[];
}

export const volume: ResourceType<VolumeInputs, VolumeInputs> = {
  inputs: { name: true, driver: true, driverOpts: true, labels: ["label", "value"] },
  outputs: ["driver", "mountpoint"],
  replaceOnChanges: ["name", "driver", "driverOpts", "labels"],
  check: (news, olds, name) => autoname(news, olds, name),
  async create(i) {
    await docker.createVolume({
      Name: i.name,
      Driver: i.driver ?? "local",
      DriverOpts: i.driverOpts,
      Labels: labelsMap(i.labels),
    });
    return { id: i.name, outs: await describe(i.name) };
  },
  async delete(id, _state, ctx) {
    // Like the Terraform provider: a volume still in use (a container being removed) is retried for a while.
    for (let attempt = 1; ; attempt++) {
      try {
        return await docker.getVolume(id).remove();
      } catch (err) {
        if (isNotFound(err)) return;
        if ((err as { statusCode?: number }).statusCode !== 409 || attempt >= 30) throw err;
        ctx.log("debug", `volume ${id} is in use; retrying`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  },
  async read(id) {
    return describe(id).catch((err) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
  },
};

async function describe(name: string) {
  const v = await docker.getVolume(name).inspect();
  return { driver: v.Driver, mountpoint: v.Mountpoint };
}
