// Durations for options like --test-timeout 90m, --stop-grace 120s, --wait-lock 1h30m.
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * The longest delay a Node timer can hold (2^31-1 ms, about 24.8 days). A longer one fires after 1 ms,
 * so a `--test-timeout 999h` would stop every harness at once: such values are refused, never clamped.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Parses `90m`, `120s`, `1h30m`, `250ms`, or a bare number of seconds. Returns null when malformed. */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(t)) return null;
  let total = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return Math.round(total);
}

/** Pure: why a duration cannot be used as a timer, or null when it can. */
export function timerProblem(ms: number): string | null {
  if (!Number.isFinite(ms) || ms > MAX_TIMER_MS) return 'must be at most 596h (about 24.8 days, the longest timer the sweep can hold)';
  if (ms < 0) return 'must not be negative';
  return null;
}
