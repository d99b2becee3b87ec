/**
 * `local` hosts: one container per machine on a private Docker network, each a real
 * little server (systemd as PID 1, sshd, its own Docker engine). Only the first machine
 * (the master) publishes SSH, on 127.0.0.1; every other one publishes no SSH port and is
 * reached through it as an SSH jump host (`@pulumi/command` connection `proxy`), by its
 * name on the network — as private minions behind a bastion are in a cloud.
 */
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { preferredHostKey } from "../ssh/host-key";
import { KEEP_COLLECTED_KEYS, renderReadContainerHostKeys } from "./host-key-scripts";
import { localImage } from "../image/local-image";
import { HOST_IMAGE_DIR } from "../paths";
import type { OsName } from "../config/spec";
import { pinnedConnection, type Host } from "./host";

export interface PublishedPort {
  /** Port inside the host container. */
  readonly internal: number;
  /** Port on 127.0.0.1 of this machine. */
  readonly external: number;
}

export interface DockerMachine {
  readonly name: string;
  readonly os: OsName;
  readonly publish?: readonly PublishedPort[];
}

export interface DockerHostsArgs {
  /** Prefix of every container, network, volume and image name. */
  readonly namePrefix: string;
  /** Image the host image is built FROM (must exist locally). */
  readonly baseImage: pulumi.Input<string>;
  /** Directory holding the host image's Dockerfile (default: the package's `images/host`). */
  readonly hostImageContext?: string;
  readonly machines: readonly DockerMachine[];
  readonly sshPublicKey: pulumi.Input<string>;
  readonly sshPrivateKey: pulumi.Input<string>;
  /**
   * 127.0.0.1 port of the first machine's SSH (the jump host). A fixed port survives a
   * container restart, so the engine can still reach (and destroy) a restarted host.
   */
  readonly sshPortBase: number;
}

/** Capabilities and options that let systemd and dockerd run without --privileged (FACTS.md). */
const SYSTEMD_CONTAINER = {
  capabilities: { adds: ["SYS_ADMIN", "NET_ADMIN"] },
  securityOpts: ["seccomp=unconfined", "apparmor=unconfined"],
  tmpfs: { "/run": "rw", "/run/lock": "rw" },
  envs: ["container=docker"],
  command: ["/sbin/init"],
};

/** Dial tries for a host behind the jump host (≈ 7 min with the 1 → 5 s back-off). */
const JUMPED_DIAL_LIMIT = 90;

export class DockerHosts extends pulumi.ComponentResource {
  readonly hosts: Host[];
  readonly network: docker.Network;
  readonly networkName: pulumi.Output<string>;

  constructor(name: string, args: DockerHostsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("saltpipe:hosts:DockerHosts", name, {}, opts);
    const prefix = args.namePrefix;
    const context = args.hostImageContext ?? HOST_IMAGE_DIR;

    const image = localImage(
      `${name}-image`,
      { imageName: `${prefix}-host:latest`, context, baseImage: args.baseImage },
      this,
    );
    this.network = new docker.Network(`${name}-network`, { name: `${prefix}-net` }, { parent: this });
    this.networkName = this.network.name;

    let jump: Host["connection"] | undefined;
    this.hosts = args.machines.map((machine, index) => {
      const bastion = index === 0;
      // The inner engine's storage: on a volume it gets overlay2 instead of slow vfs.
      const volume = new docker.Volume(
        `${name}-${machine.name}-docker`,
        { name: `${prefix}-${machine.name}-docker` },
        { parent: this },
      );
      const container = new docker.Container(
        `${name}-${machine.name}`,
        {
          name: `${prefix}-${machine.name}`,
          hostname: machine.name,
          image: image.repoDigest,
          ...SYSTEMD_CONTAINER,
          networksAdvanced: [{ name: this.network.name, aliases: [machine.name] }],
          ports: [
            ...(bastion ? [{ internal: 22, external: args.sshPortBase, ip: "127.0.0.1" }] : []),
            ...(machine.publish ?? []).map((p) => ({
              internal: p.internal,
              external: p.external,
              ip: "127.0.0.1",
            })),
          ],
          volumes: [
            { hostPath: "/sys/fs/cgroup", containerPath: "/sys/fs/cgroup" },
            { volumeName: volume.name, containerPath: "/var/lib/docker" },
          ],
          uploads: [{ file: "/root/.ssh/authorized_keys", content: args.sshPublicKey, permissions: "0600" }],
          restart: "unless-stopped",
          mustRun: true,
        },
        { parent: this, deleteBeforeReplace: true },
      );
      // The host key, read from inside the container (not over the network) once per container.
      const hostKeys = new command.local.Command(
        `${name}-${machine.name}-host-key`,
        {
          create: renderReadContainerHostKeys(`${prefix}-${machine.name}`),
          update: KEEP_COLLECTED_KEYS,
          triggers: [container.id],
        },
        { parent: this, dependsOn: [container] },
      );
      const key = { user: "root", privateKey: args.sshPrivateKey, dialErrorLimit: 30, perDialTimeout: 5 };
      let connection: Host["connection"];
      if (bastion) {
        const sshPort = container.ports.apply((ports) => {
          const ssh = (ports ?? []).find((p) => p.internal === 22);
          if (!ssh?.external)
            throw new Error(`container ${prefix}-${machine.name} has no published SSH port`);
          return ssh.external;
        });
        connection = pinnedConnection(
          machine.name,
          { host: "127.0.0.1", port: sshPort, ...key },
          hostKeys.stdout.apply(preferredHostKey),
        );
        jump = connection;
      } else {
        // Private: only the jump host can reach it, by its name on the environment network.
        // Its key is pinned too, checked in the handshake through the jump host (no direct
        // pre-flight: this machine cannot reach it). A refused channel fails at once (no
        // connect timeout), so allow more tries while the host's sshd starts.
        connection = {
          host: machine.name,
          port: 22,
          ...key,
          dialErrorLimit: JUMPED_DIAL_LIMIT,
          proxy: jump,
          hostKey: hostKeys.stdout.apply(preferredHostKey),
        };
      }
      const host: Host = {
        name: machine.name,
        os: machine.os,
        connection,
        privateAddress: pulumi.output(machine.name),
        publicAddress: pulumi.output("127.0.0.1"),
        sudo: false,
        dependsOn: [container],
      };
      return host;
    });
    this.registerOutputs({ networkName: this.networkName });
  }
}
