// Progress of a run. Off a terminal: one log line per recipe state change.
import type { SweepEvent, SweepListener } from './events.js';
import type { Logger } from './log.js';

export interface ProgressOptions {
  stream: NodeJS.WritableStream;
  tty: boolean;
  log: Logger;
  now?: () => number;
}

export interface Progress {
  listener: SweepListener;
  /** Stops redrawing and leaves the final screen in place. */
  stop(): void;
}

export function createProgress(o: ProgressOptions): Progress {
  return {
    listener: (e: SweepEvent) => {
      o.log.info({ recipe: e.recipe, state: e.state, tag: e.tag ?? undefined, outcome: e.outcome }, `recipe ${e.state}`);
    },
    stop: () => {},
  };
}
