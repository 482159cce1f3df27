// `ccci-sweep sync`.
import type { Config } from '../../core/config.js';
import { ConfigError, EXIT } from '../../core/errors.js';
import type { Io } from '../io.js';
import type { CommonOpts } from '../program.js';
import { context, hostLockUnlessStopped, refuseUnusableProxies, selection } from '../context.js';
import { stopOnSignals } from '../signals.js';

type SyncOpts = CommonOpts & { dryRun?: boolean; syncJobs?: number; waitLock?: number };

export async function syncCommand(opts: SyncOpts, config: Config, io: Io): Promise<number> {
  if (!config.mirrorUrl) {
    throw new ConfigError('sync needs a mirror: set --mirror-url, CCCI_MIRROR_URL or [sweep] mirror-url');
  }
  const { syncMirrors } = await import('../../sweep/sync.js');
  const { renderSync, syncFailed } = await import('../../render/report.js');
  const enrolment = await selection(config, opts);
  const stop = stopOnSignals(io);
  try {
    const ctx = await context(config, io, { dryRun: Boolean(opts.dryRun), signal: stop.signal });
    await refuseUnusableProxies(ctx.env, { mirror: ctx.mirror });
    // A dry-run writes nothing, so it needs no lock (like plan).
    const lock = opts.dryRun ? null : await hostLockUnlessStopped(ctx, 'sync', opts.waitLock ?? 0, stop, io);
    if (!opts.dryRun && !lock) return stop.exitCode()!;
    try {
      const { inDryRun } = await import('../../adapters/effects.js');
      const sync = () => syncMirrors(ctx, enrolment, { syncJobs: opts.syncJobs });
      const results = await (opts.dryRun ? inDryRun(sync) : sync());
      io.stdout(opts.json ? `${JSON.stringify({ recipes: results }, null, 2)}\n` : renderSync(results));
      return stop.exitCode() ?? (results.some((r) => syncFailed(r)) ? EXIT.failed : EXIT.ok);
    } finally {
      lock?.release();
    }
  } finally {
    stop.dispose();
  }
}
