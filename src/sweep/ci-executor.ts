// The CI executors: each recipe to test becomes one build of the cc-ci repo on the CI server (Drone or
// Woodpecker), whose step runs `ccci-sweep worker` on a runner's host. This module follows the build
// (polling with jitter), cancels it at the test timeout or on a stop, reads the worker's one result line
// from the build's log, and records the attempt here as a local run would, unless the worker already did
// in this very state dir (same host). Engine specifics live in the clients (src/adapters/ci).
import { randomUUID } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { readRegularText } from '../adapters/fs/read-file.js';
import path from 'node:path';
import { writeFileAtomic } from '../adapters/fs/atomic-file.js';
import { effectiveTimeout } from '../core/attempts.js';
import { appendHistory, readCanonical, recipeStateDir, writeCanonical } from '../adapters/fs/state-store.js';
import { type AttemptEntry, promotedRecord } from '../core/canonical-record.js';
import { findResult, jittered, noResultDetail, sweepVarsOf, type WorkerResult } from '../core/executor-result.js';
import type { CiBuild, CiClient } from '../adapters/ci/engine.js';
import { upgradeBaseFor } from '../core/decision.js';
import { CiError, messageOf } from '../core/errors.js';
import { scrub } from '../adapters/log.js';
import { startedBy, type SweepContext } from './context.js';
import type { Outcome, Planned, RunResult } from '../core/sweep-types.js';
import type { RecipeRun } from './executor.js';
import type { Executor } from './executor.js';
import { later } from '../adapters/timers.js';

export const DEFAULT_POLL_MS = 15_000;

// ---------------------------------------------------------------------------------------------------------
// The sweep id file: which sweep dispatched builds from this state dir. A coordinator killed mid-sweep
// leaves it behind; the next one adopts that sweep's builds instead of dispatching the same tests again.

const SWEEP_FILE = 'ci-sweep.json';

interface SweepFile {
  sweepId: string;
  /** Earlier sweeps whose builds this one adopts (a worker of theirs still shares this state dir). */
  adopting: string[];
  startedAt: string;
}

export function readSweepFile(stateDir: string): SweepFile | null {
  try {
    const v = JSON.parse(readRegularText(path.join(stateDir, SWEEP_FILE))) as Partial<SweepFile>;
    if (typeof v.sweepId !== 'string') return null;
    return { sweepId: v.sweepId, adopting: Array.isArray(v.adopting) ? v.adopting.filter((x) => typeof x === 'string') : [], startedAt: String(v.startedAt ?? '') };
  } catch {
    return null; // none, or torn by a crash: nothing to adopt
  }
}

/** How many killed sweeps in a row are remembered (a build outlives at most a few of them). */
const ADOPT_DEPTH = 5;

/**
 * Starts a CI sweep: a new id, and the ids of killed earlier sweeps whose builds may still run (the last
 * one's, and those it was adopting itself: a sweep killed while it waited for adopted builds).
 */
export function beginCiSweep(stateDir: string, now: Date): { sweepId: string; previous: string[] } {
  const before = readSweepFile(stateDir);
  const sweepId = `${now.toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomUUID().slice(0, 8)}`;
  const previous = before ? [before.sweepId, ...before.adopting].slice(0, ADOPT_DEPTH) : [];
  const file: SweepFile = { sweepId, adopting: previous, startedAt: now.toISOString() };
  writeFileAtomic(path.join(stateDir, SWEEP_FILE), `${JSON.stringify(file)}\n`);
  return { sweepId, previous };
}

/** A sweep that ended with no build left in flight: nothing for the next one to adopt. */
export function endCiSweep(stateDir: string, sweepId: string): void {
  if (readSweepFile(stateDir)?.sweepId === sweepId) rmSync(path.join(stateDir, SWEEP_FILE), { force: true });
}

/**
 * Written by a worker whose state dir is the coordinator's (it finds its own sweep id in ci-sweep.json):
 * then the worker's records are the records, and the coordinator writes none.
 */
export function workerMarker(stateDir: string, recipe: string, sweepId: string): string {
  return path.join(recipeStateDir(stateDir, recipe), `.ci-worker-${sweepId.replace(/[^A-Za-z0-9-]/g, '_')}`);
}

export function sharesCoordinatorState(stateDir: string, sweepId: string): boolean {
  const f = readSweepFile(stateDir);
  return f !== null && (f.sweepId === sweepId || f.adopting.includes(sweepId));
}

// ---------------------------------------------------------------------------------------------------------

export interface CiExecutorOptions {
  client: CiClient;
  sweepId: string;
  /** Killed earlier sweeps whose pending or running builds are adopted. */
  previousSweepIds: readonly string[];
  pollMs?: number;
  random?: () => number;
}

