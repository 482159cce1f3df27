// From what happened to a recipe's test to its outcome and its history lines (pure). run-recipe.ts does the
// I/O and reports each step's facts here; every outcome and every history record is decided in this file,
// so each can be tested in memory.
import type { AttemptEntry, AttemptFacts, HistoryEntry, PromotionEntry } from './canonical-record.js';
import type { Outcome, Planned, RunResult } from './sweep-types.js';
import { verifyEntry } from './verify.js';

/** How a harness run ended, as the harness adapter reports it. */
export interface HarnessEnd {
  /** The harness's own exit status; null when a signal ended it. */
  exitCode: number | null;
  signal: string | null;
  /** What ended it from our side, if anything. */
  stoppedBy: 'timeout' | 'abort' | null;
}

/** The exit statuses of the harness contract. */
export const HARNESS_EXIT = { green: 0, deadline: 142, sigterm: 143 } as const;

/** `exited 3`, or `killed by SIGKILL` when a signal ended it. */
export function exitWords(h: HarnessEnd): string {
  return h.exitCode !== null ? `exited ${h.exitCode}` : `killed by ${h.signal ?? 'a signal'}`;
}

/** The harness's verdict: green, or the outcome of a run that did not pass. `stopped`: the sweep was stopped. */
export function harnessOutcome(h: HarnessEnd, stopped: boolean): 'green' | Outcome {
  if (h.stoppedBy === 'abort' || stopped) return 'interrupted';
  if (h.stoppedBy === 'timeout' || h.exitCode === HARNESS_EXIT.deadline) return 'timeout';
  if (h.exitCode === HARNESS_EXIT.sigterm) return 'interrupted';
  return h.exitCode === HARNESS_EXIT.green ? 'green' : 'red';
}

/** Why a run that did not pass did not, in one line. */
export function failureDetail(outcome: Outcome, h: HarnessEnd): string {
  return outcome === 'timeout' && h.stoppedBy === 'timeout' ? 'test timeout reached' : `harness ${exitWords(h)}`;
}

/** Why the seed script failed, or null when it passed or was stopped by the sweep (the caller sees the signal). */
export function seedProblem(h: HarnessEnd, seedScript: string): string | null {
  if (h.stoppedBy === 'abort') return null;
  if (h.stoppedBy === 'timeout') return `seed script ${seedScript} stopped: test timeout reached`;
  return h.exitCode === 0 && h.stoppedBy === null ? null : `seed script ${seedScript} ${exitWords(h)}`;
}

/** The result of a recipe whose decision is not `run`. */
export function notRun(p: Pick<Planned, 'recipe' | 'decision' | 'reason' | 'latest' | 'error'>): RunResult {
  return {
    recipe: p.recipe, decision: p.decision, reason: p.reason, tag: p.latest,
    outcome: p.decision === 'error' ? 'error' : 'skipped', exitCode: null, durationMs: 0, log: null,
    ...(p.error ? { detail: p.error } : {}),
  };
}

export type { AttemptFacts };

/**
 * How one launched test ended, step by step:
 * - `failed`: the harness did not pass (red, timeout, interrupted);
 * - `not-promoted`: green, but the gate said no;
 * - `stopped`: green, stopped before or during promotion (`detail` says which; `recorded`: in history);
 * - `seed-failed`: the seed script failed: nothing promoted;
 * - `promoted`: the record is written (`previousVersion`, `promotedAt` from it);
 * - `error`: something failed after the launch (the adapter's message);
 * - `verified` / `verify-failed` / `verify-error`: a `verify` run, never a promotion.
 */
export type TestEnd =
  | { kind: 'failed'; outcome: Outcome; detail: string }
  | { kind: 'not-promoted'; detail: string }
  | { kind: 'stopped'; detail: string; recorded: string | null }
  | { kind: 'seed-failed'; detail: string }
  | { kind: 'promoted'; previousVersion: string | null; promotedAt: string; extra?: Record<string, unknown> }
  | { kind: 'error'; detail: string }
  | { kind: 'verified' }
  | { kind: 'verify-failed'; detail: string }
  | { kind: 'verify-stopped' }
  | { kind: 'verify-error'; detail: string };

/** The recipe's outcome for a launched test. */
export function testOutcome(end: TestEnd): Outcome {
  switch (end.kind) {
    case 'failed': return end.outcome;
    case 'not-promoted': return 'not-promoted';
    case 'stopped': case 'verify-stopped': return 'interrupted';
    case 'seed-failed': return 'promote-failed';
    case 'promoted': return 'promoted';
    case 'error': case 'verify-error': return 'error';
    case 'verified': return 'verified';
    case 'verify-failed': return 'verify-failed';
  }
}

/** The history lines a launched test leaves, in the order they are appended (none for a stopped verify). */
export function historyRecords(end: TestEnd, a: AttemptFacts): HistoryEntry[] {
  const attempt = (outcome: Outcome, detail?: string): AttemptEntry => ({ ...a, outcome, ...(detail !== undefined ? { detail } : {}) });
  switch (end.kind) {
    case 'failed': return [attempt(end.outcome)];
    case 'not-promoted': case 'seed-failed': return [attempt(testOutcome(end), end.detail)];
    case 'stopped': return [attempt('interrupted', end.recorded ?? undefined)];
    case 'error': return [attempt('error', end.detail)];
    case 'promoted': {
      const promotion: PromotionEntry = {
        type: 'promotion', recipe: a.recipe, version: a.tag, commit: a.tagCommit, previousVersion: end.previousVersion,
        ccciCommit: a.ccciCommit, promotedAt: end.promotedAt, ...end.extra,
      };
      return [attempt('promoted'), promotion];
    }
    case 'verified': return [verifyEntry(a, true)];
    case 'verify-failed': case 'verify-error': return [verifyEntry(a, false, end.detail)];
    case 'verify-stopped': return [];
  }
}
