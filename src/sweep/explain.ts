// `explain <recipe>`: every tag with its parsed parts and rank, why the newest is newest, the canonical, the
// attempts of the newest tag, and the decision with its reason. Reads only.

import { attempts, changedSince, DEFAULT_TEST_TIMEOUT_MS, knownRed } from '../core/attempts.js';
import type { Cadence } from '../core/enrolment.js';
import { planOne, sweepConditions } from './plan.js';
import type { SweepContext } from './context.js';
import { classifyTags, whyNewer } from '../core/version.js';
import type { ExplainedTag, Explanation } from '../render/explain.js';

export async function explain(
  ctx: SweepContext, recipe: string, cadence: Cadence, opts: { offline?: boolean; retry?: boolean; minReleaseAgeMs?: number } = {},
): Promise<Explanation> {
  // explain has no --test-timeout: it explains what a run with the default would do.
  const conditions = await sweepConditions(ctx, DEFAULT_TEST_TIMEOUT_MS);
  const p = await planOne(ctx, recipe, cadence, { offline: opts.offline, retry: opts.retry, minReleaseAgeMs: opts.minReleaseAgeMs }, conditions);
  const set = classifyTags(p.tags.keys());
  const ranked = [...set.releases].reverse();
  const tags: ExplainedTag[] = [
    ...ranked.map((r, i) => ({
      tag: r.tag, commit: p.tags.get(r.tag) ?? null, release: true, rank: i + 1, recipeVersion: r.recipe.version,
      prerelease: r.recipe.prerelease.length ? r.recipe.prerelease.join('.') : null, app: r.app, appSegments: r.appSegments,
    })),
    ...set.ignored.map((t) => ({
      tag: t, commit: p.tags.get(t) ?? null, release: false, rank: null, recipeVersion: null, prerelease: null, app: null, appSegments: [],
    })),
    ...p.notCommits.map((t) => ({
      tag: t, commit: null, release: false, rank: null, recipeVersion: null, prerelease: null, app: null, appSegments: [],
      note: 'points to a tree or blob, not a commit',
    })),
  ];
  const [first, second] = ranked;
  const newest = first
    ? { tag: first.tag, why: second ? whyNewer(first, second) : 'the only release tag' }
    : null;
  const history = attempts(p.history);
  const attemptsOfNewest = newest ? history.filter((a) => a.tag === newest.tag) : [];
  let red: Explanation['knownRed'] = null;
  const lastOfNewest = attemptsOfNewest.at(-1);
  if (newest && lastOfNewest && (lastOfNewest.outcome === 'red' || lastOfNewest.outcome === 'timeout')) {
    const c = { tag: newest.tag, tagCommit: p.tags.get(newest.tag), ...conditions };
    red = { unchanged: knownRed(p.history, c) !== null, changed: changedSince(lastOfNewest, c) };
  }
  return {
    recipe, cadence, tags, newest,
    canonical: p.record ? { version: p.record.version, commit: p.record.commit, promotedAt: typeof p.record.promotedAt === 'string' ? p.record.promotedAt : null } : null,
    attemptsOfNewest, knownRed: red, decision: p.decision, reason: p.reason, ...(p.error ? { error: p.error } : {}),
    ...(p.warnings?.length ? { warnings: p.warnings } : {}),
    ...(p.hold ? { hold: p.hold } : {}), ...(p.heldTags ? { heldTags: p.heldTags } : {}), ...(p.pending ? { pending: p.pending } : {}),
  };
}
