// `rollback <recipe> --reason TEXT`: hold the canonical's release (so the next night does not promote it
// again), then test the newest release below it, downgrade allowed; on green it becomes the canonical.
import { DEFAULT_TEST_TIMEOUT_MS } from '../core/attempts.js';
import type { Enrolment } from '../core/enrolment.js';
import { UsageError } from '../core/errors.js';
import { classifyTags, compareReleases, parseRelease } from '../core/version.js';
import { rollbackTarget } from '../core/holds.js';
import { planOne, sweepConditions } from './plan.js';
import { run } from './run.js';
import { startedBy, type SweepContext } from './context.js';
import type { RunResult } from '../core/sweep-types.js';
import type { RunOptions } from './executor.js';
import { holdRecipe, type HoldResult } from './hold.js';

export interface RollbackResult {
  held: HoldResult;
  target: string;
  results: RunResult[];
}

/** The caller holds the host lock. Usage problems (no canonical, nothing below it) are found before any write. */
export async function rollback(ctx: SweepContext, enrolment: Enrolment, reason: string, opts: RunOptions): Promise<RollbackResult> {
  const r = enrolment.recipes[0];
  if (!r || enrolment.recipes.length !== 1) throw new UsageError('rollback takes exactly one enrolled recipe');
  if (reason.trim() === '') throw new UsageError('--reason is empty: say why, it becomes the hold of the release rolled back from');
  const conditions = await sweepConditions(ctx, opts.testTimeoutMs ?? DEFAULT_TEST_TIMEOUT_MS);
  const p = await planOne(ctx, r.recipe, r.cadence, { minReleaseAgeMs: 0 }, conditions);
  if (p.decision === 'error' && p.reason !== 'holds-unreadable') throw new UsageError(`cannot roll back ${r.recipe}: ${p.error ?? p.reason}`);
  if (p.reason === 'holds-unreadable') throw new UsageError(`cannot roll back ${r.recipe}: ${p.error}`);
  if (!p.record) throw new UsageError(`${r.recipe} has no canonical to roll back from`);
  if (p.hold) throw new UsageError(`${r.recipe} is held (${p.hold.reason}): release it first (ccci-sweep release ${r.recipe})`);
  const canonical = parseRelease(p.record.version);
  const releases = classifyTags(p.tags.keys()).releases;
  // The canonical's place among upstream's releases (it may be gone upstream: then the newest below it).
  const below = canonical ? releases.filter((x) => compareReleases(x, canonical) < 0).length : 0;
  const target = rollbackTarget(releases.map((x) => x.tag), below, p.controls?.decision.heldTags ?? new Set());
  if (!target) throw new UsageError(`${r.recipe} has no release below its canonical ${p.record.version} that is not held: nothing to roll back to`);
  const held = await holdRecipe(
    { stateDir: ctx.config.stateDir, log: ctx.log, by: startedBy(ctx.env), now: ctx.now }, r.recipe, { tag: p.record.version, reason, until: null },
  );
  ctx.log.info({ recipe: r.recipe, from: p.record.version, to: target }, 'rolling back');
  const results = await run(ctx, enrolment, { ...opts, requestedTag: target, allowDowngrade: true });
  return { held, target, results };
}
