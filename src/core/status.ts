// One recipe's status as `status` shows it (pure type).
import type { Cadence } from './enrolment.js';
import type { ActiveHolds, HoldInfo, TagHold } from './holds.js';

export interface StatusEntry {
  recipe: string;
  cadence: Cadence;
  canonical: { version: string; commit: string; promotedAt: string | null; ageSeconds: number | null } | null;
  lastAttempt: { tag: string; outcome: string; exitCode: number | null; durationMs: number; endedAt: string; by: string; log: string } | null;
  lastPromotion: { version: string; commit: string; promotedAt: string } | null;
  /** Kept for tooling that read the first status format. */
  lastOutcome: string | null;
  lastTag: string | null;
  lastAttemptAt: string | null;
  lastLog: string | null;
  /** The recipe's hold in force; absent when none. */
  hold?: HoldInfo;
  /** Its held releases in force; absent when none. */
  heldTags?: TagHold[];
  /** Holds that ran out (they no longer apply; `release` clears them); absent when none. */
  expiredHolds?: ActiveHolds['expired'];
  /** The last `verify` of the canonical; absent when never verified. */
  lastVerify?: { tag: string; outcome: string; endedAt: string; log: string };
  error?: string;
}
