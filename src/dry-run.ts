// Dry-run is enforced here and only here: every write the sweep makes (files, refs, remotes, the Gitea API,
// launching a harness) goes through a Writer. In dry-run mode the Writer refuses to act and logs what it
// would have done; read paths never need one, so they still run.
import type { Logger } from './log.js';
import { DryRunRefusal } from './errors.js';

export interface Writer {
  readonly dryRun: boolean;
  /** Runs `action` unless in dry-run; then logs `what` and throws DryRunRefusal. */
  act<T>(what: string, action: () => Promise<T>): Promise<T>;
}

export function createWriter(dryRun: boolean, log: Logger): Writer {
  return {
    dryRun,
    async act<T>(what: string, action: () => Promise<T>): Promise<T> {
      if (dryRun) {
        log.info({ wouldDo: what }, 'dry-run: not acting');
        throw new DryRunRefusal(`dry-run: would ${what}`);
      }
      return action();
    },
  };
}
