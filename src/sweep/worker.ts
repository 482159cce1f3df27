// `ccci-sweep worker`: what one CI build runs for one recipe. The coordinator's question arrives in the
// environment (RECIPE, CCCI_SWEEP_TAG, CCCI_SWEEP_COMMIT, CCCI_UPGRADE_BASE, CCCI_SWEEP_ID); everything
// else is this host's own configuration. The test is exactly the local per-recipe path (runRecipe), with
// the tag pinned to the commit the coordinator saw, and the answer is one `CCCI-SWEEP-RESULT` line.
import { mkdirSync, writeFileSync } from 'node:fs';
import { readCanonical, readHistory, recipeStateDir } from '../adapters/fs/state-store.js';
import type { WorkerResult } from '../core/executor-result.js';
import type { Cadence } from '../core/enrolment.js';
import { messageOf, UsageError } from '../core/errors.js';
import { resolveExecutable } from '../adapters/harness.js';
import { scrub } from '../adapters/log.js';
import { runRecipe } from './run-recipe.js';
import { sweepConditions } from './plan.js';
import type { Planned } from '../core/sweep-types.js';
import type { SweepContext } from './context.js';
import { sharesCoordinatorState, workerMarker } from './ci-executor.js';

export interface WorkerVars {
  recipe: string;
  tag: string;
  commit: string;
  /** null: the recipe has no canonical yet (the coordinator sent it empty). */
  upgradeBase: string | null;
  sweepId: string;
}

export const WORKER_VARS = ['RECIPE', 'CCCI_SWEEP_TAG', 'CCCI_SWEEP_COMMIT', 'CCCI_UPGRADE_BASE', 'CCCI_SWEEP_ID'] as const;

/** The coordinator's question from the environment; UsageError naming what is missing or malformed. */
export function workerVars(env: NodeJS.ProcessEnv): WorkerVars {
  const missing = WORKER_VARS.filter((k) => env[k] === undefined || (k !== 'CCCI_UPGRADE_BASE' && env[k]!.trim() === ''));
  if (missing.length > 0) {
    throw new UsageError(`worker: ${missing.join(', ')} not set; a sweep build sets them (run it from the CI pipeline, or set them by hand)`);
  }
  const commit = env.CCCI_SWEEP_COMMIT!.trim();
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) throw new UsageError(`worker: CCCI_SWEEP_COMMIT ${JSON.stringify(commit)} is not a full commit id`);
  const base = env.CCCI_UPGRADE_BASE!.trim();
  return { recipe: env.RECIPE!.trim(), tag: env.CCCI_SWEEP_TAG!.trim(), commit, upgradeBase: base === '' ? null : base, sweepId: env.CCCI_SWEEP_ID!.trim() };
}

/** The build this worker runs in, from the engine's own variables (for history lines). */
function buildOf(env: NodeJS.ProcessEnv): { engine: string; number: number; url: string } | null {
  const n = (v: string | undefined) => (v && /^[0-9]+$/.test(v) ? Number(v) : null);
  const drone = n(env.DRONE_BUILD_NUMBER);
  if (drone !== null) return { engine: 'drone', number: drone, url: env.DRONE_BUILD_LINK ?? '' };
  const wp = n(env.CI_PIPELINE_NUMBER);
  if (wp !== null) return { engine: 'woodpecker', number: wp, url: env.CI_PIPELINE_URL ?? '' };
  return null;
}

export interface WorkerOptions {
  cadence: Cadence;
  testTimeoutMs?: number;
  stopGraceMs?: number;
  /** The runner host's disk guard (--min-free), checked right before the harness starts. */
  diskGuard?: () => string | null;
}

/** One recipe's test through the local path; never throws: every failure is a result with outcome error. */
export async function runWorker(ctx: SweepContext, v: WorkerVars, o: WorkerOptions): Promise<WorkerResult> {
  const started = ctx.now().getTime();
  const startedAt = ctx.now().toISOString();
  const answer = (more: Partial<WorkerResult> & { outcome: string }): WorkerResult => ({
    recipe: v.recipe, sweepId: v.sweepId, tag: v.tag, exitCode: null, durationMs: ctx.now().getTime() - started, log: null, startedAt, ...more,
  });
  try {
    // On the coordinator's own state dir the worker's records are the only ones: say so with a marker.
    if (sharesCoordinatorState(ctx.config.stateDir, v.sweepId)) {
      const marker = workerMarker(ctx.config.stateDir, v.recipe, v.sweepId);
      mkdirSync(recipeStateDir(ctx.config.stateDir, v.recipe), { recursive: true });
      writeFileSync(marker, `${process.pid}\n`);
    }
    const ccciRun = resolveExecutable(ctx.config.ccciRun, ctx.env);
    const conditions = await sweepConditions(ctx, o.testTimeoutMs);
    const record = readCanonical(ctx.config.stateDir, v.recipe);
    const p: Planned = {
      recipe: v.recipe, cadence: o.cadence, canonical: record ? { version: record.version, commit: record.commit } : null,
      latest: v.tag, decision: 'run', reason: record ? 'new-release' : 'first-canonical', ignoredTags: [],
      // The one tag, pinned to the commit the coordinator decided on: a tag moved since is refused.
      record, tags: new Map([[v.tag, v.commit]]), notCommits: [], history: readHistory(ctx.config.stateDir, v.recipe).entries,
    };
    const build = buildOf(ctx.env);
    const r = await runRecipe(ctx, p, {
      testTimeoutMs: o.testTimeoutMs, stopGraceMs: o.stopGraceMs, ccciRun, ccciCommit: conditions.ccciCommit,
      upgradeBase: v.upgradeBase, attemptExtra: { sweepId: v.sweepId, ...(build ? { build } : {}) }, diskGuard: o.diskGuard,
    }, () => undefined);
    const { sync: _s, build: _b, ...entry } = r;
    return { ...entry, sweepId: v.sweepId, ccciCommit: conditions.ccciCommit, ccciRun, startedAt };
  } catch (err) {
    return answer({ outcome: 'error', detail: scrub(messageOf(err)) });
  }
}
