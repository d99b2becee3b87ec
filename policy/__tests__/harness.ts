/**
 * Calls policies the way the policy server does, without the Pulumi CLI: properties go through the
 * SDK's own wire decoding (secret envelopes, unknowns guarded by its proxy), so a policy sees here
 * exactly what it sees under `pulumi preview --policy-pack`. Violations are collected in a list.
 */
import {
  unknownCheckingProxy,
  type PolicyResource,
  type ResourceValidationArgs,
  type ResourceValidationPolicy,
  type StackValidationArgs,
  type StackValidationPolicy,
} from "@pulumi/policy";
import { specialSecretSig, specialSigKey, unknownValue } from "@pulumi/pulumi/runtime/rpc";

/** The SDK's wire codec (internal, untyped): `proxySecrets` is true for remediations only. */
const { deserializeProperties, serializeProperties } = jest.requireActual<{
  deserializeProperties(struct: { toJavaScript(): object }, proxySecrets: boolean): Record<string, any>;
  serializeProperties(props: object): Promise<Record<string, any>>;
}>("@pulumi/policy/deserialize");

/** A value as the engine sends a secret. */
export const secret = (value: unknown) => ({ [specialSigKey]: specialSecretSig, value });
/** A value not known until the update (the engine's marker). */
export const UNKNOWN = unknownValue;

type Wire = Record<string, unknown>;

/** A protobuf Struct holds JSON only (no `undefined`), then the SDK decodes and guards it. */
function decode(wire: Wire, remediation = false): Record<string, any> {
  const struct = { toJavaScript: () => JSON.parse(JSON.stringify(wire)) };
  return unknownCheckingProxy(deserializeProperties(struct, remediation));
}

const urnOf = (stack: string, type: string, name: string) => `urn:pulumi:${stack}::shop::${type}::${name}`;

const OPTS = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

const never = (reason?: string): never => {
  throw new Error(`not applicable: ${reason}`);
};

export interface ResourceCase {
  readonly type: string;
  readonly props: Wire;
  readonly stack?: string;
  readonly name?: string;
  readonly config?: object;
}

export function resourceArgs(c: ResourceCase, remediation = false): ResourceValidationArgs {
  const name = c.name ?? "r";
  return {
    type: c.type,
    name,
    urn: urnOf(c.stack ?? "dev", c.type, name),
    props: decode(c.props, remediation),
    opts: OPTS,
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => (c.config ?? {}) as T,
    notApplicable: never,
  };
}

/** Runs every validation of a resource policy; returns the messages it reported. */
export async function resourceViolations(
  policy: ResourceValidationPolicy,
  c: ResourceCase,
): Promise<string[]> {
  const found: string[] = [];
  for (const validate of [policy.validateResource ?? []].flat()) {
    await validate(resourceArgs(c), (message) => found.push(message));
  }
  return found;
}

/** Runs a remediation; returns the inputs it sends back to the engine (wire format), or undefined. */
export async function remediated(
  policy: ResourceValidationPolicy,
  c: ResourceCase,
): Promise<Wire | undefined> {
  const fixed = await policy.remediateResource?.(resourceArgs(c, true));
  return fixed ? serializeProperties(fixed) : undefined;
}

export interface StackResource extends ResourceCase {
  /** Which other resources (by index) each property was computed from. */
  readonly propertyDependencies?: Record<string, number[]>;
}

export function stackArgs(resources: readonly StackResource[]): StackValidationArgs {
  const built: PolicyResource[] = resources.map((r, i) => {
    const name = r.name ?? `r${i}`;
    return {
      type: r.type,
      name,
      urn: urnOf(r.stack ?? "dev", r.type, name),
      props: decode(r.props),
      opts: OPTS,
      dependencies: [],
      propertyDependencies: {},
      isType: () => false,
      asType: () => undefined,
    };
  });
  resources.forEach((r, i) => {
    for (const [property, sources] of Object.entries(r.propertyDependencies ?? {})) {
      built[i].propertyDependencies[property] = sources.map((s) => built[s]);
      built[i].dependencies.push(...sources.map((s) => built[s]));
    }
  });
  return {
    resources: built,
    stackTags: new Map(),
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: never,
  };
}

/** Runs a stack policy; returns `urn: message` for each violation. */
export async function stackViolations(
  policy: StackValidationPolicy,
  resources: readonly StackResource[],
): Promise<string[]> {
  const found: string[] = [];
  await policy.validateStack(stackArgs(resources), (message, urn) =>
    found.push(`${urn ?? "stack"}: ${message}`),
  );
  return found;
}
