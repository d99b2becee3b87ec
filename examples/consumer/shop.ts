/**
 * The shop: hosts (our own servers or AWS) → a Salt cluster running our states → our app image,
 * deployed to the web servers by digest once the cluster is ready.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import {
  AppImage,
  AwsHosts,
  DEFAULTS,
  REMOTE_STATES_DIR,
  SaltCluster,
  existingHosts,
  renderMinionConfig,
  rootShell,
  type Host,
  type SaltSpec,
} from "saltpipe";
import type { AwsHostsConfig, ShopConfig } from "./config";

const salt: SaltSpec = { ...DEFAULTS.salt, installMethod: "onedir" };
const WEB_PORT = 80;

function awsHosts(config: ShopConfig, hosts: AwsHostsConfig): Host[] {
  const instanceType = DEFAULTS.aws.instanceType;
  const web = Array.from({ length: hosts.minions }, (_, i) => `web-${i + 1}`);
  return new AwsHosts("shop", {
    namePrefix: `shop-${config.stack}`,
    aws: {
      region: hosts.region,
      availabilityZones: [`${hosts.region}a`, `${hosts.region}b`],
      vpcCidr: DEFAULTS.aws.vpcCidr,
      publicSubnetCidrs: ["10.42.1.0/24", "10.42.2.0/24"],
      privateSubnetCidrs: ["10.42.129.0/24", "10.42.130.0/24"],
      natGateways: config.stack === "prod" ? "perAz" : "single",
      allowPlainHttp: true,
      masterInstanceType: instanceType,
      minionInstanceType: instanceType,
      rootVolumeGb: DEFAULTS.aws.rootVolumeGb,
      amis: {},
      terminationProtection: config.stack === "prod",
    },
    adminCidrs: hosts.adminCidrs,
    machines: [
      { name: "salt", os: hosts.os, role: "master", instanceType },
      ...web.map((name) => ({ name, os: hosts.os, role: "minion" as const, instanceType })),
    ],
    sshPublicKey: hosts.sshPublicKey,
    sshPrivateKey: config.sshPrivateKey,
    saltPorts: [salt.publishPort, salt.retPort],
    appPort: WEB_PORT,
    tags: { "saltpipe:environment": config.stack },
  }).hosts;
}

export function deployShop(config: ShopConfig) {
  const [master, ...web] =
    config.hosts.kind === "aws"
      ? awsHosts(config, config.hosts)
      : existingHosts(config.hosts.machines, config.sshPrivateKey);

  const cluster = new SaltCluster("shop", {
    master,
    salt,
    masterFiles: [
      {
        path: "/etc/salt/master.d/shop.conf",
        content: `file_roots:\n  base:\n    - ${REMOTE_STATES_DIR}\n`,
        mode: "0644",
      },
    ],
    minions: web.map((host) => ({
      host,
      files: (masterAddress: string) => [
        {
          path: "/etc/salt/minion.d/shop.conf",
          mode: "0644",
          content: renderMinionConfig({
            id: host.name,
            master: masterAddress,
            masterPort: salt.retPort,
            publishPort: salt.publishPort,
            environment: config.stack,
            roles: ["shop"],
          }),
        },
      ],
    })),
    statesDir: path.join(__dirname, "salt"),
  });

  const image = new AppImage(
    "shop",
    {
      context: path.join(__dirname, "app"),
      repository: config.repository,
      tag: config.stack,
      buildArgs: { BASE_IMAGE: config.baseImage },
      registry: {
        server: config.repository.split("/")[0],
        username: config.registryUser,
        password: config.registryPassword,
      },
    },
    { dependsOn: [cluster.ready] },
  );

  // One web server at a time; a new digest is the only thing that re-runs the deploy.
  const deploy = new command.remote.Command(
    "shop-deploy",
    {
      connection: master.connection,
      create: rootShell(master),
      stdin: pulumi.interpolate`salt --batch-size 1 -G roles:shop state.apply shop pillar='{"shop": {"image": "${image.repoDigest}"}}'\n`,
      triggers: [image.repoDigest],
    },
    { dependsOn: [cluster.ready] },
  );

  return {
    masterAddress: master.publicAddress,
    // What the `saltpipe` command reads (status, watch, rollback…): the master's SSH address and key.
    masterSsh: cluster.masterSsh,
    masterSshKey: cluster.masterSshKey,
    webAddresses: web.map((host) => host.publicAddress),
    imageDigest: image.repoDigest,
    deployOutput: deploy.stdout,
  };
}
