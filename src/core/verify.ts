// `verify`: a quick re-test of each recipe's canonical through the same harness, never a promotion. Pure:
// what the harness is told and the history line that records the verdict.
import type { VerifyEntry } from './canonical-record.js';

/** Added to the usual contract variables: the harness runs its quick checks, knowing it verifies. */
export const VERIFY_ENV: Readonly<Record<string, string>> = { CCCI_QUICK: '1', CCCI_VERIFY: '1' };

export type VerifyOutcome = 'verified' | 'verify-failed';

/** The history line of one verify run; anything but a green harness is `verify-failed`. */
export function verifyEntry(
  a: { recipe: string; tag: string; tagCommit: string; exitCode: number | null; durationMs: number; log: string; startedAt: string; endedAt: string; by: string },
  green: boolean, detail?: string,
): VerifyEntry {
  return {
    type: 'verify', recipe: a.recipe, tag: a.tag, tagCommit: a.tagCommit, outcome: green ? 'verified' : 'verify-failed', exitCode: a.exitCode,
    durationMs: a.durationMs, log: a.log, startedAt: a.startedAt, endedAt: a.endedAt, by: a.by, ...(detail ? { detail } : {}),
  };
}
