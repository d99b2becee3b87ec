export * from "./environment";
export { masterFiles, minionFiles, hookUrl, type RegistryEndpoint } from "./salt-files";
