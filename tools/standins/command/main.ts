/** Offline stand-in for the `command` plugin: run by tools/standins/bin/pulumi-resource-command. */
import { main } from "@pulumi/pulumi/provider";
import { version } from "@pulumi/command/package.json";
import { connectEngine } from "../lib/engineLog";
import { AnyResourceType, makeProvider } from "../lib/provider";
import { localCommand } from "./local";
import { copyToRemote, remoteCommand } from "./remote";

export const resourceTypes: Record<string, AnyResourceType> = {
  "command:remote:Command": remoteCommand,
  "command:remote:CopyToRemote": copyToRemote,
  "command:local:Command": localCommand,
};

if (require.main === module) {
  connectEngine(process.argv.slice(2));
  void main(makeProvider(version, resourceTypes), process.argv.slice(2));
}
