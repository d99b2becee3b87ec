/** The SDK's `labels: [{label, value}]` as the engine's label map. */
export function labelsMap(labels?: { label: string; value: string }[]): Record<string, string> | undefined {
  return labels && Object.fromEntries(labels.map((l) => [l.label, l.value]));
}
