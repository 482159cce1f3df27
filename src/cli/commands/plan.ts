// `ccci-sweep plan`.
import { DEFAULT_TEST_TIMEOUT_MS } from '../../core/attempts.js';
import type { Config } from '../../core/config.js';
import { EXIT } from '../../core/errors.js';
import { operatorSettings } from './operator-options.js';
import type { Io } from '../io.js';
import type { CommonOpts } from '../program.js';
import { context, selection } from '../context.js';
import { readUntilStopped } from '../signals.js';

export async function planCommand(
  opts: CommonOpts & { offline?: boolean; force?: boolean; retry?: boolean; testTimeout?: number; tag?: string; remoteJobs?: number }, config: Config, io: Io,
): Promise<number> {
  const { plan } = await import('../../sweep/plan.js');
  const settings = await operatorSettings(opts, io.env);
  const { renderPlan, planJson } = await import('../../render/report.js');
  return readUntilStopped(io, async (signal) => {
    const ctx = await context(config, io, { dryRun: true, mirror: !opts.offline, signal });
    const { inDryRun } = await import('../../adapters/effects.js');
    const enrolment = await selection(config, opts);
    // Plan only reads: every write below it is refused (src/adapters/effects.ts), whatever the code path.
    const entries = await inDryRun(() => plan(ctx, enrolment, {
      offline: opts.offline, force: opts.force, retry: opts.retry, mirrorState: !opts.offline, remoteJobs: opts.remoteJobs,
      minReleaseAgeMs: settings.minReleaseAgeMs, requestedTag: opts.tag,
      // `run --dry-run --test-timeout X` shows what that run would do; plan shows the default run.
      testTimeoutMs: opts.testTimeout ?? DEFAULT_TEST_TIMEOUT_MS,
    }));
    return {
      output: opts.json ? `${JSON.stringify(planJson(entries), null, 2)}\n` : renderPlan(entries),
      exitCode: entries.some((e) => e.decision === 'error') ? EXIT.failed : EXIT.ok,
    };
  });
}
