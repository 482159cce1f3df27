// Letting a release settle: a release is a candidate only once the sweep has known it (at the same commit)
// for the minimum release age. Pure: the "known since" record and what is still too young at an instant.

/** `<state-dir>/<recipe>/known-tags.json`: when a run or sync first saw each tag upstream, at which commit. */
export type KnownTags = Record<string, { commit: string; since: string }>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A damaged record only makes tags younger (they count as just seen): entries that do not parse are dropped. */
export function parseKnownTags(value: unknown): KnownTags {
  const out: KnownTags = {};
  if (!isObject(value)) return out;
  for (const [tag, v] of Object.entries(value)) {
    if (isObject(v) && typeof v.commit === 'string' && typeof v.since === 'string' && !Number.isNaN(Date.parse(v.since))) {
      out[tag] = { commit: v.commit, since: v.since };
    }
  }
  return out;
}

/**
 * The record after seeing `tags` (tag -> commit) upstream at `now`: new tags, and tags now at another commit
 * (re-pointed), are known from now; tags gone upstream are forgotten. `changed`: whether it needs writing.
 */
export function seeTags(known: KnownTags, tags: ReadonlyMap<string, string>, now: Date): { next: KnownTags; changed: boolean } {
  const next: KnownTags = {};
  let changed = Object.keys(known).some((t) => !tags.has(t));
  for (const [tag, commit] of [...tags].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const k = known[tag];
    if (k && k.commit === commit) next[tag] = k;
    else {
      next[tag] = { commit, since: now.toISOString() };
      changed = true;
    }
  }
  return { next, changed };
}

/**
 * Tags still too young at `now`, with when each becomes a candidate (ISO-8601). A tag with no record, or
 * recorded at another commit, counts as just seen. Empty when there is no minimum age.
 */
export function youngTags(tags: ReadonlyMap<string, string>, known: KnownTags, minAgeMs: number, now: number): Map<string, string> {
  const out = new Map<string, string>();
  if (!(minAgeMs > 0)) return out;
  for (const [tag, commit] of tags) {
    const k = known[tag];
    const since = k && k.commit === commit ? Date.parse(k.since) : now;
    const eligible = since + minAgeMs;
    if (eligible > now) out.set(tag, new Date(eligible).toISOString());
  }
  return out;
}