export function ciExecutor(ctx: SweepContext, o: CiExecutorOptions): Executor {
  const adopted = new Map<string, CiBuild>();
  const pollMs = o.pollMs ?? DEFAULT_POLL_MS;
  const random = o.random ?? Math.random;

  /** Waits `ms` or until the sweep is stopped. */
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      if (ctx.signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(t);
        ctx.signal?.removeEventListener('abort', done);
        resolve();
      };
      const t = later(done, ms);
      ctx.signal?.addEventListener('abort', done, { once: true });
    });

  const cancel = async (b: CiBuild, why: string) => {
    try {
      await o.client.cancel(b.number);
      ctx.log.warn({ build: b.number, url: b.url }, `cancelled build: ${why}`);
    } catch (err) {
      ctx.log.error({ build: b.number, err: messageOf(err) }, 'could not cancel the build; it may still run');
    }
  };

  /** Follows a build until it ends, the test timeout passes (cancel: timeout) or the sweep stops (cancel). */
  async function follow(
    b: CiBuild, since: number, timeoutMs: number | null,
  ): Promise<{ build: CiBuild; stopped: 'timeout' | 'interrupted' | null; lost?: string }> {
    let build = b;
    for (;;) {
      if (build.phase === 'ended') return { build, stopped: null };
      if (ctx.signal?.aborted) {
        await cancel(build, 'the sweep was stopped');
        return { build, stopped: 'interrupted' };
      }
      const left = timeoutMs === null ? Number.POSITIVE_INFINITY : since + timeoutMs - ctx.now().getTime();
      if (left <= 0) {
        await cancel(build, 'test timeout reached');
        return { build, stopped: 'timeout' };
      }
      await pause(Math.min(jittered(pollMs, random()), left));
      if (ctx.signal?.aborted) continue;
      try {
        build = await o.client.get(build.number);
      } catch (err) {
        // A refusal (revoked token, build deleted) will not pass by asking again; anything else may.
        const status = err instanceof CiError ? err.status : undefined;
        if (status !== undefined && status >= 400 && status < 500 && status !== 429) {
          return { build, stopped: null, lost: scrub(messageOf(err)) };
        }
        // One failed poll is not the build's fault: ask again next time (the timeout still bounds it).
        ctx.log.warn({ build: build.number, err: messageOf(err) }, 'could not read the build; trying again');
      }
    }
  }

  return {
    remote: true,
    async prepare(toRun) {
      if (o.previousSweepIds.length === 0) return;
      const wanted = new Set(toRun.map((p) => p.recipe));
      let recent: CiBuild[];
      try {
        recent = await o.client.recent();
      } catch (err) {
        ctx.log.warn({ err: messageOf(err) }, 'could not list recent builds to adopt those of the killed earlier sweep');
        return;
      }
      for (const b of recent) {
        const v = sweepVarsOf(b.vars);
        if (!v || !o.previousSweepIds.includes(v.sweepId) || b.phase === 'ended' || !wanted.has(v.recipe) || adopted.has(v.recipe)) continue;
        adopted.set(v.recipe, b);
        ctx.log.warn({ recipe: v.recipe, build: b.number, url: b.url, tag: v.tag }, 'adopting a build of the killed earlier sweep instead of dispatching again');
      }
    },

    async launch(p, run, testing) {
      const startedAt = ctx.now();
      const started = startedAt.getTime();
      const tag = p.latest!;
      const base = { recipe: p.recipe, decision: p.decision, reason: p.reason, tag, exitCode: null, log: null };
      const fail = (outcome: Outcome, detail: string, more: Partial<RunResult> = {}): RunResult =>
        ({ ...base, outcome, durationMs: ctx.now().getTime() - started, detail, ...more });
      if (ctx.signal?.aborted) return fail('interrupted', 'sweep was stopped before this recipe was dispatched');
      const commit = p.tags.get(tag)!;
      const timeoutMs = effectiveTimeout(run.testTimeoutMs);

      let build = adopted.get(p.recipe);
      let sweepId = o.sweepId;
      const old = build ? sweepVarsOf(build.vars) : null;
      if (build && old && old.tag === tag && old.commit === commit) {
        sweepId = old.sweepId;
      } else {
        if (build) {
          // The killed sweep tested another release: let it end (one test per recipe at a time), then ours.
          ctx.log.warn({ recipe: p.recipe, build: build.number }, 'waiting for the killed sweep\'s build of an older release to end');
          const waited = await follow(build, ctx.now().getTime(), timeoutMs);
          if (waited.stopped === 'interrupted') return fail('interrupted', `stopped while waiting for build ${build.number}: ${build.url}`);
        }
        const vars = {
          CCCI_SWEEP: '1', RECIPE: p.recipe, CCCI_SWEEP_TAG: tag, CCCI_SWEEP_COMMIT: commit,
          CCCI_UPGRADE_BASE: upgradeBaseFor(p.record?.version ?? null, tag) ?? '', CCCI_SWEEP_ID: o.sweepId,
        };
        try {
          build = await o.client.dispatch(vars);
        } catch (err) {
          return fail('error', `cannot dispatch a build: ${scrub(messageOf(err))}`);
        }
        ctx.log.info({ recipe: p.recipe, tag, build: build.number, url: build.url }, 'dispatched build');
      }
      testing();
      const ref = { engine: o.client.engine, number: build.number, url: build.url };
      const followed = await follow(build, started, timeoutMs);
      let r: RunResult;
      let worker: WorkerResult | null = null;
      if (followed.stopped === 'timeout') {
        r = fail('timeout', `test timeout reached: build ${build.number} cancelled: ${build.url}`, { commit, build: ref });
      } else if (followed.stopped === 'interrupted') {
        r = fail('interrupted', `sweep was stopped: build ${build.number} cancelled: ${build.url}`, { commit, build: ref });
      } else if (followed.lost) {
        r = fail('error', `cannot follow build ${build.number} (${followed.lost}); it may still run: ${build.url}`, { commit, build: ref });
      } else {
        const ended = followed.build;
        let found: ReturnType<typeof findResult>;
        try {
          found = findResult(await o.client.logs(ended.number), { recipe: p.recipe, sweepId });
        } catch (err) {
          found = { kind: 'invalid', why: `its log cannot be read: ${scrub(messageOf(err))}` };
        }
        if (found.kind === 'found') {
          worker = found.result;
          r = {
            ...base, tag: worker.tag, outcome: worker.outcome as Outcome, exitCode: worker.exitCode, durationMs: worker.durationMs,
            log: worker.log, build: ref,
            ...(worker.detail !== undefined ? { detail: worker.detail } : {}),
            ...(worker.commit !== undefined ? { commit: worker.commit } : { commit }),
            ...(worker.restoreError !== undefined ? { restoreError: worker.restoreError } : {}),
            ...(worker.logIncomplete ? { logIncomplete: true as const } : {}),
          };
        } else {
          r = fail('error', noResultDetail(ended, found.kind === 'invalid' ? found.why : undefined), { commit, build: ref });
        }
      }
      return record(ctx, p, run, r, { sweepId, worker, startedAt, commit });
    },
  };
}

