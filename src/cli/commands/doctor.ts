// `ccci-sweep doctor`.
import type { Config } from '../../core/config.js';
import { EXIT } from '../../core/errors.js';
import { operatorSettings } from './operator-options.js';
import type { Io } from '../io.js';

export async function doctorCommand(opts: { json?: boolean }, config: Config, io: Io): Promise<number> {
  const { runDoctor } = await import('../../sweep/doctor.js');
  const { renderDoctor } = await import('../../render/doctor.js');
  const settings = await operatorSettings(opts, io.env);
  const { withDiskFigures } = await import('../../adapters/disk.js');
  const report = withDiskFigures(await runDoctor(config, io.env), config.stateDir, settings);
  io.stdout(opts.json ? `${JSON.stringify(report, null, 2)}\n` : renderDoctor(report));
  return report.ok ? EXIT.ok : EXIT.failed;
}
