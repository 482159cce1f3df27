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
  if (input.force) return { ...base, decision: 'run', reason: 'forced' };
  if (input.canonicalVersion === null) return { ...base, decision: 'run', reason: 'first-canonical' };
  const canonical = parseRelease(input.canonicalVersion);
  // A canonical we cannot order against is not something to silently overwrite.
  if (!canonical) return { ...base, decision: 'error', reason: 'canonical-version-not-a-release' };
  return compareReleases(newest, canonical) > 0
    ? { ...base, decision: 'run', reason: 'new-release' }
    : { ...base, decision: 'skip', reason: 'no-new-version' };
}
