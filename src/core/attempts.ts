// What a recipe's history says, as pure functions of its entries: how long its tests take, whether the
// newest release already went red under unchanged conditions, and its last attempt and promotion.
import type { AttemptEntry, HistoryEntry, PromotionEntry } from './canonical-record.js';

/** Entries come validated from readHistory (canonical.ts), so their fields have the types declared. */
export type Attempt = AttemptEntry;

/** `--test-timeout` when not given. */
export const DEFAULT_TEST_TIMEOUT_MS = 90 * 60_000;

/** The timeout a harness runs under: 0 or absent means none (null). */
export function effectiveTimeout(ms: number | undefined): number | null {
  return ms ? ms : null;
}

export function attempts(entries: HistoryEntry[]): Attempt[] {
  return entries.filter((e): e is Attempt => e.type === 'attempt');
}

export function lastPromotion(entries: HistoryEntry[]): PromotionEntry | null {
  return entries.filter((e): e is PromotionEntry => e.type === 'promotion').at(-1) ?? null;
}

/** Median duration of past harness runs that ran to an end (not interrupted), or null with none. */
export function medianDurationMs(entries: HistoryEntry[]): number | null {
  const d = attempts(entries)
    .filter((a) => a.outcome !== 'interrupted' && a.outcome !== 'error' && Number.isFinite(a.durationMs))
    .map((a) => a.durationMs)
    .sort((x, y) => x - y);
  if (d.length === 0) return null;
  const mid = Math.floor(d.length / 2);
  return d.length % 2 ? d[mid]! : Math.round((d[mid - 1]! + d[mid]!) / 2);
}

/** The conditions a test result depends on; if none changed, neither will the result. */
export interface Conditions {
  tag: string;
  tagCommit: string | undefined;
  ccciCommit: string | null;
  ccciRun: string;
  /** The test timeout a run would get now (ms; null: none). */
  testTimeoutMs: number | null;
}

/**
 * Whether a `timeout` attempt run under `recorded` says anything about a run under `current`: only when the
 * time it would get now is no longer than it had (null = no limit). An attempt that did not record its
 * timeout says nothing.
 */
export function timeoutCovers(recorded: number | null | undefined, current: number | null): boolean {
  if (recorded === undefined) return false;
  if (recorded === null) return true;
  return current !== null && current <= recorded;
}

const FAILED = new Set(['red', 'timeout']);

/**
 * The newest attempt of this tag, when it failed (red or timeout) with the same tag commit, the same cc-ci
 * repo commit and the same cc-ci-run: re-running it could only fail the same way. A timeout is a verdict only
 * under a test timeout no longer than the one it hit: after raising it, the release runs again. Null otherwise.
 */
export function knownRed(entries: HistoryEntry[], c: Conditions): Attempt | null {
  const last = attempts(entries).filter((a) => a.tag === c.tag).at(-1);
  if (!last || !FAILED.has(last.outcome)) return null;
  const same = last.tagCommit === c.tagCommit && last.ccciCommit === c.ccciCommit && last.ccciRun === c.ccciRun;
  if (last.outcome === 'timeout' && !timeoutCovers(last.testTimeoutMs, c.testTimeoutMs)) return null;
  return same ? last : null;
}

/** What changed since a failed attempt, for explain: each condition that differs. */
export function changedSince(a: Attempt, c: Conditions): string[] {
  const out: string[] = [];
  if (a.tagCommit !== c.tagCommit) out.push(`tag commit ${a.tagCommit.slice(0, 10)} -> ${c.tagCommit?.slice(0, 10) ?? '?'}`);
  if (a.ccciCommit !== c.ccciCommit) out.push(`cc-ci commit ${a.ccciCommit?.slice(0, 10) ?? '-'} -> ${c.ccciCommit?.slice(0, 10) ?? '-'}`);
  if (a.ccciRun !== c.ccciRun) out.push(`cc-ci-run ${a.ccciRun} -> ${c.ccciRun}`);
  if (a.outcome === 'timeout' && !timeoutCovers(a.testTimeoutMs, c.testTimeoutMs)) {
    const ms = (t: number | null | undefined) => (t === undefined ? 'not recorded' : t === null ? 'none' : `${Math.round(t / 1000)}s`);
    out.push(`test timeout ${ms(a.testTimeoutMs)} -> ${ms(c.testTimeoutMs)}`);
  }
  return out;
}
