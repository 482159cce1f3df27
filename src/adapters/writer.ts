// The sweep's named writes (fetch a release, check it out, push to the mirror, close a PR, launch a harness)
// go through a Writer, which in dry-run logs what it would have done and refuses. That is the sweep's own
// account of what it would do; the enforcement below it is src/adapters/effects.ts, where every adapter
// primitive that writes refuses in a dry-run scope unless marked read-only, so a write that skips the
// Writer is refused too.
import type { Logger } from './log.js';
import { DryRunRefusal } from '../core/errors.js';

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
