// `ccci-sweep worker`: one recipe's test inside a CI build.
import { readFileSync } from 'node:fs';
import type { Config } from '../../core/config.js';
import { ConfigError, EXIT, messageOf } from '../../core/errors.js';
import type { Io } from '../io.js';
import { context, selection } from '../context.js';
import { stopOnSignals } from '../signals.js';
import { every } from '../../adapters/timers.js';

/** The pid of this process's parent right now (Linux /proc), or null when it cannot be read. */
function parentPid(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : null;
  } catch {
    return null;
  }
}

/**
 * Drone's exec runner cancels a build by SIGKILL to the step's shell alone: this worker is orphaned and
 * would test on. Noticing the parent is gone, it stops as on SIGTERM (harness group stopped, clone put back).
 */
function stopWhenOrphaned(io: Io): () => void {
  const first = parentPid();
  if (first === null) return () => undefined;
  const timer = every(() => {
    const now = parentPid();
    if (now === null || now === first) return;
    clearInterval(timer);
    io.stderr('ccci-sweep: worker: the build step that started this worker is gone (cancelled?); stopping the test\n');
    process.kill(process.pid, 'SIGTERM');
  }, 250);
  timer.unref();
  return () => clearInterval(timer);
}

type WorkerOpts = { testTimeout?: number; stopGrace?: number };

export async function workerCommand(opts: WorkerOpts, config: Config, io: Io): Promise<number> {
  const { workerVars, runWorker } = await import('../../sweep/worker.js');
  const { resultLine } = await import('../../core/executor-result.js');
  const { assertWritableStateDir } = await import('../../adapters/fs/settings.js');
  // Whatever goes wrong before the test, the coordinator gets a result line saying it (when it can be
  // addressed: recipe and sweep id known), besides the one line on stderr and exit 2.
  const say = (outcome: string, detail: string) => {
    if (io.env.RECIPE && io.env.CCCI_SWEEP_ID) {
      io.stdout(`${resultLine({
        recipe: io.env.RECIPE.trim(), sweepId: io.env.CCCI_SWEEP_ID.trim(), tag: io.env.CCCI_SWEEP_TAG?.trim() || null,
        outcome, exitCode: null, durationMs: 0, log: null, detail,
      })}\n`);
    }
  };
  let setup;
  try {
    const v = workerVars(io.env);
    const enrolment = await selection(config, { recipe: [v.recipe] });
    const enrolled = enrolment.recipes[0];
    if (!enrolled) throw new ConfigError(`worker: recipe ${v.recipe} is not enrolled here: ${enrolment.problems[0]?.problem ?? 'see plan'}`);
    assertWritableStateDir(config.stateDir);
    setup = { v, cadence: enrolled.cadence };
  } catch (err) {
    const { scrub } = await import('../../adapters/log.js');
    say('error', `the runner's host refused the build: ${scrub(messageOf(err))}`);
    throw err;
  }
  const stop = stopOnSignals(io);
  const unwatch = stopWhenOrphaned(io);
  try {
    // The coordinator's CCCI_UPGRADE_BASE is passed on explicitly (unset when empty), never inherited as is.
    const { CCCI_UPGRADE_BASE: _base, ...env } = io.env;
    const ctx = await context(config, { ...io, env }, { dryRun: false, signal: stop.signal, mirror: false });
    // The harness runs on this (the runner's) host: its disks are the ones guarded.
    const { operatorSettings } = await import('./operator-options.js');
    const { diskGuard } = await import('../../adapters/disk.js');
    const guard = diskGuard(config.stateDir, await operatorSettings(opts, io.env));
    const result = await runWorker(ctx, setup.v, { cadence: setup.cadence, testTimeoutMs: opts.testTimeout, stopGraceMs: opts.stopGrace, diskGuard: guard });
    io.stdout(`${resultLine(result)}\n`);
    return stop.exitCode() ?? (result.outcome === 'promoted' ? EXIT.ok : EXIT.failed);
  } finally {
    unwatch();
    stop.dispose();
  }
}
