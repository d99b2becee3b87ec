/** Helpers for writing shell scripts as values. */

/** Joins script parts into lines, dropping empty parts, with one trailing newline. */
export function lines(...parts: readonly string[]): string {
  return (
    parts
      .filter((part) => part !== "")
      .map((part) => part.replace(/\n$/, ""))
      .join("\n") + "\n"
  );
}

/** Quotes a value for POSIX shells: the result is always one word, never expanded. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'"'"'`)}'`;
}
