/** Offline stand-in for the `tls` plugin: run by tools/standins/bin/pulumi-resource-tls. */
import { main } from "@pulumi/pulumi/provider";
import { version } from "@pulumi/tls/package.json";
import { connectEngine } from "../lib/engineLog";
import { AnyResourceType, makeProvider } from "../lib/provider";
import { privateKey } from "./privateKey";

export const resourceTypes: Record<string, AnyResourceType> = {
  "tls:index/privateKey:PrivateKey": privateKey,
};

if (require.main === module) {
  connectEngine(process.argv.slice(2));
  void main(makeProvider(version, resourceTypes), process.argv.slice(2));
}
