// `ccci-sweep rollback <recipe> --reason TEXT`: hold the canonical's release, test the newest release below
// it (downgrade allowed), promote it on green. Takes the host lock like run; exit codes as run.
import type { Command } from 'commander';
import type { CommandKit } from '../program.js';
import { EXIT, UsageError } from '../../core/errors.js';
import { operatorSettings, withDiskGuard, withNotify } from './operator-options.js';

interface RollbackOpts {
  reason: string; json?: boolean; sync?: boolean; waitLock?: number; stopGrace?: number; testTimeout?: number; metricsFile?: string;
}

export function registerRollback(program: Command, kit: CommandKit, opts: { duration: (v: string) => number; defaultTestTimeoutMs: number }): void {
  const { io, done } = kit;
  withNotify(withDiskGuard(kit.withGlobals(program.command('rollback')
    .description("hold the canonical's release and test the newest release below it; on green it becomes the canonical"))))
    .argument('<recipe>', 'an enrolled recipe with a canonical')
    .requiredOption('--reason <text>', 'why (the hold of the release rolled back from)')
    .option('--no-sync', 'skip mirror-sync')
    .option('--wait-lock <duration>', 'wait this long for another sweep to finish (default: exit 3 at once)', opts.duration)
    .option('--stop-grace <duration>', 'after SIGTERM, how long the harness may tear down before SIGKILL', opts.duration, 120_000)
    .option('--test-timeout <duration>', 'per harness run and seed script; 0: none', opts.duration, opts.defaultTestTimeoutMs)
    .option('--metrics-file <path>', 'write Prometheus metrics here, atomically')
    .option('--json', 'print one JSON document on stdout')
    .action(async function (this: Command, recipe: string) {
      const o = this.opts<RollbackOpts>();
      const config = kit.configFrom(o as unknown as Record<string, unknown>);
      if (o.reason.trim() === '') throw new UsageError('--reason is empty: say why, it becomes the hold of the release rolled back from');
      const enrolment = await kit.selection(config, { recipe: [recipe] });
      const settings = await operatorSettings(o, io.env);
      const { rollback } = await import('../../sweep/rollback.js');
      const { renderSummary, summaryJson, runSucceeded } = await import('../../render/report.js');
      const { diskGuard } = await import('../../adapters/disk.js');
      const startedAt = new Date();
      const stop = kit.stopOnSignals(io);
      try {
        const ctx = await kit.context(config, io, { dryRun: false, signal: stop.signal, mirror: o.sync !== false });
        const { refuseUnusableProxies } = await import('../context.js');
        await refuseUnusableProxies(ctx.env, { mirror: ctx.mirror, notify: settings.notify });
        const lock = await kit.hostLockUnlessStopped(ctx, 'rollback', o.waitLock ?? 0, stop, io);
        if (!lock) return done(stop.exitCode()!);
        try {
          const r = await rollback(ctx, enrolment, o.reason, {
            sync: o.sync, testTimeoutMs: o.testTimeout, stopGraceMs: o.stopGrace, recordSeenTags: true,
            diskGuard: diskGuard(config.stateDir, settings),
          });
          io.stdout(o.json
            ? `${JSON.stringify({ held: r.held, target: r.target, ...summaryJson(r.results) }, null, 2)}\n`
            : `held ${r.held.tag} of ${recipe}: ${r.held.hold.reason}\nrolling back to ${r.target}\n${renderSummary(r.results)}`);
          const recorded = await kit.recordSweep(config, io, { startedAt, results: r.results, metricsFile: o.metricsFile, argv: process.argv.slice(2) });
          if (settings.notify.length) {
            const { notifyChanges } = await import('../../sweep/notify.js');
            await notifyChanges(ctx, settings.notify, r.results);
          }
          done(stop.exitCode() ?? (runSucceeded(r.results) && recorded ? EXIT.ok : EXIT.failed));
        } finally {
          lock.release();
        }
      } finally {
        stop.dispose();
      }
    });
}
