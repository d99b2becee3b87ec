/** The shop stack's configuration (`shop:*` in Pulumi.<stack>.yaml), read once into one typed value. */
import * as pulumi from "@pulumi/pulumi";
import type { ExistingMachine, OsName } from "saltpipe";

/** Servers we already run; the first one becomes the Salt master. */
export interface ExistingHostsConfig {
  readonly kind: "existing";
  readonly machines: readonly ExistingMachine[];
}

/** Machines saltpipe creates on AWS: one master and `minions` web servers. */
export interface AwsHostsConfig {
  readonly kind: "aws";
  readonly region: string;
  readonly os: OsName;
  readonly minions: number;
  readonly adminCidrs: readonly string[];
  /** OpenSSH public half of `sshPrivateKey`, installed as the instances' key pair. */
  readonly sshPublicKey: string;
}

export interface ShopConfig {
  readonly stack: string;
  readonly hosts: ExistingHostsConfig | AwsHostsConfig;
  /** Where the app image is pushed, with its registry host. */
  readonly repository: string;
  readonly registryUser: string;
  readonly registryPassword: pulumi.Input<string>;
  /** The image the app is built FROM. */
  readonly baseImage: string;
  readonly sshPrivateKey: pulumi.Input<string>;
}

export function readShopConfig(): ShopConfig {
  const config = new pulumi.Config("shop");
  const hosts = config.requireObject<{ kind: string }>("hosts");
  if (hosts.kind !== "existing" && hosts.kind !== "aws")
    throw new Error(`shop:hosts.kind must be "existing" or "aws", not "${hosts.kind}"`);
  return {
    stack: pulumi.getStack(),
    hosts:
      hosts.kind === "aws"
        ? ({
            ...hosts,
            region: new pulumi.Config("aws").require("region"),
            sshPublicKey: config.require("sshPublicKey"),
          } as AwsHostsConfig)
        : (hosts as ExistingHostsConfig),
    repository: config.require("repository"),
    registryUser: config.require("registryUser"),
    registryPassword: config.requireSecret("registryPassword"),
    baseImage: config.require("baseImage"),
    sshPrivateKey: config.requireSecret("sshPrivateKey"),
  };
}
