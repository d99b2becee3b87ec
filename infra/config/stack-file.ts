/**
 * What only the stack file's own text can tell: which keys are stored encrypted (`secure:`), and
 * which plain scalars YAML turned into a number other than the one written (`3008.10` → 3008.1,
 * `010` → 8). Pure: the caller reads the file.
 */
import { isMap, isScalar, isSeq, parse, parseDocument, Scalar, type Node } from "yaml";
import { CONFIG_NAMESPACE } from "./validate";

export interface ChangedNumber {
  /** Key path as the problems name it: `salt.version`, `minions[0].port`. */
  readonly path: string;
  /** The text as written in the file. */
  readonly source: string;
  /** The numbers YAML readers make of it (YAML 1.1 and 1.2 may differ: `010` is 8 or 10). */
  readonly readAs: readonly number[];
}

export interface StackFileFacts {
  /** The namespace's keys (without `saltpipe:`) present in the file. */
  readonly keys: ReadonlySet<string>;
  /** Those stored as `{secure: …}` (set with `pulumi config set --secret`). */
  readonly secureKeys: ReadonlySet<string>;
  readonly changedNumbers: readonly ChangedNumber[];
}

/** The facts of one `Pulumi.<stack>.yaml` text; undefined when it is not a YAML document with `config`. */
export function stackFileFacts(text: string): StackFileFacts | undefined {
  const doc = parseDocument(text, { keepSourceTokens: false });
  if (doc.errors.length > 0) return undefined;
  const config = doc.get("config", true);
  if (!isMap(config)) return undefined;
  const prefix = `${CONFIG_NAMESPACE}:`;
  const keys = new Set<string>();
  const secureKeys = new Set<string>();
  const changedNumbers: ChangedNumber[] = [];
  for (const pair of config.items) {
    const fullKey = isScalar(pair.key) ? String(pair.key.value) : "";
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    keys.add(key);
    if (isMap(pair.value) && pair.value.items.length === 1 && pair.value.has("secure")) {
      secureKeys.add(key);
      continue;
    }
    walk(pair.value as Node | null, key, changedNumbers);
  }
  return { keys, secureKeys, changedNumbers };
}

function walk(node: Node | null, path: string, out: ChangedNumber[]): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "?";
      walk(pair.value as Node | null, `${path}.${key}`, out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => walk(item as Node | null, `${path}[${i}]`, out));
  } else if (isScalar(node) && node.type === Scalar.PLAIN) {
    const source = String(node.source ?? node.value);
    const readAs = changedNumber(source);
    if (readAs.length > 0) out.push({ path, source, readAs });
  }
}

/**
 * The numbers YAML makes of a plain scalar that are not the text written (none: it is kept).
 * Both YAML 1.1 (octal `010` → 8, `1_000`) and 1.2 (`010` → 10, `0x10` → 16, `1e3`) readers are asked.
 */
export function changedNumber(source: string): number[] {
  const readings = new Set<number>();
  for (const version of ["1.1", "1.2"] as const) {
    let value: unknown;
    try {
      value = parse(source, { version });
    } catch {
      continue;
    }
    if (typeof value === "number" && String(value) !== source) readings.add(value);
  }
  return [...readings];
}
