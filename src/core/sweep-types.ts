// The sweep's data (pure types): a plan entry, what `run` keeps of a plan, outcomes and a recipe's result.
import type { CanonicalRecord, HistoryEntry } from './canonical-record.js';
import type { Decision, DecisionInput, Reason } from './decision.js';
import type { HoldInfo, TagHold } from './holds.js';
import type { Cadence } from './enrolment.js';
import type { MirrorState } from './mirror-state.js';
import type { SyncResult } from './sync-result.js';

/** What the operator controls feed into one recipe's decision (src/sweep/controls.ts). */
export interface OperatorControls {
  decision: Pick<DecisionInput, 'held' | 'heldTags' | 'young' | 'requested'>;
  /** The fields plan, explain and run show: only those that are set. */
  shown: { hold?: HoldInfo; heldTags?: TagHold[] };
}

export interface PlanEntry {
  recipe: string;
  cadence: Cadence;
  canonical: { version: string; commit: string } | null;
  latest: string | null;
  decision: Decision;
  reason: Reason;
  ignoredTags: string[];
  /** Why the decision is `error`, in one line. */
  error?: string;
  /** How the recipe's mirror relates to upstream (two ls-remote calls, no writes). */
  mirror?: { state: MirrorState; detail: string };
  /** Worth a look but not an error, e.g. the canonical version is no longer a tag upstream. */
  warnings?: string[];
  /** The recipe's hold in force (`ccci-sweep hold`); absent when none. */
  hold?: HoldInfo;
  /** Its held releases in force; absent when none. */
  heldTags?: TagHold[];
  /** A newer release that is no candidate yet only because it is younger than --min-release-age. */
  pending?: { tag: string; eligibleAt: string };
}

/** A plan entry plus what `run` needs to act on it without asking the remote again. */
export interface Planned extends PlanEntry {
  record: CanonicalRecord | null;
  /** Upstream's tags: tag -> commit (peeled through every tag object). */
  tags: Map<string, string>;
  /** Tags that point to a tree or blob, not a commit: never releases (also in ignoredTags). */
  notCommits: string[];
  history: HistoryEntry[];
  /** Holds, release ages and a requested tag, as the decision took them (decided again with the same). */
  controls?: OperatorControls;
  /** Upstream's default branch when the listing said (the run's fetch then need not ask again). */
  defaultBranch?: string;
}

/**
 * Upstream listings in flight at once. One request each, to what is on the real host one forge: 16 keeps
 * a plan near the network floor there without hammering it (the benchmark measures 8 to 48).
 */
export const DEFAULT_REMOTE_JOBS = 16;

export interface PlanOptions {
  offline?: boolean;
  force?: boolean;
  /** Parallel read-only remote queries; the sweep's wall time is network round trips. */
  remoteJobs?: number;
  /** Also report each mirror's state (plan only; run syncs instead). */
  mirrorState?: boolean;
  /** Run a newest release that already went red under unchanged conditions. */
  retry?: boolean;
  /** The test timeout runs get (default 90 min; 0: none); a `timeout` attempt is known-red only under it. */
  testTimeoutMs?: number;
  /** A release is a candidate only once known this long (ms; 0 or absent: at once). */
  minReleaseAgeMs?: number;
  /** run only: record when each upstream tag was first seen (plan reads that record, never writes it). */
  recordSeenTags?: boolean;
  /** `run --tag`: test this release of the (one) selected recipe instead of the newest. */
  requestedTag?: string;
}

/** What every test of this sweep would run with: the cc-ci repo's commit and the cc-ci-run executable. */
export interface SweepConditions {
  ccciCommit: string | null;
  /** Absolute path when it resolves; as configured otherwise (plan does not need it to exist). */
  ccciRun: string;
  /** The test timeout this sweep's harnesses get (ms; null: none): a timeout is known-red only under it. */
  testTimeoutMs: number | null;
}

export interface SyncOptionsCli {
  syncJobs?: number;
}

export type Outcome =
  | 'skipped' | 'promoted' | 'not-promoted' | 'promote-failed' | 'red' | 'timeout' | 'interrupted' | 'error'
  | 'verified' | 'verify-failed';

export interface RunResult {
  recipe: string;
  decision: Decision;
  reason: Reason;
  tag: string | null;
  outcome: Outcome;
  exitCode: number | null;
  durationMs: number;
  /** harness.log of this run, when a harness was launched. */
  log: string | null;
  /** One line saying why, for every outcome but skipped and promoted. */
  detail?: string;
  /** The commit the tag points to, when known. */
  commit?: string;
  /** Mirror-sync of this recipe, when it ran. */
  sync?: SyncResult;
  /** The clone could not be put back on what it had checked out (git's full reason): not a success. */
  restoreError?: string;
  /** harness.log (or seed.log) misses output: writing it failed, e.g. the disk was full. */
  logIncomplete?: true;
  /** The CI build that ran the test, when a CI executor did. */
  build?: { engine: string; number: number; url: string };
}


