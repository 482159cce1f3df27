// `verify`: for each selected recipe with a canonical, check out the canonical's tag (the same clone rules
// as run: clean tree, recipe lock, restored afterwards), launch the harness through cc-ci-run with
// CCCI_QUICK=1 and CCCI_VERIFY=1, and record the verdict in history. Never promotes anything.
import { readCanonical } from '../adapters/fs/state-store.js';
import type { Enrolment } from '../core/enrolment.js';
import { messageOf } from '../core/errors.js';
import { resolveExecutable } from '../adapters/harness.js';
import { runRecipe } from './run-recipe.js';
import { sweepConditions } from './plan.js';
import type { Planned, RunResult } from '../core/sweep-types.js';
import type { RunOptions } from './executor.js';
import type { SweepContext } from './context.js';

export type VerifyOptions = Pick<RunOptions, 'testTimeoutMs' | 'stopGraceMs' | 'diskGuard'>;

export async function verifyAll(ctx: SweepContext, enrolment: Enrolment, opts: VerifyOptions = {}): Promise<RunResult[]> {
  const ccciRun = resolveExecutable(ctx.config.ccciRun, ctx.env);
  const { ccciCommit } = await sweepConditions(ctx, opts.testTimeoutMs);
  const out: RunResult[] = [];
  const base = { decision: 'run' as const, reason: 'verify' as const, exitCode: null, durationMs: 0, log: null };
  for (const r of enrolment.recipes) {
    let record;
    try {
      record = readCanonical(ctx.config.stateDir, r.recipe);
    } catch (err) {
      out.push({ ...base, recipe: r.recipe, tag: null, outcome: 'error', detail: messageOf(err) });
      continue;
    }
    if (!record) {
      out.push({ ...base, recipe: r.recipe, decision: 'skip', tag: null, outcome: 'skipped', detail: 'no canonical to verify' });
      continue;
    }
    const p: Planned = {
      recipe: r.recipe, cadence: r.cadence, canonical: { version: record.version, commit: record.commit }, latest: record.version,
      decision: 'run', reason: 'verify', ignoredTags: [], record, tags: new Map([[record.version, record.commit]]), notCommits: [], history: [],
    };
    out.push(await runRecipe(ctx, p, { ...opts, ccciRun, ccciCommit, verify: true }, () => ctx.onEvent?.({ recipe: r.recipe, state: 'testing', at: ctx.now().getTime(), tag: record.version })));
  }
  for (const p of enrolment.problems) out.push({ ...base, recipe: p.recipe, tag: null, outcome: 'error', detail: p.problem });
  return out.sort((a, b) => (a.recipe < b.recipe ? -1 : 1));
}

/** Exit 0 only when every recipe that has a canonical verified (and its clone was put back). */
export function allVerified(results: RunResult[]): boolean {
  return results.every((r) => (r.outcome === 'verified' || (r.outcome === 'skipped' && r.decision === 'skip')) && !r.restoreError);
}
