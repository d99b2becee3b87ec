/**
 * saltpipe: Pulumi components and Salt states for a dev → test → prod pipeline of
 * Docker applications deployed by SaltStack. This is the public API.
 */
export * from "./config";
export * from "./hosts";
export * from "./salt";
export * from "./image";
export * from "./registry";
export * from "./environment";
export * from "./balancer";
export { renderLbConfig, type LbConfigOptions, type LbServer } from "./render/lb";
export { renderHookTlsScript, HOOK_TLS_FILES, type HookTlsScriptOptions } from "./render/tls";
export { tuneProgramRuntime, DEFAULT_STACK_TRACE_LIMIT } from "./runtime";
export type { HostFile } from "./render/bootstrap";
export { renderSaltInstallScript, type InstallOptions, type SaltRole } from "./render/install";
export {
  renderMasterConfig,
  renderMinionConfig,
  renderSaltApiConfig,
  renderHookProxyConfig,
  HOOK_URL_PATH,
  EVENT_TAGS,
  type MasterConfigOptions,
  type MinionConfigOptions,
  type SaltApiConfigOptions,
  type HookProxyOptions,
  type TlsFiles,
  type RegistryCheckOptions,
  hookProxyMarker,
  HOOK_PROXY_MARKER_HEADER,
  DEFAULT_HOOK_REFUSED_LOG,
  defaultTagPattern,
  DEFAULT_SALT_STATES_DIR,
  DEFAULT_PILLAR_DIR,
} from "./render/salt-config";
export { renderPillar, type PillarOptions } from "./render/salt-pillar";
export { renderRegistryConfig, type RegistryConfigOptions } from "./render/registry";
export { OS_INFO, type OsInfo } from "./render/os";
export {
  ecrPushEventPattern,
  eventQueuePolicy,
  redrivePolicy,
  ec2AssumeRolePolicy,
  masterQueuePolicy,
  minionPullPolicy,
  ecrRegistryHost,
  ecrDockerConfig,
  EVENT_QUEUE,
  type PolicyDocument,
  type PolicyStatement,
} from "./registry/ecr-policies";
export { renderSqsEngineConfig, type SqsEngineOptions } from "./render/sqs-engine";
