// Holds: an operator's "not this recipe" or "not this release", with a reason, who and until when. Pure:
// the state file's shape, what is in force at a given instant, and the edits `hold` and `release` make.
import { StateError, UsageError } from './errors.js';
import { BELOW_1MS } from './duration.js';
import { MAX_SPAN_MS, readSpan } from './span.js';

export interface HoldInfo {
  reason: string;
  by: string;
  since: string;
  /** ISO-8601; null: until released. */
  until: string | null;
}

export interface TagHold extends HoldInfo {
  tag: string;
}

/** `<state-dir>/<recipe>/holds.json`: the recipe's own hold and its held tags. */
export interface HoldsFile {
  recipe: HoldInfo | null;
  tags: TagHold[];
}

export const NO_HOLDS: HoldsFile = { recipe: null, tags: [] };

/** What is in force at `now`, and what has run out (kept in the file until released; status shows it). */
export interface ActiveHolds {
  hold: HoldInfo | null;
  heldTags: TagHold[];
  expired: (HoldInfo & { tag: string | null })[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function holdInfo(v: unknown, where: string, bad: (what: string) => Error): HoldInfo {
  if (!isObject(v)) throw bad(`${where} is not an object`);
  for (const k of ['reason', 'by', 'since'] as const) {
    if (typeof v[k] !== 'string' || v[k] === '') throw bad(`${where} has no string "${k}"`);
  }
  if (Number.isNaN(Date.parse(v.since as string))) throw bad(`${where} has a "since" that is not a date`);
  if (v.until !== null && (typeof v.until !== 'string' || Number.isNaN(Date.parse(v.until)))) {
    throw bad(`${where} has an "until" that is not a date or null`);
  }
  return { reason: v.reason as string, by: v.by as string, since: v.since as string, until: v.until as string | null };
}

/**
 * Validates a parsed holds.json. Anything wrong throws StateError naming the file: a hold that cannot be
 * read is never silently dropped (the recipe would be tested as if nobody had held it).
 */
export function parseHolds(value: unknown, file: string): HoldsFile {
  const bad = (what: string) => new StateError(`${file} ${what}; it is left untouched: fix or remove it (holds in it are then gone)`);
  if (!isObject(value)) throw bad('is not a JSON object');
  const recipe = value.recipe === null || value.recipe === undefined ? null : holdInfo(value.recipe, '"recipe"', bad);
  if (value.tags !== undefined && !Array.isArray(value.tags)) throw bad('has "tags" that is not a list');
  const tags = ((value.tags ?? []) as unknown[]).map((t, i) => {
    const info = holdInfo(t, `tags[${i}]`, bad);
    const tag = (t as Record<string, unknown>).tag;
    if (typeof tag !== 'string' || tag === '') throw bad(`tags[${i}] has no string "tag"`);
    return { tag, ...info };
  });
  return { recipe, tags };
}

const inForce = (h: HoldInfo, now: number) => h.until === null || Date.parse(h.until) > now;

export function activeHolds(h: HoldsFile, now: number): ActiveHolds {
  const expired: ActiveHolds['expired'] = [];
  let hold: HoldInfo | null = null;
  if (h.recipe) {
    if (inForce(h.recipe, now)) hold = h.recipe;
    else expired.push({ tag: null, ...h.recipe });
  }
  const heldTags: TagHold[] = [];
  for (const t of h.tags) {
    if (inForce(t, now)) heldTags.push(t);
    else expired.push(t);
  }
  return { hold, heldTags, expired };
}

/** The file after holding the recipe (tag null) or one tag; a second hold of the same thing replaces it. */
export function withHold(h: HoldsFile, tag: string | null, info: HoldInfo): HoldsFile {
  if (tag === null) return { ...h, recipe: info };
  return { ...h, tags: [...h.tags.filter((t) => t.tag !== tag), { tag, ...info }].sort((a, b) => (a.tag < b.tag ? -1 : 1)) };
}

/** The file after releasing the recipe (tag null) or one tag, and the hold that was removed (null: none). */
export function withoutHold(h: HoldsFile, tag: string | null): { next: HoldsFile; removed: HoldInfo | null } {
  if (tag === null) return { next: { ...h, recipe: null }, removed: h.recipe };
  const removed = h.tags.find((t) => t.tag === tag) ?? null;
  return { next: { ...h, tags: h.tags.filter((t) => t.tag !== tag) }, removed };
}

/**
 * `--until`: a span from now (`7d`, `36h`) or an ISO-8601 instant with a date (`2026-12-01`,
 * `2026-12-01T08:00:00Z`). A moment that is not in the future would be a hold that never applies: refused.
 */
export function parseUntil(text: string, now: number): string {
  const span = readSpan(text);
  if (span === 'below-1ms') throw new UsageError(`--until ${JSON.stringify(text)} ${BELOW_1MS}`);
  let at: number;
  if (span !== 'malformed') at = now + span;
  else if (/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) at = Date.parse(text.trim());
  else throw new UsageError(`--until ${JSON.stringify(text)} is neither a span (7d, 36h, 90m; at most 100 years) nor an ISO-8601 date (2026-12-01T08:00:00Z)`);
  if (!Number.isFinite(at) || at > now + MAX_SPAN_MS) throw new UsageError(`--until ${JSON.stringify(text)} is not a valid date within 100 years`);
  if (at <= now) throw new UsageError(`--until ${JSON.stringify(text)} is not in the future: such a hold would never apply`);
  return new Date(at).toISOString();
}

/**
 * `rollback`: the release to go back to, the newest release below the canonical that is not held; null
 * when there is none. `releases` are release tags oldest first (classifyTags).
 */
export function rollbackTarget(releasesOldestFirst: readonly string[], canonicalIndex: number, heldTags: ReadonlySet<string>): string | null {
  for (let i = canonicalIndex - 1; i >= 0; i--) {
    const tag = releasesOldestFirst[i]!;
    if (!heldTags.has(tag)) return tag;
  }
  return null;
}
