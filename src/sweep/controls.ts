// What the operator controls feed into one recipe's decision: holds in force, releases still settling, and a
// requested tag. Reads the state dir only; with `recordSeenTags` (run, never plan) it also records when each
// upstream tag was first seen.
import { activeHolds } from '../core/holds.js';
import { youngTags } from '../core/release-age.js';
import { readHolds, readKnownTags, recordSeenTags } from '../adapters/fs/holds-store.js';
import type { OperatorControls, PlanOptions } from '../core/sweep-types.js';
import type { SweepContext } from './context.js';


/** Throws StateError when holds.json cannot be read: the recipe is then an error, never tested unheld. */
export function decisionControls(
  ctx: Pick<SweepContext, 'config' | 'now' | 'log'>, recipe: string, tags: ReadonlyMap<string, string>, opts: PlanOptions,
): OperatorControls {
  const now = ctx.now();
  const holds = activeHolds(readHolds(ctx.config.stateDir, recipe), now.getTime());
  const known = opts.recordSeenTags
    ? recordSeenTags(ctx.config.stateDir, recipe, tags, now, (msg) => ctx.log.warn({ recipe }, msg))
    : readKnownTags(ctx.config.stateDir, recipe);
  const shown: OperatorControls['shown'] = {};
  if (holds.hold) shown.hold = holds.hold;
  if (holds.heldTags.length > 0) shown.heldTags = holds.heldTags;
  return {
    decision: {
      held: holds.hold !== null,
      heldTags: new Set(holds.heldTags.map((t) => t.tag)),
      young: youngTags(tags, known, opts.minReleaseAgeMs ?? 0, now.getTime()),
      ...(opts.requestedTag !== undefined ? { requested: opts.requestedTag } : {}),
    },
    shown,
  };
}
