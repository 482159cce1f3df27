// The one executor interface: launch one recipe's test, get its RunResult. `local` runs today's path on
// this host (src/sweep.ts runRecipe); the CI executors dispatch a build that runs `ccci-sweep worker`.
import type { Planned, RecipeRun, RunResult } from '../sweep.js';

export interface Executor {
  /** True when tests run elsewhere: this host needs no cc-ci-run and checks nothing out. */
  readonly remote: boolean;
  /** Once, before the first launch, with every recipe this sweep will test (e.g. adopt running builds). */
  prepare?(toRun: readonly Planned[]): Promise<void>;
  launch(p: Planned, run: RecipeRun, testing: () => void): Promise<RunResult>;
}
