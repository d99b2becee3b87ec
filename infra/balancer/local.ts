/**
 * LocalLoadBalancer: the local environment's one entry point. An HAProxy container on the
 * environment's Docker network, published on one 127.0.0.1 port, that checks every
 * minion's app proxy on its own schedule and spreads requests over the healthy ones
 * (config: infra/render/lb.ts, which also says why HAProxy).
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { localImage, type LocalServiceArgs } from "../image/local-image";
import { LB_IMAGE_DIR } from "../paths";
import { LB_CONFIG_PATH, LB_LISTEN_PORT, renderLbConfig, type LbServer } from "../render/lb";

/** Docker's embedded DNS on user networks: resolves the minions' names at run time. */
const DOCKER_DNS = "127.0.0.11:53";

/** `port`: the one port published on 127.0.0.1. */
export interface LocalLoadBalancerArgs extends LocalServiceArgs {
  /** The minions' app proxies, by their names on the environment network. */
  readonly servers: readonly LbServer[];
  /** The app's health path, checked through each minion's proxy. */
  readonly healthPath: string;
  /** Check interval (ms); a server is out after 2 failed checks. */
  readonly checkIntervalMs?: number;
  /** Resources that must exist first (the minion hosts, so their names resolve). */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
  /** Directory holding the image's Dockerfile (default: the package's `images/lb`). */
  readonly imageContext?: string;
}

export class LocalLoadBalancer extends pulumi.ComponentResource {
  /** The environment's entry URL. */
  readonly url: string;
  readonly container: docker.Container;

  constructor(name: string, args: LocalLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("saltpipe:balancer:LocalLoadBalancer", name, {}, opts);
    const image = localImage(
      `${name}-image`,
      {
        imageName: `${args.namePrefix}-lb:latest`,
        context: args.imageContext ?? LB_IMAGE_DIR,
        baseImage: args.baseImage,
      },
      this,
    );
    const config = renderLbConfig({
      servers: args.servers,
      healthPath: args.healthPath,
      checkIntervalMs: args.checkIntervalMs,
      resolver: DOCKER_DNS,
    });
    this.container = new docker.Container(
      `${name}-container`,
      {
        name: `${args.namePrefix}-lb`,
        image: image.repoDigest,
        networksAdvanced: [{ name: args.networkName, aliases: ["lb"] }],
        ports: [{ internal: LB_LISTEN_PORT, external: args.port, ip: "127.0.0.1" }],
        uploads: [{ file: LB_CONFIG_PATH, content: config }],
        restart: "unless-stopped",
        mustRun: true,
      },
      { parent: this, deleteBeforeReplace: true, dependsOn: args.dependsOn },
    );
    this.url = `http://127.0.0.1:${args.port}/`;
    this.registerOutputs({ url: this.url });
  }
}
