/** `existing` hosts: servers you already run, reached by address. No resources are created. */
import * as pulumi from "@pulumi/pulumi";
import type { OsName } from "../config/spec";
import { OS_INFO } from "../render/os";
import { FRESH_HOST_SSH, type Host } from "./host";

export interface ExistingMachine {
  readonly name: string;
  readonly os: OsName;
  readonly address: string;
  /** Internal address other hosts use (default: `address`). */
  readonly privateAddress?: string;
  /** SSH user (default: the OS's cloud user); anything but root uses sudo. */
  readonly user?: string;
  readonly port?: number;
}

export function existingHosts(
  machines: readonly ExistingMachine[],
  sshPrivateKey: pulumi.Input<string>,
): Host[] {
  return machines.map((m) => {
    const user = m.user ?? OS_INFO[m.os].cloudUser;
    return {
      name: m.name,
      os: m.os,
      connection: { host: m.address, port: m.port ?? 22, user, privateKey: sshPrivateKey, ...FRESH_HOST_SSH },
      privateAddress: pulumi.output(m.privateAddress ?? m.address),
      publicAddress: pulumi.output(m.address),
      sudo: user !== "root",
      dependsOn: [],
    };
  });
}
