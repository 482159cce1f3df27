// Durations for options like --test-timeout 90m, --stop-grace 120s, --wait-lock 1h30m.
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * The longest delay a Node timer can hold (2^31-1 ms, about 24.8 days). A longer one fires after 1 ms,
 * so a `--test-timeout 999h` would stop every harness at once: such values are refused, never clamped.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The units of timer durations; spans (src/core/span.ts) add days and weeks. */
export const TIMER_UNITS: Readonly<Record<string, number>> = UNIT_MS;

/** Why a duration's text is refused: not a duration at all, or a non-zero value below the 1 ms a timer counts. */
export type DurationRefusal = 'malformed' | 'below-1ms';

/** For error lines: a non-zero value that would round to 0 ms, which every option reads as "none" or "at once". */
export const BELOW_1MS = 'is above 0 but below 1ms (it would round to 0, which means none): give 0 or at least 1ms';

/**
 * The one duration parser: `90m`, `120s`, `1h30m`, `250ms`, or a bare number of seconds, in the given
 * units. Rounded to whole milliseconds; a value that is not 0 but rounds below 1 ms is refused, never 0.
 */
export function readDuration(text: string, units: Readonly<Record<string, number>> = UNIT_MS): number | DurationRefusal {
  const t = text.trim();
  const names = Object.keys(units).sort((a, b) => b.length - a.length).join('|');
  let total: number;
  if (/^\d+(\.\d+)?$/.test(t)) total = Number(t) * 1000;
  else {
    if (!new RegExp(`^(\\d+(\\.\\d+)?(${names}))+$`).test(t)) return 'malformed';
    total = 0;
    for (const m of t.matchAll(new RegExp(`(\\d+(?:\\.\\d+)?)(${names})`, 'g'))) total += Number(m[1]) * units[m[2]!]!;
  }
  if (Number.isNaN(total)) return 'malformed';
  if (total > 0 && total < 1) return 'below-1ms';
  return Math.round(total);
}

/** Parses a timer duration; null when malformed or a non-zero value below 1 ms (see readDuration). */
export function parseDuration(text: string): number | null {
  const ms = readDuration(text);
  return typeof ms === 'number' ? ms : null;
}

/** Pure: why a duration cannot be used as a timer, or null when it can. */
export function timerProblem(ms: number): string | null {
  if (!Number.isFinite(ms) || ms > MAX_TIMER_MS) return 'must be at most 596h (about 24.8 days, the longest timer the sweep can hold)';
  if (ms < 0) return 'must not be negative';
  return null;
}

/**
 * Pure: a delay a Node timer can hold. Above 2^31-1 ms a timer fires after 1 ms instead (a poll would become a
 * tight loop), so longer delays are cut to the maximum: such a timer fires early, never at once.
 */
export function clampTimerMs(ms: number): number {
  if (Number.isNaN(ms) || ms <= 0) return 0;
  return Math.min(ms, MAX_TIMER_MS);
}
