// Spans an operator gives in days as often as in minutes: `--until 7d`, `--min-release-age 2d`. A superset
// of the sweep's timer durations (src/core/duration.ts): these are compared with clocks, never put in a timer.
import { type DurationRefusal, readDuration, TIMER_UNITS } from './duration.js';

const SPAN_UNITS: Record<string, number> = { ...TIMER_UNITS, d: 86_400_000, w: 604_800_000 };

/** The longest span accepted: a date this far out still has an ISO-8601 form (100 years). */
export const MAX_SPAN_MS = 100 * 365 * 86_400_000;

/**
 * `90m`, `36h`, `2d`, `1w`, `1d12h`, or a bare number of seconds, read by the one duration parser; over
 * 100 years is malformed, a non-zero value below 1 ms is refused.
 */
export function readSpan(text: string): number | DurationRefusal {
  const ms = readDuration(text, SPAN_UNITS);
  return typeof ms === 'number' && within(ms) === null ? 'malformed' : ms;
}

/** readSpan, or null when refused (malformed, over 100 years, or a non-zero value below 1 ms). */
export function parseSpan(text: string): number | null {
  const ms = readSpan(text);
  return typeof ms === 'number' ? ms : null;
}

const within = (ms: number) => (Number.isFinite(ms) && ms <= MAX_SPAN_MS ? ms : null);

/** `2d`, `3h`, `15m`: the largest unit that fits, for one human sentence. */
export function spanWords(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) {
    if (ms >= size) return `${Math.round(ms / size)}${unit}`;
  }
  return `${Math.max(0, Math.round(ms / 1000))}s`;
}
