// run: recover, mirror-sync, plan, then test each recipe whose decision is `run` (`--jobs` at a time,
// longest first) through the executor, and report one result per recipe.
import path from 'node:path';
import PQueue from 'p-queue';
import { medianDurationMs } from '../core/attempts.js';
import { readHistory } from '../adapters/fs/state-store.js';
import { requestedTagProblem } from '../core/decision.js';
import type { Enrolment } from '../core/enrolment.js';
import { UsageError } from '../core/errors.js';
import { resolveExecutable } from '../adapters/harness.js';
import type { SweepEvent } from '../core/events.js';
import type { Executor } from './executor.js';
import type { SweepContext } from './context.js';
import type { PlanEntry, Planned, RunResult } from '../core/sweep-types.js';
import type { RunOptions } from './executor.js';
import { planAll, publicEntry, sweepConditions } from './plan.js';
import { inDryRun } from '../adapters/effects.js';
import { syncMirrors } from './sync.js';
import { runRecipe } from './run-recipe.js';
import { notRun } from '../core/outcome.js';
import { recoverCrashedRecipes } from './recover.js';
import { type PrefetchedReleases, prefetchReleases } from '../adapters/git.js';
import { COMPOSE_FILES } from '../core/compose.js';

/**
 * Everything `run` does before testing: recover what a crashed sweep left, mirror-sync, plan. In dry-run
 * (`dry`), cc-ci-run need not exist and no lock is taken (recovery takes recipe locks).
 */
async function prepareRun(
  ctx: SweepContext, enrolment: Enrolment, opts: RunOptions, dry: boolean, executor?: Executor,
  emit?: (recipe: string, state: SweepEvent['state'], more?: Partial<SweepEvent>) => void,
) {
  const remote = executor?.remote ?? false;
  // Fail before touching anything if the harness wrapper is missing: every launch would fail the same way,
  // and a timer sweep with nothing new to test should still say the host is broken. A CI executor's
  // builds run cc-ci-run on the runner's host, and this host checks nothing out.
  const ccciRun = remote || dry ? ctx.config.ccciRun : resolveExecutable(ctx.config.ccciRun, ctx.env);
  const unrecovered = remote || dry ? new Map<string, string>() : await recoverCrashedRecipes(ctx, enrolment);
  for (const r of enrolment.recipes) {
    emit?.(r.recipe, 'queued', { expectedMs: medianDurationMs(readHistory(ctx.config.stateDir, r.recipe).entries) });
  }
  // Mirror-sync first, for every selected recipe (also the ones that end up skipped); the decision that
  // follows reads upstream itself, so a diverged mirror never changes what is tested.
  const synced = opts.sync === false ? [] : await syncMirrors(ctx, enrolment, opts);
  const conditions = await sweepConditions(ctx, opts.testTimeoutMs);
  const planned = await planAll(ctx, enrolment, opts, conditions);
  if (opts.requestedTag !== undefined) assertRequestedTag(planned, opts);
  // A recipe whose clone is still left detached is not touched again until it is put back.
  for (const p of planned) {
    const why = unrecovered.get(p.recipe);
    if (why) Object.assign(p, { decision: 'error', error: why });
  }
  return { ccciRun, synced, conditions, planned };
}

/**
 * Today's path: each recipe checked out, tested and promoted on this host. Before the first test, what
 * every test will ask of its clone first is read at once (one git process for the sweep, not one per test).
 */
export function localExecutor(ctx: SweepContext): Executor {
  let prefetched: PrefetchedReleases | null = null;
  return {
    remote: false,
    async prepare(toRun) {
      const items = toRun.flatMap((p) => {
        const expected = p.latest === null ? undefined : p.tags.get(p.latest);
        return expected === undefined ? [] : [{ cloneDir: path.join(ctx.config.recipesDir, p.recipe), tag: p.latest!, expected }];
      });
      prefetched = await prefetchReleases(items, COMPOSE_FILES, { env: ctx.env, signal: ctx.signal, log: ctx.log });
    },
    launch: (p, o, testing, harnessDone) => runRecipe(ctx, p, { ...o, prefetched }, testing, harnessDone),
  };
}

