/**
 * SaltMinion: turns a Host into a minion of a SaltMaster. Its key pair is made on the
 * minion (the private key never leaves it) and accepted on the master before the minion
 * starts, so there is no auto_accept and no 10 s acceptance wait; the minion pins the
 * master's key, so it talks to no other master.
 */
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { SaltSpec } from "../config/spec";
import type { Host } from "../hosts/host";
import {
  type HostFile,
  renderAcceptMinionScript,
  renderForgetMinionScript,
  renderMinionKeyScript,
  renderRestartScript,
  renderWriteFilesScript,
} from "../render/bootstrap";
import { renderSaltInstallScript } from "../render/install";
import { renderUninstallScript } from "../render/uninstall";
import type { SaltMaster } from "./master";
import { uploadWheelhouse } from "./master";
import { contentHash, remoteScript } from "./remote";

export interface SaltMinionArgs {
  readonly host: Host;
  readonly master: SaltMaster;
  readonly salt: SaltSpec;
  /** Files written on the minion: its config (`/etc/salt/minion.d/…`, with id, master address, grains). */
  readonly files: pulumi.Input<HostFile[]>;
  /** On destroy, remove what saltpipe installed (hosts that outlive the stack; default false). */
  readonly uninstallOnDestroy?: boolean;
}

export class SaltMinion extends pulumi.ComponentResource {
  readonly id: string;
  readonly publicKey: pulumi.Output<string>;
  /** Completes when the minion runs, accepted by the master, with its current config. */
  readonly ready: command.remote.Command;

  constructor(name: string, args: SaltMinionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("saltpipe:salt:SaltMinion", name, {}, opts);
    this.id = args.host.name;
    const wheelhouse = uploadWheelhouse(`${name}-wheelhouse`, args.host, args.salt, this);
    const install = remoteScript(`${name}-install`, {
      host: args.host,
      script: renderSaltInstallScript({ os: args.host.os, role: "minion", salt: args.salt }),
      deleteScript: args.uninstallOnDestroy
        ? renderUninstallScript({ os: args.host.os, role: "minion", salt: args.salt })
        : undefined,
      dependsOn: wheelhouse ? [wheelhouse] : [],
      parent: this,
      timeoutMinutes: 20,
    });
    const keys = remoteScript(`${name}-keys`, {
      host: args.host,
      script: args.master.publicKey.apply(renderMinionKeyScript),
      dependsOn: [install],
      parent: this,
    });
    this.publicKey = keys.stdout.apply((text) => text.trim());
    const config = remoteScript(`${name}-config`, {
      host: args.host,
      script: pulumi.output(args.files).apply((files) => renderWriteFilesScript(files)),
      dependsOn: [install],
      parent: this,
    });
    // Runs on the master, once it is up: the minion is known before it first connects.
    const accept = remoteScript(`${name}-accept`, {
      host: args.master.host,
      script: this.publicKey.apply((key) => renderAcceptMinionScript(this.id, key)),
      deleteScript: renderForgetMinionScript(this.id),
      dependsOn: [args.master.ready],
      parent: this,
    });
    this.ready = remoteScript(`${name}-service`, {
      host: args.host,
      script: renderRestartScript(["salt-minion"]),
      triggers: [pulumi.output(args.files).apply(contentHash), args.master.publicKey, args.salt.version],
      dependsOn: [config, keys, accept],
      parent: this,
    });
    this.registerOutputs({ id: this.id, publicKey: this.publicKey });
  }
}
