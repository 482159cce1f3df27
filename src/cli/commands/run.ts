// `ccci-sweep run`, and the sweep record and metrics it writes afterwards.
import path from 'node:path';
import type { Config } from '../../core/config.js';
import { EXIT, messageOf, UsageError } from '../../core/errors.js';
import type { Logger } from '../../adapters/log.js';
import { operatorSettings } from './operator-options.js';
import type { Io } from '../io.js';
import type { CommonOpts } from '../program.js';
import { context, hostLockUnlessStopped, refuseUnusableProxies, selection } from '../context.js';
import { readUntilStopped, stopOnSignals } from '../signals.js';
import { DEFAULT_TEST_TIMEOUT_MS } from '../../core/attempts.js';

type RunOpts = CommonOpts & {
  dryRun?: boolean; jobs?: number; force?: boolean; retry?: boolean; sync?: boolean; syncJobs?: number; remoteJobs?: number;
  waitLock?: number; stopGrace?: number; testTimeout?: number; metricsFile?: string; ciPollInterval?: number;
  tag?: string; allowDowngrade?: boolean;
};

export async function runCommand(opts: RunOpts, config: Config, io: Io): Promise<number> {
  if (opts.tag !== undefined && opts.recipe.length !== 1) throw new UsageError('--tag needs exactly one --recipe: a tag is a release of one recipe');
  if (opts.allowDowngrade && opts.tag === undefined) throw new UsageError('--allow-downgrade needs --tag: it allows testing that chosen older release');
  const settings = await operatorSettings(opts, io.env);
  if (opts.dryRun) return dryRunCommand(opts, config, io, settings);
  const { run } = await import('../../sweep/run.js');
  const { renderSummary, summaryJson, runSucceeded } = await import('../../render/report.js');
  const enrolment = await selection(config, opts);
  const ci = await ciClientFor(config, io);
  const startedAt = new Date();
  const stop = stopOnSignals(io);
  try {
    const ctx = await context(config, io, { dryRun: false, signal: stop.signal, mirror: opts.sync !== false });
    await refuseUnusableProxies(ctx.env, { mirror: ctx.mirror, notify: settings.notify });
    const lock = await hostLockUnlessStopped(ctx, 'run', opts.waitLock ?? 0, stop, io);
    if (!lock) return stop.exitCode()!;
    const { createProgress } = await import('../../adapters/terminal/progress.js');
    const progress = createProgress({ stream: process.stderr, tty: io.stderrTty ?? false, log: ctx.log, now: () => ctx.now().getTime(), jobs: opts.jobs });
    try {
      const ciSweep = ci ? await startCiSweep(ctx, ci, opts.ciPollInterval) : null;
      const results = await run({ ...ctx, onEvent: progress.listener }, enrolment, {
        jobs: opts.jobs, force: opts.force, retry: opts.retry, sync: opts.sync, syncJobs: opts.syncJobs, remoteJobs: opts.remoteJobs,
        testTimeoutMs: opts.testTimeout, stopGraceMs: opts.stopGrace, executor: ciSweep?.executor,
        minReleaseAgeMs: settings.minReleaseAgeMs, recordSeenTags: true, requestedTag: opts.tag, allowDowngrade: opts.allowDowngrade,
        diskGuard: await diskGuardFor(config, settings, io.env),
      });
      ciSweep?.end();
      progress.stop();
      io.stdout(opts.json ? `${JSON.stringify(summaryJson(results), null, 2)}\n` : renderSummary(results));
      const recorded = await recordSweep(config, io, { startedAt, results, metricsFile: opts.metricsFile, argv: process.argv.slice(2) });
      await notifyAfterRun(ctx, settings, results);
      return stop.exitCode() ?? (runSucceeded(results) && recorded ? EXIT.ok : EXIT.failed);
    } finally {
      progress.stop();
      lock.release();
    }
  } finally {
    stop.dispose();
  }
}

/**
 * `run --dry-run`: run's own path with every write refused (src/sweep/run.ts dryRun): no host lock, nothing
 * written; it prints what `plan` prints, for the options of this run.
 */
