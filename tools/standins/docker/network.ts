/** `docker:index/network:Network`: every input replaces (Terraform schema: ForceNew). */
import type { ResourceType } from "../lib/provider";
import { autoname } from "../lib/provider";
import { docker, isNotFound } from "./engine";
import { labelsMap } from "./labels";

interface NetworkInputs {
  name: string;
  driver?: string;
  internal?: boolean;
  attachable?: boolean;
  options?: Record<string, string>;
  labels?: { label: string; value: string }[];
}

export const network: ResourceType<NetworkInputs, NetworkInputs> = {
  inputs: {
    name: true,
    driver: true,
    internal: true,
    attachable: true,
    options: true,
    labels: ["label", "value"],
  },
  outputs: ["driver", "scope", "internal", "attachable"],
  replaceOnChanges: ["name", "driver", "internal", "attachable", "options", "labels"],
  check: (news, olds, name) => autoname(news, olds, name),
  async create(i) {
    const created = await docker.createNetwork({
      Name: i.name,
      Driver: i.driver ?? "bridge",
      Internal: i.internal ?? false,
      Attachable: i.attachable ?? false,
      Options: i.options,
      Labels: labelsMap(i.labels),
      CheckDuplicate: true,
    });
    return { id: created.id, outs: await describe(created.id) };
  },
  async delete(id) {
    await docker
      .getNetwork(id)
      .remove()
      .catch((err) => {
        if (!isNotFound(err)) throw err;
      });
  },
  async read(id) {
    return describe(id).catch((err) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
  },
};

async function describe(id: string) {
  const n = await docker.getNetwork(id).inspect();
  return { driver: n.Driver, scope: n.Scope, internal: n.Internal, attachable: n.Attachable };
}