/**
 * `run --dry-run`: run's own path up to the tests, in a dry-run scope (src/adapters/effects.ts): mirror-sync
 * is planned (what it would push or close is logged), every recipe is planned, no lock is taken, no tag
 * seen is recorded, nothing is written and no harness launched. The result is what `plan` shows.
 */
export async function dryRun(ctx: SweepContext, enrolment: Enrolment, opts: RunOptions = {}): Promise<PlanEntry[]> {
  return inDryRun(async () => {
    const { planned } = await prepareRun(ctx, enrolment, { ...opts, recordSeenTags: false, mirrorState: true }, true);
    return planned.map(publicEntry);
  });
}

export async function run(ctx: SweepContext, enrolment: Enrolment, opts: RunOptions = {}): Promise<RunResult[]> {
  const emit = (recipe: string, state: SweepEvent['state'], more: Partial<SweepEvent> = {}) =>
    ctx.onEvent?.({ recipe, state, at: ctx.now().getTime(), ...more });
  const executor = opts.executor ?? localExecutor(ctx);
  const { ccciRun, synced, conditions, planned } = await prepareRun(ctx, enrolment, { ...opts, mirrorState: false }, false, executor, emit);
  const syncOf = new Map(synced.map((r) => [r.recipe, r]));
  const toRun = planned.filter((p) => p.decision === 'run');
  const jobs = Math.max(1, opts.jobs ?? 1);
  // With several at once, start the longest first (median of past runs), so the sweep ends sooner.
  if (jobs > 1) {
    const expected = (p: Planned) => medianDurationMs(p.history) ?? Number.MAX_SAFE_INTEGER;
    toRun.sort((a, b) => expected(b) - expected(a) || (a.recipe < b.recipe ? -1 : 1));
  }
  const queue = new PQueue({ concurrency: jobs });
  const byRecipe = new Map<string, RunResult>();
  for (const p of planned) {
    if (p.decision === 'run') continue;
    byRecipe.set(p.recipe, notRun(p));
    emit(p.recipe, 'done', { tag: p.latest, outcome: byRecipe.get(p.recipe)!.outcome });
  }
  await executor.prepare?.(toRun);
  // A slot is one test: it is free again once the recipe's last cc-ci-run has ended, so the next recipe's
  // fetch and checkout overlap this one's gate, promotion and restore (different clones, different state).
  await Promise.all(
    toRun.map((p) => new Promise<void>((settled, failed) => {
      void queue.add(() => new Promise<void>((slotFree) => {
        // A CI executor records what this host would compare a later plan with (known-red), not the runner's.
        // Through a promise even if launch() threw at once: the slot and the sweep's wait always end.
        Promise.resolve().then(() => executor.launch(p, { ...opts, ccciRun: executor.remote ? conditions.ccciRun : ccciRun, ccciCommit: conditions.ccciCommit }, () =>
          emit(p.recipe, 'testing', { tag: p.latest, expectedMs: medianDurationMs(p.history) }), slotFree,
        )).then((r) => {
          byRecipe.set(p.recipe, r);
          emit(p.recipe, 'done', { tag: r.tag, outcome: r.outcome });
          settled();
        }, failed).finally(slotFree);
      }));
    })),
  );
  return planned.map((p) => {
    const r = byRecipe.get(p.recipe)!;
    const sync = syncOf.get(r.recipe);
    return sync ? { ...r, sync } : r;
  });
}

/** `run --tag`: a tag that is not a release, is held, or is a downgrade without the flag is exit 2. */
function assertRequestedTag(planned: Planned[], opts: RunOptions): void {
  for (const p of planned) {
    // A hold of the whole recipe wins over a request: lift it first, so nobody tests around it by accident.
    if (p.reason === 'held' && p.hold) throw new UsageError(`${p.recipe} is held (${p.hold.reason}): release it first (ccci-sweep release ${p.recipe})`);
    if (p.decision !== 'run' || p.reason !== 'requested') continue;
    const problem = requestedTagProblem(p.recipe, opts.requestedTag!, p.tags.keys(), p.record?.version ?? null, {
      allowDowngrade: opts.allowDowngrade, heldTags: p.controls?.decision.heldTags,
    });
    if (problem) throw new UsageError(problem);
  }
}
