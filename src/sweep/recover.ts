// Recovery at the start of a run: a crashed sweep's recipe locks are taken over and its clones put back.
import { existsSync } from 'node:fs';
import { pathPresent } from '../adapters/fs/read-file.js';
import { recipeStateDir } from '../adapters/fs/state-store.js';
import type { Enrolment } from '../core/enrolment.js';
import { messageOf } from '../core/errors.js';
import { restoreCheckout } from '../adapters/git.js';
import { type Logger, scrub } from '../adapters/log.js';
import { type LockInfo, orphanedHarness, recipeBusy, recipeLockPath, tryLock } from '../adapters/fs/lock.js';
import { startedBy, type SweepContext } from './context.js';

/** A sweep killed mid-test left its clone detached: put back what the lock says was checked out. */
export async function restoreAfterCrash(stale: LockInfo, log: Logger, env: NodeJS.ProcessEnv): Promise<void> {
  if (!stale.clone || !stale.saved) return;
  // Nothing to put back in a clone that is gone (an operator removed it): the next test clones it again.
  if (!existsSync(stale.clone)) {
    log.warn({ clone: stale.clone }, 'the clone a crashed sweep left is gone; it is cloned again when next tested');
    return;
  }
  log.warn({ clone: stale.clone, branch: stale.saved.branch, commit: stale.saved.commit }, 'restoring a clone left by a crashed sweep');
  await restoreCheckout(stale.clone, stale.saved, { env });
}

/**
 * At the start of a run: recover every selected recipe a crashed sweep left locked. Returns the recipes
 * that could not be recovered, with why: they are errors of this run, whatever their decision.
 */
export async function recoverCrashedRecipes(ctx: SweepContext, enrolment: Enrolment): Promise<Map<string, string>> {
  const failed = new Map<string, string>();
  for (const r of enrolment.recipes) {
    const file = recipeLockPath(recipeStateDir(ctx.config.stateDir, r.recipe));
    // lstat, not stat: a dangling symlink there is a damaged lock to take over, not "no lock".
    if (!pathPresent(file)) continue;
    const log = ctx.log.child({ recipe: r.recipe });
    try {
      const lock = await tryLock(file, { log, command: 'recover', by: startedBy(ctx.env), now: ctx.now, onStale: (s) => restoreAfterCrash(s, log, ctx.env) });
      if ('release' in lock) lock.release();
      else if (orphanedHarness(lock)) {
        // A crashed sweep's test still runs: leave its clone alone and start nothing; the others go on.
        const why = recipeBusy(r.recipe, lock);
        log.error({ harnessPid: lock.harness?.pid }, why);
        failed.set(r.recipe, why);
      }
    } catch (err) {
      const why = `the clone an earlier sweep left detached cannot be put back (${scrub(messageOf(err))}); fix the clone, the next run restores it`;
      log.error({ err: messageOf(err) }, why);
      failed.set(r.recipe, why);
    }
  }
  return failed;
}