async function dryRunCommand(opts: RunOpts, config: Config, io: Io, settings: Awaited<ReturnType<typeof operatorSettings>>): Promise<number> {
  const { dryRun } = await import('../../sweep/run.js');
  const { renderPlan, planJson } = await import('../../render/report.js');
  const enrolment = await selection(config, opts);
  return readUntilStopped(io, async (signal) => {
    const ctx = await context(config, io, { dryRun: true, signal });
    await refuseUnusableProxies(ctx.env, { mirror: opts.sync !== false ? ctx.mirror : null });
    const entries = await dryRun(ctx, enrolment, {
      force: opts.force, retry: opts.retry, sync: opts.sync, syncJobs: opts.syncJobs, remoteJobs: opts.remoteJobs,
      // What that run would do under its test timeout (a timeout is known-red only under the same one).
      testTimeoutMs: opts.testTimeout ?? DEFAULT_TEST_TIMEOUT_MS,
      minReleaseAgeMs: settings.minReleaseAgeMs, requestedTag: opts.tag, allowDowngrade: opts.allowDowngrade,
    });
    return {
      output: opts.json ? `${JSON.stringify(planJson(entries), null, 2)}\n` : renderPlan(entries),
      exitCode: entries.some((e) => e.decision === 'error') ? EXIT.failed : EXIT.ok,
    };
  });
}

/** The CI client when `--executor` is drone or woodpecker (null for local); config problems exit 2 here. */
async function ciClientFor(config: Config, io: Io) {
  if (!config.executor || config.executor === 'local') return null;
  const { ciClientFromConfig } = await import('../../adapters/ci/from-config.js');
  return ciClientFromConfig(config, io.env);
}

/** A CI sweep's id (and the killed earlier sweep's, to adopt its builds), and its executor. */
async function startCiSweep(
  ctx: Awaited<ReturnType<typeof context>>, client: import('../../adapters/ci/engine.js').CiClient, pollMs: number | undefined,
) {
  const { beginCiSweep, endCiSweep, ciExecutor } = await import('../../sweep/ci-executor.js');
  const { sweepId, previous } = beginCiSweep(ctx.config.stateDir, ctx.now());
  ctx.log.info({ sweepId, executor: client.engine, adopting: previous }, 'dispatching tests as CI builds');
  return {
    executor: ciExecutor(ctx, { client, sweepId, previousSweepIds: previous, pollMs }),
    end: () => endCiSweep(ctx.config.stateDir, sweepId),
  };
}

/**
 * The sweep's report in the state dir and, when asked, the Prometheus metrics of every enrolled recipe. Each
 * is written whole or not at all; one that cannot be written (a full disk) is one line on stderr and makes
 * the run exit 1, without stopping the other. Returns whether both were written.
 */
export async function recordSweep(
  config: Config, io: Io, s: { startedAt: Date; results: import('../../core/sweep-types.js').RunResult[]; metricsFile?: string; argv: string[] },
): Promise<boolean> {
  const { sweepReport, writeSweepReport } = await import('../../adapters/fs/sweep-record.js');
  const { startedBy } = await import('../../sweep/context.js');
  const endedAt = new Date();
  let ok = true;
  const attempt = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      ok = false;
      io.stderr(`ccci-sweep: ${messageOf(err)}\n`);
    }
  };
  attempt(() => writeSweepReport(config.stateDir, sweepReport({
    startedAt: s.startedAt.toISOString(), endedAt: endedAt.toISOString(), argv: s.argv, by: startedBy(io.env), config, recipes: s.results,
  })));
  if (!s.metricsFile) return ok;
  const { metricsInput } = await import('../../render/metrics.js');
  const { writeMetrics } = await import('../../adapters/fs/metrics-file.js');
  const { status } = await import('../../sweep/status.js');
  const { readEnrolment } = await import('../../adapters/fs/enrolment-files.js');
  // Every enrolled recipe, not only this sweep's: the textfile replaces the previous one whole.
  const all = status(config.stateDir, readEnrolment(config.ccciRepo), endedAt.getTime());
  attempt(() => writeMetrics(path.resolve(s.metricsFile!), metricsInput(all, s.results, endedAt.getTime())));
  return ok;
}

/** The disk guard a run checks before each harness launch (src/adapters/disk.ts). */
async function diskGuardFor(config: Config, settings: import('../../core/operator-settings.js').OperatorSettings, env: NodeJS.ProcessEnv) {
  const { diskGuard } = await import('../../adapters/disk.js');
  return diskGuard(config.stateDir, settings, env);
}

/** Webhooks for recipes whose health changed; never fails the run (src/sweep/notify.ts). */
async function notifyAfterRun(
  ctx: { config: Config; log: Logger; env: NodeJS.ProcessEnv; now: () => Date; signal?: AbortSignal }, settings: import('../../core/operator-settings.js').OperatorSettings,
  results: import('../../core/sweep-types.js').RunResult[],
): Promise<void> {
  if (settings.notify.length === 0) return;
  const { notifyChanges } = await import('../../sweep/notify.js');
  await notifyChanges(ctx, settings.notify, results);
}
