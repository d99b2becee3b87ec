/**
 * Names as the real provider makes them when the program gives none:
 *   - Pulumi's auto-name (the bridge's `AutoName`): `<resource name>-<7 random hex>`, within
 *     the property's maximum length, kept from the previous inputs so it never changes by
 *     itself; not applied when the conflicting `namePrefix` is set;
 *   - the Terraform provider's `name_prefix` names (`id.PrefixedUniqueId`): the prefix, a UTC
 *     timestamp to 1/10000 s and an 8-hex-digit counter (26 characters after the prefix).
 */
import { randomBytes } from "node:crypto";
import type { Props } from "../lib/wire";

export function autoName(
  news: Props,
  olds: Props,
  resourceName: string,
  options: { key?: string; maxLength?: number; prefixKey?: string; suffix?: string } = {},
): Props {
  const key = options.key ?? "name";
  if (news[key] != null || (options.prefixKey && news[options.prefixKey] != null)) return news;
  if (olds[key] != null && !(options.prefixKey && olds[options.prefixKey] != null))
    return { ...news, [key]: olds[key] };
  const maxLength = options.maxLength ?? 255;
  const suffix = options.suffix ?? "";
  const name = `${resourceName}-${randomBytes(4).toString("hex").slice(0, 7)}${suffix}`;
  if (name.length > maxLength)
    throw new Error(`name '${resourceName}' plus 7 random chars is longer than maximum length ${maxLength}`);
  return { ...news, [key]: name };
}

let counter = 0;

/** Terraform's `id.PrefixedUniqueId(prefix)`. */
export function prefixedUniqueId(prefix: string): string {
  const now = new Date();
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  const stamp =
    `${now.getUTCFullYear()}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}` +
    `${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}${pad(now.getUTCMilliseconds() * 10, 4)}`;
  counter += 1;
  return `${prefix}${stamp}${counter.toString(16).padStart(8, "0")}`;
}

/** The name to create with: `name`, else `namePrefix` + unique id, else FALLBACK_PREFIX + unique id. */
export function nameOrPrefixed(name: unknown, prefix: unknown, fallbackPrefix = "terraform-"): string {
  if (typeof name === "string" && name) return name;
  return prefixedUniqueId(typeof prefix === "string" && prefix ? prefix : fallbackPrefix);
}
