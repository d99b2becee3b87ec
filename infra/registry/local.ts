/**
 * LocalRegistry: the environment's registry, as two containers of one image over one storage
 * volume, so that only the pipeline can push:
 * - `<prefix>-registry-push`, published on 127.0.0.1 for this machine: every request needs the
 *   pipeline's credentials (htpasswd); every manifest push is announced to the master's webhook.
 * - `<prefix>-registry`, the name minions pull from on the environment network: anonymous and
 *   read-only (distribution's read-only mode refuses every write), so a compromised minion can
 *   read images but never push one that would then deploy everywhere.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { localImage, type LocalServiceArgs } from "../image/local-image";
import { REGISTRY_IMAGE_DIR } from "../paths";
import {
  REGISTRY_CONFIG_PATH,
  REGISTRY_HOOK_CA_PATH,
  REGISTRY_HTPASSWD_PATH,
  renderRegistryConfig,
} from "../render/registry";
import { htpasswdLine } from "./htpasswd";

export { REGISTRY_HOOK_CA_PATH };

/** The registry's name on the environment network: what minions pull from. */
export const LOCAL_REGISTRY_HOST = "registry";
/** The push instance's name on the environment network (it needs credentials there too). */
export const LOCAL_REGISTRY_PUSH_HOST = "registry-push";
/** The pipeline's user on the push instance, unless `registry.username` names another. */
export const LOCAL_PUSH_USER = "saltpipe";
const REGISTRY_PORT = 5000;
const STORAGE_PATH = "/var/lib/docker-registry";

/** `port`: published on 127.0.0.1 for pushes from this machine. */
export interface LocalRegistryArgs extends LocalServiceArgs {
  /** The pipeline's push credentials (the password is a Pulumi secret). */
  readonly pushCredentials: { readonly username: string; readonly password: pulumi.Input<string> };
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
  /** Both containers: what must run before the first push. */
  readonly containers: docker.Container[];

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
    const instance = (
      suffix: string,
      alias: string,
      extra: Pick<docker.ContainerArgs, "ports" | "uploads" | "envs">,
    ) =>
      new docker.Container(
        `${name}-${suffix}`,
        {
          name: `${args.namePrefix}-registry${suffix === "container" ? "" : `-${suffix}`}`,
          image: image.repoDigest,
          networksAdvanced: [{ name: args.networkName, aliases: [alias] }],
          volumes: [{ volumeName: data.name, containerPath: STORAGE_PATH }],
          restart: "unless-stopped",
          mustRun: true,
          ...extra,
        },
        { parent: this, deleteBeforeReplace: true },
      );

    const notify = args.notify;
    const pushConfig = notify
      ? pulumi
          .all([notify.url, notify.token])
          .apply(([notifyUrl, token]) =>
            renderRegistryConfig({ notifyUrl, token, htpasswdPath: REGISTRY_HTPASSWD_PATH }),
          )
      : pulumi.output(renderRegistryConfig({ htpasswdPath: REGISTRY_HTPASSWD_PATH }));
    const htpasswd = pulumi
      .output(args.pushCredentials.password)
      .apply((password) => htpasswdLine(args.pushCredentials.username, password));
    const push = instance("push", LOCAL_REGISTRY_PUSH_HOST, {
      ports: [{ internal: REGISTRY_PORT, external: args.port, ip: "127.0.0.1" }],
      uploads: [
        { file: REGISTRY_CONFIG_PATH, content: pulumi.secret(pushConfig) },
        { file: REGISTRY_HTPASSWD_PATH, content: pulumi.secret(htpasswd) },
        ...(notify ? [{ file: REGISTRY_HOOK_CA_PATH, content: notify.hookCa }] : []),
      ],
      envs: notify ? [`SSL_CERT_FILE=${REGISTRY_HOOK_CA_PATH}`] : [],
    });
    // Keeps the name (and Pulumi name) the single registry had: minions' pulls are unchanged.
    const pull = instance("container", LOCAL_REGISTRY_HOST, {
      uploads: [{ file: REGISTRY_CONFIG_PATH, content: renderRegistryConfig({ readOnly: true }) }],
    });
    this.containers = [push, pull];
    this.pushHost = LocalRegistry.pushHostOf(args.port);
    this.pullHost = LocalRegistry.pullHost;
    this.registerOutputs({ pushHost: this.pushHost, pullHost: this.pullHost });
  }
}
