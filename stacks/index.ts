/**
 * The Pulumi program: one environment for the current stack (dev, test, prod, local).
 * Config is validated before any resource is registered.
 */
import * as path from "path";
import { Environment, readStackConfig, tuneProgramRuntime } from "../infra";

tuneProgramRuntime(); // see infra/runtime.ts

const spec = readStackConfig();
const environment = new Environment(spec.environment, { spec, projectDir: path.join(__dirname, "..") });

export const masterAddress = environment.masterAddress;
export const masterSsh = environment.masterSsh;
export const appUrl = environment.appUrl;
/** A secret: `saltpipe` reads it with `pulumi stack output --show-secrets`. */
export const masterSshKey = environment.masterSshKey;
export const environmentName = spec.environment;
export const webhookUrl = environment.webhookUrl;
export const appUrls = environment.appUrls;
export const hookCaCertificate = environment.hookCaCertificate;
export const registry = environment.registry;
export const imageName = environment.imageName;
export const imageDigest = environment.imageDigest;
