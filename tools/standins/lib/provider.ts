/**
 * A tiny framework for the offline plugin stand-ins: each resource type declares its inputs,
 * its computed outputs, which inputs force a replacement, and its create/update/delete. This
 * module turns such declarations into a `@pulumi/pulumi/provider` Provider and does the parts
 * every type shares, the way the real plugins do them:
 *   - check: reject inputs (and nested fields) this stand-in does not implement, so nothing is
 *     silently ignored; then the type's own defaults;
 *   - diff: compare the declared inputs with the inputs of the last deployment (kept in the
 *     state as `__inputs`, as pulumi-docker's own Image does, so provider-computed values such
 *     as an assigned port never look like a change); a change to a replace-input (or an
 *     unknown value in one, during preview) means replace, any other change means update;
 *   - outputs echo the inputs, plus the computed outputs; an output is secret when the input of
 *     the same name arrived secret, and the type may name derived outputs to keep secret too.
 */
import type * as provider from "@pulumi/pulumi/provider";
import { isDeepStrictEqual } from "node:util";
import { Log, logFor } from "./engineLog";
import { containsUnknown, dropUndefined, Props, reveal, secretKeys, wrapSecrets } from "./wire";

export interface Context {
  urn: string;
  /** The resource's name (last part of the URN). */
  name: string;
  log: Log;
  /** Inputs (top-level names) that arrived secret. */
  secretInputs: Set<string>;
}

/**
 * Input properties by schema name: `true` for a plain value (or a map, or a list of plain
 * values), or the field names of an object (or of each object in a list).
 */
export type InputSpec = Record<string, true | readonly string[]>;

export interface ResourceType<I = Props, O = Props> {
  readonly inputs: InputSpec;
  /** Properties computed by the provider (beyond the echoed inputs). */
  readonly outputs: readonly string[];
  /** Inputs whose change replaces the resource (as the real provider's schema/diff says). */
  readonly replaceOnChanges: readonly string[];
  /**
   * Replacements that depend on the values (e.g. `userData` replaces only with
   * `userDataReplaceOnChange`, a nested ForceNew field): more keys to replace, given the
   * changed inputs and the old and new (revealed) inputs.
   */
  readonly replaces?: (changed: readonly string[], olds: Props, news: Props) => readonly string[];
  /** Delete the old resource before creating its replacement (the real provider's `DeleteBeforeReplace`). */
  readonly deleteBeforeReplace?: boolean;
  /** Inputs whose change alone is no change at all (e.g. registry credentials of an image). */
  readonly ignoreChanges?: (key: string, olds: Props, news: Props) => boolean;
  /** Outputs to keep secret given which inputs were secret (beyond same-named ones). */
  readonly secretOutputs?: (secretInputs: Set<string>) => readonly string[];
  /** Defaults and derived inputs, on raw (wire-format) inputs; throw to reject. */
  check?(news: Props, olds: Props, name: string): Props | Promise<Props>;
  create(inputs: I, ctx: Context): Promise<{ id: string; outs?: Props }>;
  /** Returns the computed outputs that changed. Absent: every input change is a replacement. */
  update?(id: string, olds: O, news: I, ctx: Context): Promise<Props | void>;
  delete?(id: string, state: O, ctx: Context): Promise<void>;
  /** For refresh: the live computed outputs, or undefined if the resource is gone. Absent: state as stored. */
  read?(id: string, state: O, ctx: Context): Promise<Props | undefined>;
}

/** A function of the provider (an invoke, e.g. `aws.ec2.getAmi`): its arguments, results and body. */
export interface FunctionType {
  readonly inputs: InputSpec;
  /** The result's properties (all of them: a function's result is not an echo of its arguments). */
  readonly outputs: readonly string[];
  call(inputs: Props): Promise<Props>;
}

/**
 * A create that made the resource but failed a later step (e.g. the instance runs, its wait
 * timed out): the engine records the resource with these outputs, so the next update or
 * destroy knows it, as it does for the real providers' partially created resources.
 */
export class CreatedButFailed extends Error {
  constructor(
    message: string,
    readonly id: string,
    readonly outs: Props = {},
  ) {
    super(message);
  }
}

/** Any resource type, whatever its input and state shapes. */
export type AnyResourceType = ResourceType<never, never>;

/** Where the inputs of the last deployment are kept in the state. */
const INPUTS = "__inputs";

export function urnParts(urn: string): { type: string; name: string } {
  const parts = urn.split("::");
  const types = parts[2] ?? "";
  return { type: types.slice(types.lastIndexOf("$") + 1), name: parts[3] ?? "" };
}

/** Inputs (or nested fields, as "a.b") that are set but not in the spec. */
export function unsupportedInputs(spec: InputSpec, news: Props): string[] {
  const bad: string[] = [];
  for (const [key, raw] of Object.entries(news)) {
    const value = reveal(raw);
    if (value == null) continue;
    const fields = spec[key];
    if (!fields) bad.push(key);
    else if (fields !== true && typeof value === "object") {
      for (const item of Array.isArray(value) ? value : [value]) {
        for (const f of Object.keys(item ?? {}))
          if (item[f] != null && !fields.includes(f)) bad.push(`${key}.${f}`);
      }
    }
  }
  return [...new Set(bad)];
}

