/** Offline stand-in for the `docker` plugin: run by tools/standins/bin/pulumi-resource-docker. */
import { main } from "@pulumi/pulumi/provider";
import { version } from "@pulumi/docker/package.json";
import { connectEngine } from "../lib/engineLog";
import { AnyResourceType, makeProvider } from "../lib/provider";
import { container } from "./container";
import { image } from "./image";
import { network } from "./network";
import { volume } from "./volume";

export const resourceTypes: Record<string, AnyResourceType> = {
  "docker:index/network:Network": network,
  "docker:index/volume:Volume": volume,
  "docker:index/container:Container": container,
  "docker:index/image:Image": image,
};

if (require.main === module) {
  connectEngine(process.argv.slice(2));
  void main(makeProvider(version, resourceTypes), process.argv.slice(2));
}
