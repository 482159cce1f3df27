// The one executor interface: launch one recipe's test, get its RunResult. `local` runs today's path on
// this host (src/sweep/run-recipe.ts); the CI executors dispatch a build that runs `ccci-sweep worker`.
import type { PlanOptions, Planned, RunResult, SyncOptionsCli } from '../core/sweep-types.js';
import type { PrefetchedReleases } from '../adapters/git.js';

export interface Executor {
  /** True when tests run elsewhere: this host needs no cc-ci-run and checks nothing out. */
  readonly remote: boolean;
  /** Once, before the first launch, with every recipe this sweep will test (e.g. adopt running builds). */
  prepare?(toRun: readonly Planned[]): Promise<void>;
  /**
   * One recipe's test. `harnessDone`, when the executor calls it, frees this recipe's `--jobs` slot before
   * the promise settles: the test itself is over and what is left (gate, promotion, restore) touches only
   * this recipe. An executor that never calls it holds the slot until the result.
   */
  launch(p: Planned, run: RecipeRun, testing: () => void, harnessDone?: () => void): Promise<RunResult>;
}

export interface RunOptions extends PlanOptions, SyncOptionsCli {
  /** Mirror-sync first (default true when a mirror URL is configured). */
  sync?: boolean;
  jobs?: number;
  testTimeoutMs?: number;
  stopGraceMs?: number;
  /** Where each recipe's test runs (default: this host, through runRecipe). */
  executor?: Executor;
  /** `run --tag` on a release at or below the canonical: test it and, when green, make it the canonical. */
  allowDowngrade?: boolean;
  /** Checked right before each harness launch: why none may start now (a full disk), or null. */
  diskGuard?: () => string | null;
}

export interface RecipeRun extends RunOptions {
  ccciRun: string;
  ccciCommit: string | null;
  /** The upgrade base the harness gets, when not this host's canonical (a CI worker is told it). */
  upgradeBase?: string | null;
  /** Fields every history line of this run carries (a CI worker's sweep id and build). */
  attemptExtra?: Record<string, unknown>;
  /** `verify` (src/sweep/verify.ts): the canonical's tag tested quickly (CCCI_QUICK, CCCI_VERIFY), never promoted. */
  verify?: boolean;
  /** What the local executor read of every clone before the first test (src/adapters/git.ts prefetchReleases). */
  prefetched?: PrefetchedReleases | null;
}
