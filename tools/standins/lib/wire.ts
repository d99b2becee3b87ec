/**
 * The Pulumi wire format as a raw provider sees it: secrets, assets, archives and unknowns
 * arrive as objects tagged with a signature key. These helpers reveal plain values for the
 * resource code and put the secret tag back on what goes out.
 */
import {
  specialArchiveSig,
  specialAssetSig,
  specialSecretSig,
  specialSigKey,
  unknownValue,
} from "@pulumi/pulumi/runtime/rpc";

export type Props = Record<string, unknown>;

function sigOf(v: unknown): unknown {
  return v !== null && typeof v === "object" ? (v as Props)[specialSigKey] : undefined;
}

export const isSecret = (v: unknown): boolean => sigOf(v) === specialSecretSig;
export const isAsset = (v: unknown): boolean => sigOf(v) === specialAssetSig;
export const isArchive = (v: unknown): boolean => sigOf(v) === specialArchiveSig;
export const secret = (value: unknown): Props => ({ [specialSigKey]: specialSecretSig, value });

/** True if the value holds a secret anywhere inside. */
export function containsSecret(v: unknown): boolean {
  if (isSecret(v)) return true;
  if (Array.isArray(v)) return v.some(containsSecret);
  if (v !== null && typeof v === "object") return Object.values(v).some(containsSecret);
  return false;
}

/** True if the value is (or holds) a value that is not known yet, as in a preview. */
export function containsUnknown(v: unknown): boolean {
  if (v === unknownValue) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (v !== null && typeof v === "object") return Object.values(v).some(containsUnknown);
  return false;
}

/** The value with every secret wrapper removed (assets and archives keep their tag). */
export function reveal<T = unknown>(v: unknown): T {
  if (isSecret(v)) return reveal((v as Props).value);
  if (Array.isArray(v)) return v.map((x) => reveal(x)) as T;
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)])) as T;
  }
  return v as T;
}

/** Top-level property names whose value holds a secret. */
export function secretKeys(props: Props): Set<string> {
  return new Set(Object.keys(props).filter((k) => containsSecret(props[k])));
}

/** Wrap the named top-level properties as secrets (once). */
export function wrapSecrets(props: Props, keys: Iterable<string>): Props {
  const out = { ...props };
  for (const k of keys) {
    if (out[k] !== undefined && !isSecret(out[k])) out[k] = secret(out[k]);
  }
  return out;
}

/** The value without `undefined` properties or elements (the wire's Struct has no such value). */
export function dropUndefined<T>(v: T): T {
  if (Array.isArray(v)) return v.filter((x) => x !== undefined).map((x) => dropUndefined(x)) as T;
  if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(
      Object.entries(v as Props)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => [k, dropUndefined(x)]),
    ) as T;
  }
  return v;
}
