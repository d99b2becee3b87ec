/**
 * `existing` hosts: servers you already run, reached by address. Saltpipe creates nothing on
 * them here; it only pins each host's SSH key: the configured `hostKey`, or, without one, the
 * key the host presents the first time it is reached (`ssh-keyscan`, stored in state: trust
 * on first use), which every later run then requires.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { OsName } from "../config/spec";
import { OS_INFO } from "../render/os";
import { preferredHostKey } from "../ssh/host-key";
import { FRESH_HOST_SSH, pinnedConnection, type Host } from "./host";
import { KEEP_COLLECTED_KEYS, renderKeyscan } from "./host-key-scripts";

export interface ExistingMachine {
  readonly name: string;
  readonly os: OsName;
  readonly address: string;
  /** Internal address other hosts use (default: `address`). */
  readonly privateAddress?: string;
  /** SSH user (default: the OS's cloud user); anything but root uses sudo. */
  readonly user?: string;
  readonly port?: number;
  /** The host's SSH public key; default: trusted on first use. */
  readonly hostKey?: string;
}

export interface ExistingHostsOptions {
  /** Parent of the trust-on-first-use key scans (e.g. the environment). */
  readonly parent?: pulumi.Resource;
  /** Prefix of the key-scan resource names (default `existing`). */
  readonly name?: string;
}

export function existingHosts(
  machines: readonly ExistingMachine[],
  sshPrivateKey: pulumi.Input<string>,
  opts: ExistingHostsOptions = {},
): Host[] {
  return machines.map((m) => {
    const user = m.user ?? OS_INFO[m.os].cloudUser;
    const port = m.port ?? 22;
    const pinned =
      m.hostKey ??
      new command.local.Command(
        `${opts.name ?? "existing"}-${m.name}-host-key`,
        // A new address or port is another host: its key is collected again.
        { create: renderKeyscan(m.address, port), update: KEEP_COLLECTED_KEYS, triggers: [m.address, port] },
        { parent: opts.parent },
      ).stdout.apply(preferredHostKey);
    return {
      name: m.name,
      os: m.os,
      connection: pinnedConnection(
        m.name,
        { host: m.address, port, user, privateKey: sshPrivateKey, ...FRESH_HOST_SSH, dialErrorLimit: 10 },
        pinned,
      ),
      privateAddress: pulumi.output(m.privateAddress ?? m.address),
      publicAddress: pulumi.output(m.address),
      sudo: user !== "root",
      dependsOn: [],
    };
  });
}
