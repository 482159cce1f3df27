// The skip/run decision: a pure function of the recipe's tags and its canonical. By version, never by
// commit: untagged commits on the default branch are not a release and never trigger a run.
import { classifyTags, compareReleases, newestRelease, parseRelease } from './version.js';

export type Decision = 'run' | 'skip' | 'error';
export type Reason =
  | 'never-released'
  | 'first-canonical'
  | 'no-new-version'
  | 'new-release'
  | 'forced'
  | 'known-red-unchanged'
  | 'canonical-unreadable'
  | 'canonical-version-not-a-release'
  | 'tags-unavailable'
  | 'enrolment-invalid';

export interface DecisionInput {
  tags: Iterable<string>;
  /** Version of the canonical record, or null when the recipe has none yet. */
  canonicalVersion: string | null;
  force?: boolean;
  /** Whether a release already went red with nothing changed since (see attempts.knownRed). */
  isKnownRed?: (tag: string) => boolean;
  /** Run a known-red release anyway. */
  retry?: boolean;
}

export interface DecisionResult {
  decision: Decision;
  reason: Reason;
  /** Newest release tag, or null when there is none. */
  latest: string | null;
  ignoredTags: string[];
}

export function decide(input: DecisionInput): DecisionResult {
  const set = classifyTags(input.tags);
  const newest = newestRelease(set);
  const base = { latest: newest?.tag ?? null, ignoredTags: set.ignored };
  if (!newest) return { ...base, decision: 'skip', reason: 'never-released' };
  const canonical = input.canonicalVersion === null ? null : parseRelease(input.canonicalVersion);
  // A canonical we cannot order against is not something to overwrite, not even with --force (like a
  // canonical.json that cannot be read at all).
  if (input.canonicalVersion !== null && !canonical) return { ...base, decision: 'error', reason: 'canonical-version-not-a-release' };
  if (input.force) return { ...base, decision: 'run', reason: 'forced' };
  // Nothing that could make it pass has changed: a red hour-long test is not re-run for nothing.
  const knownRed = !input.retry && (input.isKnownRed?.(newest.tag) ?? false);
  if (canonical === null) {
    return knownRed ? { ...base, decision: 'skip', reason: 'known-red-unchanged' } : { ...base, decision: 'run', reason: 'first-canonical' };
  }
  if (compareReleases(newest, canonical) <= 0) return { ...base, decision: 'skip', reason: 'no-new-version' };
  return knownRed
    ? { ...base, decision: 'skip', reason: 'known-red-unchanged' }
    : { ...base, decision: 'run', reason: 'new-release' };
}
