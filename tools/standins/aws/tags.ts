/**
 * `tags` and `tagsAll`: with no provider `defaultTags` (the stand-in refuses them), `tagsAll`
 * is the resource's own tags. Changes apply in place: the keys to set and the keys to remove.
 */
export type Tags = Record<string, string>;

export function tagsAll(tags: Tags | undefined): Tags {
  return { ...tags };
}

export function tagChanges(
  before: Tags | undefined,
  after: Tags | undefined,
): { set: Tags; remove: string[] } {
  const old = before ?? {};
  const now = after ?? {};
  const set = Object.fromEntries(Object.entries(now).filter(([k, v]) => old[k] !== v));
  const remove = Object.keys(old).filter((k) => !(k in now));
  return { set, remove };
}

/** `[{Key, Value}]`, the shape most AWS APIs take. */
export function tagList(tags: Tags | undefined): { Key: string; Value: string }[] {
  return Object.entries(tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
}

/** The inverse of tagList, for reading tags back. */
export function tagMap(list: { Key?: string; Value?: string }[] | undefined): Tags {
  return Object.fromEntries(
    (list ?? []).filter((t) => t.Key && !t.Key.startsWith("aws:")).map((t) => [t.Key!, t.Value ?? ""]),
  );
}
