/** An image built on this machine from a directory with a Dockerfile, never pushed (host, registry). */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";

export function localImage(
  name: string,
  args: { imageName: string; context: string; baseImage: pulumi.Input<string> },
  parent: pulumi.Resource,
): docker.Image {
  return new docker.Image(
    name,
    {
      imageName: args.imageName,
      // Docker Hub is not assumed reachable: the base image is always a build argument.
      build: {
        context: args.context,
        dockerfile: path.join(args.context, "Dockerfile"),
        args: { BASE_IMAGE: args.baseImage },
      },
      skipPush: true,
    },
    { parent },
  );
}

/** What every service container of a local environment (registry, load balancer) is given. */
export interface LocalServiceArgs {
  readonly namePrefix: string;
  readonly networkName: pulumi.Input<string>;
  /** Image its own image is built FROM (`scripts/base-image.sh`). */
  readonly baseImage: pulumi.Input<string>;
  /** The port it publishes on 127.0.0.1. */
  readonly port: number;
}
