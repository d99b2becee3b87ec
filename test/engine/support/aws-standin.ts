/**
 * The aws stand-in called the way the engine calls it (check, then create/diff/update/delete on
 * wire-format properties), configured for a moto emulator, for tests that exercise one
 * resource type at a time.
 */
import type * as provider from "@pulumi/pulumi/provider";
import { configure, functions, resourceTypes } from "../../../tools/standins/aws/main";
import { makeProvider } from "../../../tools/standins/lib/provider";
import { reveal, type Props } from "../../../tools/standins/lib/wire";
import type { Moto } from "./moto";

export interface Created {
  urn: string;
  id: string;
  /** The state (wire format). */
  outs: Props;
  /** The state, secrets revealed. */
  out: Record<string, unknown> & { id: string };
}

export interface StandIn {
  provider: provider.Provider;
  create(type: string, name: string, inputs: Props): Promise<Created>;
  /** What the engine would plan for NEWS against the resource's state. */
  diff(r: Created, news: Props): Promise<provider.DiffResult>;
  /** Check, diff, then update (or fail if the diff says replace). */
  update(r: Created, news: Props): Promise<Created>;
  remove(r: Created): Promise<void>;
  invoke(token: string, inputs: Props): Promise<Record<string, unknown>>;
}

export async function awsStandIn(moto: Moto, region: string): Promise<StandIn> {
  Object.assign(process.env, moto.env);
  await configure({ region, skipCredentialsValidation: "false" }, {});
  const p = makeProvider("7.48.0", resourceTypes, functions);
  const urnOf = (type: string, name: string) => `urn:pulumi:test::saltpipe::${type}::${name}`;
  const checked = async (urn: string, olds: Props, news: Props) => {
    const c = await p.check!(urn, olds, news);
    if (c.failures?.length) throw new Error(c.failures.map((f) => f.reason).join("; "));
    return c.inputs as Props;
  };
  const wrap = (urn: string, id: string, outs: Props): Created => ({
    urn,
    id,
    outs,
    out: { ...reveal<Record<string, unknown>>(outs), id },
  });
  return {
    provider: p,
    async create(type, name, inputs) {
      const urn = urnOf(type, name);
      const r = await p.create!(urn, await checked(urn, {}, inputs));
      return wrap(urn, r.id, r.outs);
    },
    async diff(r, news) {
      return p.diff!(r.id, r.urn, r.outs, await checked(r.urn, (r.outs.__inputs as Props) ?? {}, news));
    },
    async update(r, news) {
      const inputs = await checked(r.urn, (r.outs.__inputs as Props) ?? {}, news);
      const d = await p.diff!(r.id, r.urn, r.outs, inputs);
      if (d.replaces?.length) throw new Error(`the diff replaces ${d.replaces.join(", ")}: not an update`);
      const u = await p.update!(r.id, r.urn, r.outs, inputs);
      return wrap(r.urn, r.id, u.outs);
    },
    async remove(r) {
      await p.delete!(r.id, r.urn, r.outs);
    },
    async invoke(token, inputs) {
      return (await p.invoke!(token, inputs)).outputs as Record<string, unknown>;
    },
  };
}
