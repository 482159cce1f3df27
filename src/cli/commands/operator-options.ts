// Options of the operator controls that several commands share (plan, run, explain, rollback, verify, doctor).
import type { Command } from 'commander';
import type { OperatorFlags, OperatorSettings } from '../../core/operator-settings.js';

const collect = (value: string, previous: string[]) => [...previous, value];

export function withReleaseAge(cmd: Command): Command {
  return cmd.option('--min-release-age <span>', 'a release is a candidate only once the sweep has known it this long (36h, 2d) [env CCCI_MIN_RELEASE_AGE]');
}

export function withDiskGuard(cmd: Command): Command {
  return cmd
    .option('--min-free <limit>', 'free space needed before each harness launch: a size (5G) or a percentage (default 10%) [env CCCI_MIN_FREE]')
    .option('--disk-path <dir>', 'also check this file system (repeatable; default the docker data root when it exists) [env CCCI_DISK_PATH]', collect, []);
}

export function withNotify(cmd: Command): Command {
  return cmd.option('--notify <url>', 'POST a JSON message here when a recipe\'s health changes (repeatable) [env CCCI_NOTIFY]', collect, []);
}

/** The operator settings from a command's parsed options, env and the settings file (ConfigError: exit 2). */
export async function operatorSettings(options: object, env: NodeJS.ProcessEnv): Promise<OperatorSettings> {
  const { loadOperatorSettings } = await import('../../adapters/fs/operator-settings.js');
  const opts = options as Record<string, unknown>;
  const flags: OperatorFlags = {
    minReleaseAge: opts.minReleaseAge as string | undefined,
    minFree: opts.minFree as string | undefined,
    diskPath: opts.diskPath as string[] | undefined,
    notify: opts.notify as string[] | undefined,
  };
  const settings = loadOperatorSettings(flags, env, process.cwd());
  // Webhook URLs carry their secret: scrubbed everywhere, never in a harness's environment.
  const { registerNotifyUrl } = await import('../../adapters/secrets.js');
  for (const url of settings.notify) registerNotifyUrl(url);
  return settings;
}
