/**
 * SaltCluster: a master and its minions, ready only when every minion answers the master.
 */
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { SaltSpec } from "../config/spec";
import type { Host } from "../hosts/host";
import { type HostFile, renderHighstateScript, renderWaitForMinionsScript } from "../render/bootstrap";
import { SaltMaster, type SaltMasterArgs } from "./master";
import { SaltMinion } from "./minion";
import { contentHash, remoteScript } from "./remote";

/** How an operator reaches the master over SSH: the `saltpipe` command reads it from the stack outputs. */
export interface MasterSsh {
  /** The master's host name in the stack (for messages). */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The master's pinned SSH host key: the command refuses a master that presents another key. */
  readonly hostKey?: string;
}

/** The master's SSH address and user (plain) and its private key (a secret), from its Host. */
export function masterSshOf(host: Host): { ssh: pulumi.Output<MasterSsh>; key: pulumi.Output<string> } {
  const c = host.connection;
  return {
    ssh: pulumi
      .all([c.host, c.port ?? 22, c.user ?? "root", c.hostKey])
      .apply(([address, port, user, hostKey]) => ({ name: host.name, host: address, port, user, hostKey })),
    key: pulumi.secret(pulumi.output(c.privateKey ?? "")),
  };
}

export interface ClusterMinion {
  readonly host: Host;
  /** Files for this minion (its config with id, master address and grains). */
  readonly files: (masterAddress: string) => pulumi.Input<HostFile[]>;
}

export interface SaltClusterArgs {
  readonly master: Host;
  readonly minions: readonly ClusterMinion[];
  readonly salt: SaltSpec;
  /** Master config and pillar files (see SaltMasterArgs.files). */
  readonly masterFiles: pulumi.Input<HostFile[]>;
  /** Local state tree (default: this package's `salt-states/`). */
  readonly statesDir?: string;
  /** See SaltMasterArgs.hookTls. */
  readonly hookTls?: SaltMasterArgs["hookTls"];
  /** How long to wait for every minion to answer, in seconds (default 300). */
  readonly readyTimeoutSeconds?: number;
  /**
   * Apply the highstate to every minion once they answer (default true), and again when the
   * state tree or the master's files change: the minions' base (Docker, proxy) is in place
   * before anything is deployed.
   */
  readonly highstate?: boolean;
  /**
   * On destroy, remove what saltpipe installed from every host (default false): for hosts
   * that outlive the stack, such as existing servers.
   */
  readonly uninstallOnDestroy?: boolean;
}

export class SaltCluster extends pulumi.ComponentResource {
  readonly master: SaltMaster;
  readonly minions: SaltMinion[];
  readonly minionIds: string[];
  /**
   * How operators reach the master (`saltpipe status|watch|rollback|…`): export it and
   * {@link masterSshKey} from the stack program (`export const masterSsh = cluster.masterSsh`).
   */
  readonly masterSsh: pulumi.Output<MasterSsh>;
  /** The master's SSH private key, a Pulumi secret (`pulumi stack output --show-secrets`). */
  readonly masterSshKey: pulumi.Output<string>;
  /** Completes when every minion answers `test.ping` through the master (and, by default, has its highstate). */
  readonly ready: command.remote.Command;

  constructor(name: string, args: SaltClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("saltpipe:salt:SaltCluster", name, {}, opts);
    if (args.minions.length === 0)
      throw new pulumi.ResourceError("SaltCluster needs at least one minion", this);
    const ids = args.minions.map((m) => m.host.name);
    const duplicate = ids.find((id, i) => ids.indexOf(id) !== i || id === args.master.name);
    if (duplicate)
      throw new pulumi.ResourceError(`SaltCluster: host name "${duplicate}" is used twice`, this);

    this.master = new SaltMaster(
      `${name}-master`,
      {
        host: args.master,
        salt: args.salt,
        files: args.masterFiles,
        statesDir: args.statesDir,
        uninstallOnDestroy: args.uninstallOnDestroy,
        hookTls: args.hookTls,
      },
      { parent: this },
    );
    this.minions = args.minions.map(
      (m) =>
        new SaltMinion(
          `${name}-${m.host.name}`,
          {
            host: m.host,
            master: this.master,
            salt: args.salt,
            uninstallOnDestroy: args.uninstallOnDestroy,
            files: args.master.privateAddress.apply((address) => pulumi.output(m.files(address))),
          },
          { parent: this },
        ),
    );
    this.minionIds = ids;
    const access = masterSshOf(args.master);
    this.masterSsh = access.ssh;
    this.masterSshKey = access.key;
    const answering = remoteScript(`${name}-ready`, {
      host: args.master,
      script: renderWaitForMinionsScript(ids, args.readyTimeoutSeconds ?? 300),
      // Again after a master restart (config or master code changed), so the highstate
      // below never starts before the minions have reconnected.
      triggers: [ids.join(","), pulumi.output(args.masterFiles).apply(contentHash), this.master.restartKey],
      dependsOn: [...this.minions.map((m) => m.ready), this.master.ready],
      parent: this,
      timeoutMinutes: Math.ceil((args.readyTimeoutSeconds ?? 300) / 60) + 1,
    });
    this.ready =
      args.highstate === false
        ? answering
        : remoteScript(`${name}-highstate`, {
            host: args.master,
            script: renderHighstateScript(ids, 600),
            triggers: [
              ids.join(","),
              this.master.statesHash,
              pulumi.output(args.masterFiles).apply(contentHash),
            ],
            dependsOn: [answering],
            parent: this,
            timeoutMinutes: 15,
          });
    this.registerOutputs({
      minionIds: this.minionIds,
      masterSsh: this.masterSsh,
      masterSshKey: this.masterSshKey,
    });
  }
}
