/**
 * The one shape every machine takes, wherever it comes from (EC2, a container, an
 * existing server). Salt code only ever sees a Host.
 */
import type * as command from "@pulumi/command";
import type * as pulumi from "@pulumi/pulumi";
import type { OsName } from "../config/spec";

export interface Host {
  /** Logical name: the Salt id of the node on this host. */
  readonly name: string;
  readonly os: OsName;
  /** How this program reaches the host over SSH (private key as a Pulumi secret). */
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
