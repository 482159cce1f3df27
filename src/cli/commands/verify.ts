// `ccci-sweep verify [--recipe R]...`: re-check each canonical quickly through cc-ci-run; never promotes.
// Takes the host lock like run (it checks out clones). Exit 0 when all verified, 1 otherwise.
import type { Command } from 'commander';
import type { CommandKit } from '../program.js';
import { EXIT } from '../../core/errors.js';
import { operatorSettings, withDiskGuard } from './operator-options.js';

interface VerifyOpts { recipe: string[]; json?: boolean; waitLock?: number; stopGrace?: number; testTimeout?: number; metricsFile?: string }

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerVerify(program: Command, kit: CommandKit, shared: { duration: (v: string) => number; defaultTestTimeoutMs: number }): void {
  const { io, done } = kit;
  withDiskGuard(kit.withGlobals(program.command('verify')
    .description("re-check each canonical: its tag through cc-ci-run with CCCI_QUICK=1 and CCCI_VERIFY=1; never promotes")))
    .option('--recipe <name>', 'only this recipe (repeatable)', collect, [])
    .option('--wait-lock <duration>', 'wait this long for another sweep to finish (default: exit 3 at once)', shared.duration)
    .option('--stop-grace <duration>', 'after SIGTERM, how long the harness may tear down before SIGKILL', shared.duration, 120_000)
    .option('--test-timeout <duration>', 'per harness run; 0: none', shared.duration, shared.defaultTestTimeoutMs)
    .option('--metrics-file <path>', 'write Prometheus metrics here (with the last verify of each recipe), atomically')
    .option('--json', 'print one JSON document on stdout')
    .action(async function (this: Command) {
      const o = this.opts<VerifyOpts>();
      const config = kit.configFrom(o as unknown as Record<string, unknown>);
      const enrolment = await kit.selection(config, { recipe: o.recipe });
      const settings = await operatorSettings(o, io.env);
      const { verifyAll, allVerified } = await import('../../sweep/verify.js');
      const { renderSummary, summaryJson } = await import('../../render/report.js');
      const { diskGuard } = await import('../../adapters/disk.js');
      const stop = kit.stopOnSignals(io);
      try {
        const ctx = await kit.context(config, io, { dryRun: false, signal: stop.signal, mirror: false });
        const lock = await kit.hostLockUnlessStopped(ctx, 'verify', o.waitLock ?? 0, stop, io);
        if (!lock) return done(stop.exitCode()!);
        try {
          const results = await verifyAll(ctx, enrolment, { testTimeoutMs: o.testTimeout, stopGraceMs: o.stopGrace, diskGuard: diskGuard(config.stateDir, settings) });
          io.stdout(o.json ? `${JSON.stringify(summaryJson(results), null, 2)}\n` : renderSummary(results));
          let written = true;
          if (o.metricsFile) written = await writeVerifyMetrics(config, o.metricsFile, io);
          done(stop.exitCode() ?? (allVerified(results) && written ? EXIT.ok : EXIT.failed));
        } finally {
          lock.release();
        }
      } finally {
        stop.dispose();
      }
    });
}

/** The metrics file as a run writes it (the last sweep's figures from last-sweep.json), now with the verifies. */
async function writeVerifyMetrics(config: import('../../core/config.js').Config, file: string, io: CommandKit['io']): Promise<boolean> {
  const path = await import('node:path');
  const { readRegularText } = await import('../../adapters/fs/read-file.js');
  const { metricsInput } = await import('../../render/metrics.js');
  const { writeMetrics } = await import('../../adapters/fs/metrics-file.js');
  const { status } = await import('../../sweep/status.js');
  const { readEnrolment } = await import('../../adapters/fs/enrolment-files.js');
  let last: { endedAt?: string; recipes?: { recipe: string; outcome: string }[] } = {};
  try {
    last = JSON.parse(readRegularText(path.join(config.stateDir, 'last-sweep.json'))) as typeof last;
  } catch {
    // no sweep yet: the sweep figures are this moment's, with no outcomes
  }
  const now = Date.now();
  const ended = last.endedAt && Number.isFinite(Date.parse(last.endedAt)) ? Date.parse(last.endedAt) : now;
  try {
    // Ages as of now; the sweep's own figures (its end, its outcomes) as the last sweep left them.
    const input = metricsInput(status(config.stateDir, readEnrolment(config.ccciRepo), now), Array.isArray(last.recipes) ? last.recipes : [], now);
    writeMetrics(path.resolve(file), { ...input, sweepEndedAt: ended });
    return true;
  } catch (err) {
    io.stderr(`ccci-sweep: ${(err as Error).message}\n`);
    return false;
  }
}
