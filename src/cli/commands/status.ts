// `ccci-sweep status`.
import type { Config } from '../../core/config.js';
import { EXIT } from '../../core/errors.js';
import type { Io } from '../io.js';
import type { CommonOpts } from '../program.js';
import { selection } from '../context.js';

export async function statusCommand(opts: CommonOpts, config: Config, io: Io): Promise<number> {
  const { status } = await import('../../sweep/status.js');
  const { renderStatus } = await import('../../render/report.js');
  const { createLogger } = await import('../../adapters/log.js');
  const log = createLogger({ env: io.env });
  const { inDryRun } = await import('../../adapters/effects.js');
  const enrolment = await selection(config, opts);
  // status only reads the state dir: any write below it is refused.
  const entries = inDryRun(() => status(config.stateDir, enrolment, Date.now(), (recipe, message) => log.warn({ recipe }, message)));
  io.stdout(opts.json ? `${JSON.stringify({ recipes: entries }, null, 2)}\n` : renderStatus(entries));
  return entries.some((e) => e.error) ? EXIT.failed : EXIT.ok;
}
