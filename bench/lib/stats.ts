/** Small statistics and formatting helpers for the benches. */

/** Nearest-rank percentile (p in 0..1) of the defined values; undefined when there are none. */
export function percentile(values: readonly (number | undefined)[], p: number): number | undefined {
  const sorted = values
    .filter((v): v is number => v !== undefined && Number.isFinite(v))
    .sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export const median = (values: readonly (number | undefined)[]) => {
  const sorted = values
    .filter((v): v is number => v !== undefined && Number.isFinite(v))
    .sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Milliseconds as seconds with one decimal ("–" when unknown). */
export const secs = (ms: number | undefined, digits = 1) =>
  ms === undefined ? "–" : (ms / 1000).toFixed(digits);

/** Median, p90 (nearest rank), min and max of millisecond values, as seconds ("–" when unknown). */
export const spread = (values: readonly (number | undefined)[], digits = 2) =>
  [median(values), percentile(values, 0.9), percentile(values, 0), percentile(values, 1)].map((v) =>
    secs(v, digits),
  );

/** a / b as "×1.23" ("–" when either is unknown). */
export const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? "–" : `×${(a / b).toFixed(2)}`;

export function bytes(n: number | undefined): string {
  if (n === undefined) return "–";
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  right: number[] = [],
): string {
  const align = header.map((_, i) => (right.includes(i) ? "---:" : "---"));
  return [header, align, ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}
