// Every timer of the sweep goes through here (the linter refuses setTimeout/setInterval elsewhere in src/):
// a delay above what a Node timer holds (2^31-1 ms, about 24.8 days) would fire after 1 ms, so a jittered
// 596h poll interval or a long wait would turn into a tight loop. Such delays are clamped to the maximum.
import { clampTimerMs } from '../core/duration.js';

/** setTimeout with the delay clamped to what a timer holds. */
export function later(fn: () => void, ms: number): NodeJS.Timeout {
  return setTimeout(fn, clampTimerMs(ms));
}

/** setInterval with the period clamped likewise. */
export function every(fn: () => void, ms: number): NodeJS.Timeout {
  return setInterval(fn, Math.max(1, clampTimerMs(ms)));
}

/** Resolves after `ms` (clamped). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => later(resolve, ms));
}
