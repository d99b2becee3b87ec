/**
 * saltpipe's policy pack: what the library promises about a stack, checked by the engine before it
 * deploys. Run it with `pulumi preview --policy-pack policy` (or `up`).
 */
import { PolicyPack } from "@pulumi/policy";
import { imagesByDigest } from "./images";
import { prodInstancesProtected } from "./instances";
import { prodHttpsListeners, prodMinionsPrivate } from "./network";
import { saltPortsNotPublic } from "./ports";
import { noPlaintextSecrets } from "./secrets";

new PolicyPack("saltpipe", {
  policies: [
    saltPortsNotPublic,
    prodInstancesProtected,
    prodMinionsPrivate,
    prodHttpsListeners,
    imagesByDigest,
    noPlaintextSecrets,
  ],
});
