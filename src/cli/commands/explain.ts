// `ccci-sweep explain <recipe>`.
import type { Config } from '../../core/config.js';
import { EXIT } from '../../core/errors.js';
import { operatorSettings } from './operator-options.js';
import type { Io } from '../io.js';
import { context, selection } from '../context.js';
import { readUntilStopped } from '../signals.js';

export async function explainCommand(
  recipe: string, opts: { offline?: boolean; retry?: boolean; json?: boolean; minReleaseAge?: string }, config: Config, io: Io,
): Promise<number> {
  const { explain } = await import('../../sweep/explain.js');
  const { renderExplain } = await import('../../render/explain.js');
  const enrolment = await selection(config, { recipe: [recipe] });
  const r = enrolment.recipes[0] ?? enrolment.problems[0]!;
  return readUntilStopped(io, async (signal) => {
    const ctx = await context(config, io, { dryRun: true, mirror: false, signal });
    const { inDryRun } = await import('../../adapters/effects.js');
    const settings = await operatorSettings(opts, io.env);
    const e = await inDryRun(() => explain(ctx, r.recipe, r.cadence, { ...opts, minReleaseAgeMs: settings.minReleaseAgeMs }));
    return { output: opts.json ? `${JSON.stringify(e, null, 2)}\n` : renderExplain(e), exitCode: e.decision === 'error' ? EXIT.failed : EXIT.ok };
  });
}
