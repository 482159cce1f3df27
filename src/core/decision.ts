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
  | 'enrolment-invalid'
  | 'held'
  | 'too-new'
  | 'requested'
  | 'holds-unreadable'
  | 'verify';

export interface DecisionInput {
  tags: Iterable<string>;
  /** Version of the canonical record, or null when the recipe has none yet. */
  canonicalVersion: string | null;
  force?: boolean;
  /** Whether a release already went red with nothing changed since (see attempts.knownRed). */
  isKnownRed?: (tag: string) => boolean;
  /** Run a known-red release anyway. */
  retry?: boolean;
  /** The recipe is held (src/core/holds.ts): skip, reason `held`. */
  held?: boolean;
  /** Held releases: never a candidate. */
  heldTags?: ReadonlySet<string>;
  /** Releases still too young to be candidates: tag -> when they become one (src/core/release-age.ts). */
  young?: ReadonlyMap<string, string>;
  /** `run --tag`: this release instead of the newest candidate (checked first by requestedTagProblem). */
  requested?: string;
}

export interface DecisionResult {
  decision: Decision;
  reason: Reason;
  /** The candidate the decision used: the newest release neither held nor too young (or the requested one). */
  latest: string | null;
  ignoredTags: string[];
  /** A newer release that is not a candidate yet, only because it is too young. */
  pending?: { tag: string; eligibleAt: string };
}

export function decide(input: DecisionInput): DecisionResult {
  const set = classifyTags(input.tags);
  // A held recipe is not touched, whatever its tags or canonical say: the operator said so.
  if (!newestRelease(set)) return { latest: null, ignoredTags: set.ignored, decision: 'skip', reason: input.held ? 'held' : 'never-released' };
  // Held and too-young releases are not candidates: the newest release that is neither is.
  const held = input.heldTags ?? new Set<string>();
  const young = input.young ?? new Map<string, string>();
  const candidates = set.releases.filter((r) => !held.has(r.tag) && !young.has(r.tag));
  const newest = candidates.at(-1) ?? null;
  const settling = set.releases.filter((r) => !held.has(r.tag) && young.has(r.tag)).at(-1);
  const pending = settling && (!newest || compareReleases(settling, newest) > 0) ? { tag: settling.tag, eligibleAt: young.get(settling.tag)! } : null;
  const base = { latest: newest?.tag ?? null, ignoredTags: set.ignored, ...(pending ? { pending } : {}) };
  const canonical = input.canonicalVersion === null ? null : parseRelease(input.canonicalVersion);
  // A canonical we cannot order against is not something to overwrite, not even with --force (like a
  // canonical.json that cannot be read at all).
  if (input.held) return { ...base, decision: 'skip', reason: 'held' };
  if (input.canonicalVersion !== null && !canonical) return { ...base, decision: 'error', reason: 'canonical-version-not-a-release' };
  if (input.requested !== undefined) return { ...base, latest: input.requested, decision: 'run', reason: 'requested' };
  if (!newest) {
    // Every release is held or still settling: nothing to test. With a canonical, it simply stays.
    if (canonical) return { ...base, decision: 'skip', reason: 'no-new-version' };
    return { ...base, decision: 'skip', reason: pending ? 'too-new' : 'held' };
  }
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

/**
 * Why `run --tag` cannot test `tag`, or null when it can: it must be a release of the recipe, not held, and
 * above the canonical unless a downgrade is allowed. The caller turns a problem into exit 2.
 */
export function requestedTagProblem(
  recipe: string, tag: string, tags: Iterable<string>, canonicalVersion: string | null, o: { allowDowngrade?: boolean; heldTags?: ReadonlySet<string> } = {},
): string | null {
  const wanted = classifyTags(tags).releases.find((r) => r.tag === tag);
  if (!wanted) return `${tag} is not a release of ${recipe} upstream: give one of its release tags (ccci-sweep explain ${recipe} lists them)`;
  if (o.heldTags?.has(tag)) return `${tag} of ${recipe} is held: release it first (ccci-sweep release ${recipe} --tag ${tag})`;
  const canonical = canonicalVersion === null ? null : parseRelease(canonicalVersion);
  if (canonical && compareReleases(wanted, canonical) <= 0 && !o.allowDowngrade) {
    return `${tag} is not newer than ${recipe}'s canonical ${canonicalVersion}: pass --allow-downgrade to test it and, when green, make it the canonical`;
  }
  return null;
}

/** The canonical a test upgrades from (CCCI_UPGRADE_BASE), unless the tag is older: a rollback or a chosen
 *  older release is tested cold, never "upgraded" downwards. */
export function upgradeBaseFor(canonical: string | null, tag: string): string | null {
  const [from, to] = [canonical === null ? null : parseRelease(canonical), parseRelease(tag)];
  return from && to && compareReleases(to, from) < 0 ? null : canonical;
}
