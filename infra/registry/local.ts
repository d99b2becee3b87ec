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
/** Where the hook's CA certificate is put in the registry container. */
export const REGISTRY_HOOK_CA_PATH = "/etc/docker/registry/hook-ca.pem";

export interface LocalRegistryArgs {
  readonly namePrefix: string;
  readonly networkName: pulumi.Input<string>;
  readonly baseImage: pulumi.Input<string>;
  /** Port published on 127.0.0.1 for pushes from this machine. */
  readonly port: number;
  /**
   * Where the registry posts push notifications: the master's webhook, the bearer token (a
   * Pulumi secret) and the CA certificate (PEM) of the hook's TLS certificate, the registry's
   * only trust anchor (`SSL_CERT_FILE`, which Go's crypto/x509 reads in place of the system
   * bundle), so its notifications verify the hook's certificate and trust nothing else.
   * Absent when the environment's events come another way (SQS).
   */
  readonly notify?: {
    readonly url: pulumi.Input<string>;
    readonly token: pulumi.Input<string>;
    readonly hookCa: pulumi.Input<string>;
  };
  /** Directory holding the registry image's Dockerfile (default: the package's `images/registry`). */
  readonly imageContext?: string;
}

export class LocalRegistry extends pulumi.ComponentResource {
  /** Host:port this machine pushes to, for a registry published on `port`. */
  static pushHostOf(port: number): string {
    return `127.0.0.1:${port}`;
  }
  /** Host:port minions pull from. */
  static readonly pullHost = `${LOCAL_REGISTRY_HOST}:${REGISTRY_PORT}`;

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
        uploads: [
          { file: REGISTRY_CONFIG_PATH, content: pulumi.secret(config) },
          ...(args.notify ? [{ file: REGISTRY_HOOK_CA_PATH, content: args.notify.hookCa }] : []),
        ],
        envs: args.notify ? [`SSL_CERT_FILE=${REGISTRY_HOOK_CA_PATH}`] : [],
        restart: "unless-stopped",
        mustRun: true,
      },
      { parent: this, deleteBeforeReplace: true },
    );
    this.pushHost = LocalRegistry.pushHostOf(args.port);
    this.pullHost = LocalRegistry.pullHost;
    this.registerOutputs({ pushHost: this.pushHost, pullHost: this.pullHost });
  }
}
