/**
 * The one shape every machine takes, wherever it comes from (EC2, a container, an
 * existing server). Salt code only ever sees a Host.
 */
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { OsName } from "../config/spec";
import { assertHostKey, HostKeyChangedError } from "../ssh/host-key";

export interface Host {
  /** Logical name: the Salt id of the node on this host. */
  readonly name: string;
  readonly os: OsName;
  /**
   * How this program reaches the host over SSH (private key as a Pulumi secret), with the
   * host's pinned `hostKey` (every cloud pins one; see README "SSH host keys").
   */
  readonly connection: command.types.input.remote.ConnectionArgs;
  /** Address the other hosts of the environment use to reach this one. */
  readonly privateAddress: pulumi.Output<string>;
  /** Address users reach the host on (public IP, 127.0.0.1 for containers). */
  readonly publicAddress: pulumi.Output<string>;
  /** Whether the SSH user needs sudo to act as root. */
  readonly sudo: boolean;
  /** Resources that must exist before the host answers SSH (its instance or container). */
  readonly dependsOn: readonly pulumi.Resource[];
}

/** SSH retry settings for fresh machines: sshd may take minutes to come up on a new VM. */
export const FRESH_HOST_SSH = { dialErrorLimit: 60, perDialTimeout: 10 } as const;

/** The shell that runs a script from stdin as root on `host`. */
export function rootShell(host: Pick<Host, "sudo">): string {
  return host.sudo ? "sudo -n bash -s" : "bash -s";
}

/** Whether the program checks pinned host keys itself before using them (off under unit-test mocks). */
let preflight = true;

/** Unit tests under Pulumi mocks turn the live check off: their hosts do not exist. */
export function setHostKeyPreflight(enabled: boolean): void {
  preflight = enabled;
}

/**
 * `connection` with `hostKey: pinned`. Before any resource receives the key, the program runs
 * one key exchange with the host (no authentication): a reachable host that presents another
 * key fails the run with a HostKeyChangedError naming it, so nothing is sent to it and the
 * failure is immediate (the plugin itself would refuse too, but only after its dial retries).
 * An unreachable host passes here: the plugin's own check still applies when it is reached.
 */
export function pinnedConnection(
  hostName: string,
  connection: command.types.input.remote.ConnectionArgs,
  pinned: pulumi.Input<string>,
): command.types.input.remote.ConnectionArgs {
  const hostKey = pulumi
    .all([connection.host, connection.port ?? 22, pinned])
    .apply(async ([host, port, key]) => {
      if (preflight) await assertHostKey(hostName, { host, port }, key, { timeoutMs: 10_000 }).catch(refuse);
      return key;
    });
  return { ...connection, hostKey };
}

/**
 * Ends the program on a changed host key: the error goes to the engine's log, then the program
 * exits, so no resource of that host is ever registered. (A rejected Output would fail every
 * resource using it one by one, while the rest of the program carries on.)
 */
async function refuse(error: unknown): Promise<never> {
  if (!(error instanceof HostKeyChangedError)) throw error;
  await pulumi.log.error(error.message);
  process.exit(1);
}
