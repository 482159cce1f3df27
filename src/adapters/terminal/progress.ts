// Progress of a run. Off a terminal: one log line per recipe state change. On a terminal: a live block at
// the bottom of the screen (src/render/progress.ts), redrawn every second with plain ANSI. Log lines written
// to the same stream while the block is live are printed above it: erased, the line written, drawn again.
import type { SweepEvent, SweepListener } from '../../core/events.js';
import type { Logger } from '../log.js';
import { applyEvent, type RecipeProgress, renderProgress } from '../../render/progress.js';
import { every } from '../timers.js';

export interface ProgressOptions {
  stream: NodeJS.WritableStream;
  tty: boolean;
  log: Logger;
  now: () => number;
  /** Recipes tested at once (`--jobs`), for the overall ETA; default: the most seen testing at once. */
  jobs?: number;
  /** Redraw interval on a terminal; default one second. */
  tickMs?: number;
}

export interface Progress {
  listener: SweepListener;
  /** Stops redrawing and leaves the final screen in place. Safe to call more than once. */
  stop(): void;
}

const UP = (n: number) => `\x1b[${n}A\r`;
const DOWN = '\x1b[1B';
const CLEAR_LINE = '\x1b[2K';
const CLEAR_BELOW = '\x1b[J';

export function createProgress(o: ProgressOptions): Progress {
  if (!o.tty) {
    return {
      listener: (e: SweepEvent) => {
        o.log.info(
          { recipe: e.recipe, state: e.state, tag: e.tag ?? undefined, outcome: e.outcome, expectedMs: e.expectedMs ?? undefined },
          `recipe ${e.state}`,
        );
      },
      stop: () => {},
    };
  }
  return liveBlock(o);
}

function liveBlock(o: ProgressOptions): Progress {
  const now = o.now;
  const stream = o.stream as NodeJS.WriteStream;
  const startedAt = now();
  const states = new Map<string, RecipeProgress>();
  let mostTesting = 1;
  /** Lines of the block now on screen, right above the cursor. */
  let drawn = 0;
  /** Someone else left the cursor mid-line: do not draw until their line ends. */
  let midLine = false;
  let stopped = false;
  let ticker: NodeJS.Timeout | null = null;

  const originalWrite = stream.write;
  const raw = (text: string) => Reflect.apply(originalWrite, stream, [text]) as boolean;

  const frame = (final: boolean) =>
    renderProgress([...states.values()], now(), {
      startedAt, jobs: o.jobs ?? mostTesting, final,
      width: stream.columns, maxLines: final ? undefined : stream.rows ? stream.rows - 1 : undefined,
    });

  const paint = (lines: string[]) => {
    let out = drawn > 0 ? UP(drawn) : '';
    for (const l of lines) out += `${CLEAR_LINE}${l}\n`;
    raw(`${out}${CLEAR_BELOW}`);
    drawn = lines.length;
  };
  // Line by line, not with "erase below": from the top-left corner that would clear the whole screen,
  // which some terminals (tmux) first copy into the scrollback, leaving a stale block there.
  const erase = () => {
    if (drawn > 0) raw(`${UP(drawn)}${`${CLEAR_LINE}${DOWN}`.repeat(drawn)}${UP(drawn)}`);
    drawn = 0;
  };
  const redraw = () => {
    if (!stopped && !midLine && states.size > 0) paint(frame(false));
  };

  // Every other write to the stream (the log) goes above the block.
  const patchedWrite = function (this: unknown, ...args: unknown[]): boolean {
    if (stopped || states.size === 0) return Reflect.apply(originalWrite, stream, args) as boolean;
    erase();
    const ok = Reflect.apply(originalWrite, stream, args) as boolean;
    const chunk = args[0];
    const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : '';
    if (text.length > 0) midLine = !text.endsWith('\n');
    redraw();
    return ok;
  };
  stream.write = patchedWrite as typeof stream.write;

  return {
    listener: (e: SweepEvent) => {
      if (stopped) return;
      states.set(e.recipe, applyEvent(states.get(e.recipe), e));
      mostTesting = Math.max(mostTesting, [...states.values()].filter((s) => s.state === 'testing').length);
      if (ticker === null) {
        ticker = every(redraw, o.tickMs ?? 1000);
        ticker.unref();
      }
      redraw();
    },
    stop: () => {
      if (stopped) return;
      if (ticker !== null) clearInterval(ticker);
      if (stream.write === patchedWrite) stream.write = originalWrite;
      if (states.size > 0) {
        if (midLine) raw('\n');
        else erase();
        drawn = 0;
        paint(frame(true));
      }
      stopped = true;
    },
  };
}
