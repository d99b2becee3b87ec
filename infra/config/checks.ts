/**
 * Small typed readers for untyped config values. Each records a problem (with the
 * key path) instead of throwing, so one preview reports every bad key at once.
 */

export class Problems {
  private readonly items: string[] = [];

  add(path: string, message: string): void {
    this.items.push(`${path}: ${message}`);
  }

  get list(): readonly string[] {
    return this.items;
  }
}

export type Raw = Record<string, unknown>;

export function isObject(value: unknown): value is Raw {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** Reads an object-valued key; reports unknown sub-keys so typos do not pass silently. */
export function object(p: Problems, path: string, value: unknown, known: readonly string[]): Raw {
  if (value === undefined) return {};
  if (!isObject(value)) {
    p.add(path, `expected an object, got ${show(value)}`);
    return {};
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) p.add(`${path}.${key}`, `unknown key (known: ${known.join(", ")})`);
  }
  return value;
}

export function string(
  p: Problems,
  path: string,
  value: unknown,
  opts: { default?: string; pattern?: RegExp; hint?: string } = {},
): string {
  if (value === undefined || value === "") {
    if (opts.default !== undefined) return opts.default;
    p.add(path, "is required");
    return "";
  }
  if (typeof value !== "string") {
    p.add(path, `expected a string, got ${show(value)}`);
    return opts.default ?? "";
  }
  if (opts.pattern && !opts.pattern.test(value)) {
    p.add(path, `invalid value ${show(value)}${opts.hint ? ` (${opts.hint})` : ""}`);
  }
  return value;
}

export function optionalString(
  p: Problems,
  path: string,
  value: unknown,
  opts: { pattern?: RegExp; hint?: string } = {},
): string | undefined {
  if (value === undefined || value === "") return undefined;
  return string(p, path, value, opts);
}

export function oneOf<T extends string>(
  p: Problems,
  path: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T | undefined,
): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
  p.add(
    path,
    `${value === undefined ? "is required" : `invalid value ${show(value)}`} (one of: ${allowed.join(", ")})`,
  );
  return fallback ?? allowed[0];
}

/** Integers may arrive as numbers or numeric strings (`pulumi config set` stores strings). */
export function integer(
  p: Problems,
  path: string,
  value: unknown,
  opts: { default?: number; min: number; max: number },
): number {
  if (value === undefined || value === "") {
    if (opts.default !== undefined) return opts.default;
    p.add(path, "is required");
    return opts.min;
  }
  const n = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n)) {
    p.add(path, `expected an integer, got ${show(value)}`);
    return opts.default ?? opts.min;
  }
  if (n < opts.min || n > opts.max) {
    p.add(path, `${n} is out of range (${opts.min}..${opts.max})`);
  }
  return n;
}

export function boolean(p: Problems, path: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === "") return fallback;
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  p.add(path, `expected true or false, got ${show(value)}`);
  return fallback;
}

export function stringList(p: Problems, path: string, value: unknown, fallback: readonly string[]): string[] {
  if (value === undefined) return [...fallback];
  if (!Array.isArray(value)) {
    p.add(path, `expected a list of strings, got ${show(value)}`);
    return [...fallback];
  }
  return value.map((item, i) => string(p, `${path}[${i}]`, item));
}

export function stringMap(p: Problems, path: string, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value)) {
    p.add(path, `expected a map of strings, got ${show(value)}`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) out[k] = string(p, `${path}.${k}`, v);
  return out;
}

/** IPv4 CIDR in canonical form (host bits zero), e.g. `203.0.113.0/24`. */
export function cidr(p: Problems, path: string, value: unknown): string {
  const text = string(p, path, value);
  if (!text) return text;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const bits = m ? Number(m[5]) : -1;
  if (!m || octets.some((o) => o > 255) || bits > 32) {
    p.add(path, `invalid CIDR ${show(text)} (expected IPv4 like 203.0.113.0/24)`);
    return text;
  }
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - bits);
  const network = address - (address % size);
  if (network !== address) {
    const canonical = [24, 16, 8, 0].map((s) => Math.floor(network / 2 ** s) % 256).join(".");
    p.add(path, `CIDR ${show(text)} has host bits set (did you mean ${canonical}/${bits}?)`);
  }
  return text;
}

/** Salt minion ids and resource names: DNS labels. */
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const NAME_HINT = "lowercase letters, digits and '-', at most 63 characters";
