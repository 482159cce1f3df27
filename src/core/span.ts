// Spans an operator gives in days as often as in minutes: `--until 7d`, `--min-release-age 2d`. A superset
// of the sweep's timer durations (src/core/duration.ts): these are compared with clocks, never put in a timer.
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** The longest span accepted: a date this far out still has an ISO-8601 form (100 years). */
export const MAX_SPAN_MS = 100 * 365 * 86_400_000;

/** Parses `90m`, `36h`, `2d`, `1w`, `1d12h`, or a bare number of seconds; null when malformed or over 100 years. */
export function parseSpan(text: string): number | null {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return within(Math.round(Number(t) * 1000));
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/.test(t)) return null;
  let total = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return within(Math.round(total));
}

const within = (ms: number) => (Number.isFinite(ms) && ms <= MAX_SPAN_MS ? ms : null);

/** `2d`, `3h`, `15m`: the largest unit that fits, for one human sentence. */
export function spanWords(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) {
    if (ms >= size) return `${Math.round(ms / size)}${unit}`;
  }
  return `${Math.max(0, Math.round(ms / 1000))}s`;
}
