/**
 * LocalRegistry: a registry container on the environment's Docker network. This machine
 * pushes to it on 127.0.0.1; minions pull from it by its network name; every manifest push
 * is announced to the master's webhook with the stack's bearer token.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { localImage } from "../image/local-image";
import { REGISTRY_IMAGE_DIR } from "../paths";
import { REGISTRY_CONFIG_PATH, renderRegistryConfig } from "../render/registry";

/** The registry's name on the environment network: what minions pull from. */
export const LOCAL_REGISTRY_HOST = "registry";
const REGISTRY_PORT = 5000;

export interface LocalRegistryArgs {
  readonly namePrefix: string;
  readonly networkName: pulumi.Input<string>;
  readonly baseImage: pulumi.Input<string>;
  /** Port published on 127.0.0.1 for pushes from this machine. */
  readonly port: number;
  /**
   * Where the registry posts push notifications: the master's webhook and the bearer token
   * (a Pulumi secret). Absent when the environment's events come another way (SQS).
   */
  readonly notify?: { readonly url: pulumi.Input<string>; readonly token: pulumi.Input<string> };
  /** Directory holding the registry image's Dockerfile (default: the package's `images/registry`). */
  readonly imageContext?: string;
}

export class LocalRegistry extends pulumi.ComponentResource {
  /** Host:port this machine pushes to. */
  readonly pushHost: string;
  /** Host:port minions pull from. */
  readonly pullHost: string;
  readonly container: docker.Container;

  constructor(name: string, args: LocalRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("saltpipe:registry:LocalRegistry", name, {}, opts);
    const context = args.imageContext ?? REGISTRY_IMAGE_DIR;
    const image = localImage(
      `${name}-image`,
      { imageName: `${args.namePrefix}-registry:latest`, context, baseImage: args.baseImage },
      this,
    );
    const data = new docker.Volume(
      `${name}-data`,
      { name: `${args.namePrefix}-registry-data` },
      { parent: this },
    );
    const config = args.notify
      ? pulumi
          .all([args.notify.url, args.notify.token])
          .apply(([notifyUrl, token]) => renderRegistryConfig({ notifyUrl, token }))
      : pulumi.output(renderRegistryConfig({}));
    this.container = new docker.Container(
      `${name}-container`,
      {
        name: `${args.namePrefix}-registry`,
        image: image.repoDigest,
        networksAdvanced: [{ name: args.networkName, aliases: [LOCAL_REGISTRY_HOST] }],
        ports: [{ internal: REGISTRY_PORT, external: args.port, ip: "127.0.0.1" }],
        volumes: [{ volumeName: data.name, containerPath: "/var/lib/docker-registry" }],
        uploads: [{ file: REGISTRY_CONFIG_PATH, content: pulumi.secret(config) }],
        restart: "unless-stopped",
        mustRun: true,
      },
      { parent: this, deleteBeforeReplace: true },
    );
    this.pushHost = `127.0.0.1:${args.port}`;
    this.pullHost = `${LOCAL_REGISTRY_HOST}:${REGISTRY_PORT}`;
    this.registerOutputs({ pushHost: this.pushHost, pullHost: this.pullHost });
  }
}
