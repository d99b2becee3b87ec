export * from "./spec";
export type { EventsSpec, EventTransport, SqsEventsSpec } from "./sections/events";
export { DEFAULTS } from "./defaults";
export {
  ConfigError,
  parseStackConfig,
  stackFileOf,
  CONFIG_NAMESPACE,
  type RawSecrets,
  type ParseContext,
} from "./validate";
export { readStackConfig, asSecrets, type Spec } from "./read";