/**
 * The attempt (and, when promoted, the canonical and the promotion) in this host's state dir, so plan,
 * status, history and metrics show a remote run as a local one. Nothing is written when the worker ran
 * on this very state dir: it wrote them itself.
 */
function record(
  ctx: SweepContext, p: Planned, run: RecipeRun, r: RunResult,
  s: { sweepId: string; worker: WorkerResult | null; startedAt: Date; commit: string },
): RunResult {
  const marker = workerMarker(ctx.config.stateDir, p.recipe, s.sweepId);
  if (existsSync(marker)) {
    rmSync(marker, { force: true });
    return r;
  }
  // Nothing was tested (the worker decided again, e.g. the tag is not a commit): nothing to record.
  if (r.outcome === 'skipped') return r;
  const tag = r.tag ?? p.latest!;
  const commit = r.commit ?? s.commit;
  // The attempt carries this host's conditions (a later plan here compares them to decide known-red);
  // what the runner actually ran with is kept beside them, and is what a promotion records.
  const runner = s.worker ? { ccciCommit: s.worker.ccciCommit ?? null, ccciRun: s.worker.ccciRun ?? null } : null;
  const ccciCommit = runner ? runner.ccciCommit : run.ccciCommit;
  const extra = { sweepId: s.sweepId, ...(r.build ? { build: r.build } : {}) };
  try {
    const attempt: AttemptEntry = {
      type: 'attempt', recipe: p.recipe, tag, tagCommit: commit, ccciCommit: run.ccciCommit, ccciRun: run.ccciRun,
      ...(runner ? { runner } : {}),
      outcome: r.outcome, exitCode: r.exitCode, durationMs: r.durationMs, log: r.log ?? r.build?.url ?? '',
      startedAt: s.startedAt.toISOString(), endedAt: ctx.now().toISOString(), by: startedBy(ctx.env),
      ...(r.detail !== undefined ? { detail: r.detail } : {}), testTimeoutMs: effectiveTimeout(run.testTimeoutMs), ...extra,
    };
    if (r.outcome !== 'promoted') {
      appendHistory(ctx.config.stateDir, attempt);
      return r;
    }
    // Read again right before it is replaced: an invalid record is never overwritten (it throws).
    const current = readCanonical(ctx.config.stateDir, p.recipe);
    const rec = promotedRecord(current, { recipe: p.recipe, tag, commit, ccciCommit, at: ctx.now() });
    writeCanonical(ctx.config.stateDir, rec);
    appendHistory(ctx.config.stateDir, attempt, {
      type: 'promotion', recipe: p.recipe, version: tag, commit, previousVersion: current?.version ?? null,
      ccciCommit, promotedAt: rec.promotedAt!, ...extra,
    });
    return r;
  } catch (err) {
    const detail = `build ${r.build?.number} ended ${r.outcome}, but this host's state dir could not record it: ${scrub(messageOf(err))}`;
    ctx.log.error({ recipe: p.recipe, err: messageOf(err) }, detail);
    return { ...r, outcome: 'error', detail };
  }
}
