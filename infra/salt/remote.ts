/** The one way components run a rendered script on a host: as root, script on stdin. */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import type { Host } from "../hosts/host";
import { rootShell } from "../hosts/host";

export interface RemoteScriptArgs {
  readonly host: Host;
  /** Script run on create (and on update: every input change runs it again). */
  readonly script: pulumi.Input<string>;
  /** Script run on destroy; should tolerate a host that is already gone. */
  readonly deleteScript?: string;
  /** Any change replaces the resource: the delete script runs, then the create script again. */
  readonly triggers?: pulumi.Input<unknown>[];
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
  readonly parent: pulumi.Resource;
  /** Slow steps (installs, waiting for minions) need more than the default time. */
  readonly timeoutMinutes?: number;
}

/**
 * Runs `script` through `bash -s` (or `sudo -n bash -s`) so its text, which may hold
 * secrets, travels on stdin: never in the command line, `ps`, or the command's diff.
 */
export function remoteScript(name: string, args: RemoteScriptArgs): command.remote.Command {
  const shell = rootShell(args.host);
  const timeout = `${args.timeoutMinutes ?? 10}m`;
  return new command.remote.Command(
    name,
    {
      connection: args.host.connection,
      create: shell,
      stdin: args.script,
      delete: args.deleteScript
        ? `${shell} <<'SALTPIPE_DELETE'\n${args.deleteScript}SALTPIPE_DELETE`
        : undefined,
      triggers: args.triggers,
    },
    {
      parent: args.parent,
      dependsOn: [...args.host.dependsOn, ...(args.dependsOn ?? [])],
      customTimeouts: { create: timeout, update: timeout, delete: "5m" },
    },
  );
}

/** Stable content hash for `triggers`: changes exactly when the value changes. */
export function contentHash(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
}