/** The diff the real providers compute: which inputs changed, and whether that means replace. */
export function diffInputs(rt: AnyResourceType, oldState: Props, news: Props): provider.DiffResult {
  const olds = (oldState[INPUTS] as Props | undefined) ?? oldState;
  const changed = Object.keys(rt.inputs).filter((k) => {
    if (containsUnknown(news[k])) return true;
    const before = reveal(olds[k]) ?? undefined;
    const after = reveal(news[k]) ?? undefined;
    return !isDeepStrictEqual(before, after) && !rt.ignoreChanges?.(k, reveal(olds), reveal(news));
  });
  const extra = rt.replaces?.(changed, reveal(olds), reveal(news)) ?? [];
  const replaces = changed.filter((k) => rt.replaceOnChanges.includes(k) || !rt.update || extra.includes(k));
  const deleteFirst = replaces.length > 0 && rt.deleteBeforeReplace === true;
  return { changes: changed.length > 0, replaces, ...(deleteFirst ? { deleteBeforeReplace: true } : {}) };
}

export function makeProvider(
  version: string,
  types: Record<string, AnyResourceType>,
  functions: Record<string, FunctionType> = {},
): provider.Provider {
  const lookup = (urn: string) => {
    const { type, name } = urnParts(urn);
    const rt = types[type] as ResourceType | undefined;
    if (!rt)
      throw new Error(
        `${type} is not implemented by this offline stand-in (it covers ${Object.keys(types).join(", ")})`,
      );
    return { rt, name };
  };
  const context = (urn: string, name: string, raw: Props): Context => ({
    urn,
    name,
    log: logFor(urn),
    secretInputs: secretKeys(raw),
  });
  /** Outputs = inputs echoed + computed ones, secrets re-wrapped, and the raw inputs for the next diff. */
  const finish = (rt: ResourceType, raw: Props, computed: Props | void): Props => {
    const secrets = secretKeys(raw);
    const outs = dropUndefined({ ...reveal<Props>(raw), ...computed });
    return { ...wrapSecrets(outs, [...secrets, ...(rt.secretOutputs?.(secrets) ?? [])]), [INPUTS]: raw };
  };

  return {
    version,
    async check(urn, olds, news) {
      const { rt, name } = lookup(urn);
      const unsupported = unsupportedInputs(rt.inputs, news);
      if (unsupported.length > 0) {
        return {
          failures: unsupported.map((property) => ({
            property,
            reason: `${property} is not supported by the offline stand-in`,
          })),
        };
      }
      return { inputs: rt.check ? await rt.check(news, olds, name) : news };
    },
    async diff(_id, urn, olds, news) {
      return diffInputs(lookup(urn).rt as AnyResourceType, olds, news);
    },
    async create(urn, inputs) {
      const { rt, name } = lookup(urn);
      try {
        const { id, outs } = await rt.create(reveal(inputs), context(urn, name, inputs));
        return { id, outs: finish(rt, inputs, outs) };
      } catch (err) {
        if (!(err instanceof CreatedButFailed)) throw err;
        // The provider server reports this as "created, but failed to initialize".
        throw Object.assign(new Error(err.message), {
          id: err.id,
          properties: finish(rt, inputs, err.outs),
          reasons: [err.message],
        });
      }
    },
    async update(id, urn, olds, news) {
      const { rt, name } = lookup(urn);
      const state = reveal<Props>(olds);
      const outs = await rt.update!(id, previousInputs(rt, state), reveal(news), context(urn, name, news));
      return { outs: finish(rt, news, { ...pick(state, rt.outputs), ...outs }) };
    },
    async delete(id, urn, props) {
      const { rt, name } = lookup(urn);
      await rt.delete?.(id, reveal(props), context(urn, name, props));
    },
    async invoke(token, inputs) {
      const fn = functions[token];
      if (!fn)
        throw new Error(
          `${token} is not implemented by this offline stand-in (it covers ${Object.keys(functions).join(", ") || "no functions"})`,
        );
      const unsupported = unsupportedInputs(fn.inputs, inputs);
      if (unsupported.length > 0)
        throw new Error(`${token}: ${unsupported.join(", ")} not supported by the offline stand-in`);
      return { outputs: dropUndefined(await fn.call(reveal(inputs))) };
    },
    async read(id, urn, props) {
      const { rt, name } = lookup(urn);
      if (!rt.read) return { id, props };
      const live = await rt.read(id, reveal(props), context(urn, name, props));
      if (!live) return { id: "", props: {} };
      return { id, props: { ...props, ...wrapSecrets(dropUndefined(live), secretKeys(props)) } };
    },
  };
}

/**
 * What `update` gets as the old resource: the state, with every declared input as it was last
 * given (a computed output of the same name, e.g. an instance's user data hash or the
 * subnets read back in another order, is not the value to compare with).
 */
function previousInputs(rt: ResourceType, state: Props): Props {
  const previous = state[INPUTS] as Props | undefined;
  if (!previous) return state;
  return { ...state, ...Object.fromEntries(Object.keys(rt.inputs).map((k) => [k, previous[k]])) };
}

function pick(props: Props, keys: readonly string[]): Props {
  return Object.fromEntries(keys.filter((k) => k in props).map((k) => [k, props[k]]));
}

/** Pulumi-style auto-name: the one already given, the previous one, or `<name>-<7 hex>`. */
export function autoname(news: Props, olds: Props, name: string, key = "name"): Props {
  if (news[key] != null) return news;
  const previous = olds[key] ?? `${name}-${Math.random().toString(16).slice(2, 9)}`;
  return { ...news, [key]: previous };
}
