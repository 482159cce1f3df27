// What every sweep command runs with: config, logger, writer, env, clock, stop signal and mirror settings.
import { type Config, urlFor } from '../core/config.js';
import type { Writer } from '../adapters/writer.js';
import type { Logger } from '../adapters/log.js';
import type { SweepListener } from '../core/events.js';
import type { CrashHook } from './faults.js';
import { giteaApiFor, readTokenFile } from '../adapters/fs/token-file.js';

export interface SweepContext {
  config: Config;
  log: Logger;
  writer: Writer;
  env: NodeJS.ProcessEnv;
  now: () => Date;
  /** Aborted on SIGTERM/SIGINT: running harnesses are stopped and nothing more is promoted. */
  signal?: AbortSignal;
  /** Mirror settings; null when mirror-sync is not configured. */
  mirror?: MirrorSetup | null;
  /** Told of every recipe state change (progress display). */
  onEvent?: SweepListener;
  /** The command line, for lock files (who holds a recipe); the CLI sets it, nothing here reads argv. */
  command?: string;
  /** Test-only crash points (src/sweep/faults.ts); never set by the shipped CLI. */
  crash?: CrashHook;
}

// ---------------------------------------------------------------------------------------------------------
// plan: read-only

interface MirrorSetup {
  mirrorUrl: string;
  giteaApi: string;
  token: string | undefined;
}

/** The mirror settings, or null when no mirror URL is configured (mirror-sync is then skipped). */
export function mirrorSetup(config: Config): MirrorSetup | null {
  if (!config.mirrorUrl) return null;
  return {
    mirrorUrl: config.mirrorUrl,
    giteaApi: config.giteaApi ?? giteaApiFor(urlFor(config.mirrorUrl, 'recipe')),
    token: config.mirrorTokenFile ? readTokenFile(config.mirrorTokenFile) : undefined,
  };
}

export function startedBy(env: NodeJS.ProcessEnv): string {
  // systemd sets INVOCATION_ID for units; a by-hand run has a user.
  return env.INVOCATION_ID ? 'timer' : `operator:${env.SUDO_USER ?? env.USER ?? 'unknown'}`;
}
