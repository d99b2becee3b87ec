/**
 * SaltMaster: turns a Host into a Salt master (with salt-api behind its nginx hook proxy)
 * through remote commands.
 *
 * Order: install → keys + config + states → restart (only when config changed) →
 * refresh (only when states changed). States are uploaded before the service that
 * enables the reactor restarts.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { SaltSpec } from "../config/spec";
import type { Host } from "../hosts/host";
import { SALT_STATES_DIR } from "../paths";
import {
  type HostFile,
  renderMasterKeyScript,
  renderRestartScript,
  renderStatesRefreshScript,
  renderSyncTreeScript,
  renderWriteFilesScript,
} from "../render/bootstrap";
import { REMOTE_WHEELHOUSE, renderSaltInstallScript } from "../render/install";
import { renderUninstallScript } from "../render/uninstall";
import { type HookTlsScriptOptions, renderHookTlsScript } from "../render/tls";
import { contentHash, remoteScript } from "./remote";
import { readTree } from "./tree";

/** Files of the state tree that run inside the master process itself. */
const MASTER_CODE = /^(salt\/_runners|salt\/_engines|lib)\//;

/** Where the state tree lives on the master. */
export const REMOTE_STATES_DIR = "/srv/saltpipe/salt-states";

export interface SaltMasterArgs {
  readonly host: Host;
  readonly salt: SaltSpec;
  /**
   * Files written on the master: its config (`/etc/salt/master.d/…`) and the generated
   * pillar. May hold secrets: pass them as Pulumi secrets and they stay secret.
   */
  readonly files: pulumi.Input<HostFile[]>;
  /** Local state tree uploaded to the master (default: this package's `salt-states/`). */
  readonly statesDir?: string;
  /** On destroy, remove what saltpipe installed (hosts that outlive the stack; default false). */
  readonly uninstallOnDestroy?: boolean;
  /**
   * Generate the hook's CA and certificate on the master (its keys never leave it). Absent:
   * the certificate comes with `files` (from stack config).
   */
  readonly hookTls?: pulumi.Input<HookTlsScriptOptions>;
}

export class SaltMaster extends pulumi.ComponentResource {
  readonly host: Host;
  /** The master's public key, which minions pin. */
  readonly publicKey: pulumi.Output<string>;
  /** Hash of the uploaded state tree: the only thing a state edit changes. */
  readonly statesHash: string;
  /** Changes whenever the master restarts (config, Salt version or master-side code changed). */
  readonly restartKey: string;
  /** Completes when the master runs with its current config and states. */
  readonly ready: command.remote.Command;
  readonly install: pulumi.Resource;
  /** With `hookTls`: the CA certificate (PEM, public) that signed the hook's certificate. */
  readonly hookCaCertificate?: pulumi.Output<string>;

  constructor(name: string, args: SaltMasterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("saltpipe:salt:SaltMaster", name, {}, opts);
    this.host = args.host;
    const wheelhouse = uploadWheelhouse(`${name}-wheelhouse`, args.host, args.salt, this);
    this.install = remoteScript(`${name}-install`, {
      host: args.host,
      script: renderSaltInstallScript({ os: args.host.os, role: "master", salt: args.salt }),
      deleteScript: args.uninstallOnDestroy
        ? renderUninstallScript({ os: args.host.os, role: "master", salt: args.salt })
        : undefined,
      dependsOn: wheelhouse ? [wheelhouse] : [],
      parent: this,
      timeoutMinutes: 20,
    });
    const keys = remoteScript(`${name}-keys`, {
      host: args.host,
      script: renderMasterKeyScript(),
      dependsOn: [this.install],
      parent: this,
    });
    this.publicKey = keys.stdout.apply((text) => text.trim());

    const config = remoteScript(`${name}-config`, {
      host: args.host,
      script: pulumi.output(args.files).apply((files) => renderWriteFilesScript(files)),
      dependsOn: [this.install],
      parent: this,
    });
    const stateFiles = readTree(args.statesDir ?? SALT_STATES_DIR);
    this.statesHash = contentHash(stateFiles);
    // The master loads runner and engine code once (its reactor caches it): a change there
    // restarts the master; plain state edits only refresh the fileserver.
    const masterCode = contentHash(stateFiles.filter((f) => MASTER_CODE.test(f.path)));
    this.restartKey = contentHash([args.salt.version, masterCode]);
    const states = remoteScript(`${name}-states`, {
      host: args.host,
      script: renderSyncTreeScript(REMOTE_STATES_DIR, stateFiles),
      dependsOn: [this.install],
      parent: this,
    });
    // The hook's certificate exists before nginx (re)loads the config that names it.
    const tls = args.hookTls
      ? remoteScript(`${name}-hook-tls`, {
          host: args.host,
          script: pulumi.output(args.hookTls).apply(renderHookTlsScript),
          dependsOn: [this.install],
          parent: this,
        })
      : undefined;
    this.hookCaCertificate = tls?.stdout.apply((text) => `${text.trim()}\n`);
    const service = remoteScript(`${name}-service`, {
      host: args.host,
      script: renderRestartScript(["salt-master", "salt-api", "nginx"]),
      triggers: [pulumi.output(args.files).apply(contentHash), args.salt.version, masterCode],
      dependsOn: [config, keys, states, ...(tls ? [tls] : [])],
      parent: this,
    });
    this.ready = remoteScript(`${name}-refresh`, {
      host: args.host,
      script: renderStatesRefreshScript(),
      triggers: [this.statesHash],
      dependsOn: [service, states],
      parent: this,
    });
    this.registerOutputs({ publicKey: this.publicKey });
  }
}

/**
 * pip method with a local wheelhouse: copy it to the host so the install needs no network.
 * SFTP writes as the SSH user: on a sudo host the upload directory is first made (as root)
 * and given to that user alone (mode 0700), the user being the one who holds sudo anyway.
 */
export function uploadWheelhouse(
  name: string,
  host: Host,
  salt: SaltSpec,
  parent: pulumi.Resource,
): command.remote.CopyToRemote | undefined {
  if (salt.installMethod !== "pip" || !salt.wheelhouseDir) return undefined;
  const directory = host.sudo
    ? remoteScript(`${name}-dir`, {
        host,
        script: `install -d -o "$SUDO_USER" -m 0700 ${REMOTE_WHEELHOUSE}\n`,
        parent,
      })
    : undefined;
  return new command.remote.CopyToRemote(
    name,
    {
      connection: host.connection,
      // The directory lands as a subfolder of remotePath (see remoteWheelhouse).
      source: new pulumi.asset.FileArchive(salt.wheelhouseDir),
      remotePath: REMOTE_WHEELHOUSE,
    },
    { parent, dependsOn: [...host.dependsOn, ...(directory ? [directory] : [])] },
  );
}
