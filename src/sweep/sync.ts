// Mirror-sync of every selected recipe, `syncJobs` at a time, and the read-only mirror state plan shows.
import path from 'node:path';
import PQueue from 'p-queue';
import { urlFor } from '../core/config.js';
import { recordSeenTags } from '../adapters/fs/holds-store.js';
import { isDryRun } from '../adapters/effects.js';
import type { Enrolment } from '../core/enrolment.js';
import { mirrorState } from './mirror-state.js';
import type { MirrorState } from '../core/mirror-state.js';
import type { RemoteRefs } from '../adapters/git-refs.js';
import { syncMirror } from './mirror-sync.js';
import type { SyncResult } from '../core/sync-result.js';
import type { SweepContext } from './context.js';
import type { SyncOptionsCli } from '../core/sweep-types.js';

export async function mirrorStateOf(
  ctx: SweepContext, recipe: string, upstream?: Promise<RemoteRefs>,
): Promise<{ state: MirrorState; detail: string }> {
  const m = ctx.mirror;
  if (!m) return { state: 'not-configured', detail: 'no --mirror-url: mirror-sync is skipped' };
  return mirrorState(
    { recipe, upstreamUrl: urlFor(ctx.config.upstreamUrl, recipe), mirrorUrl: urlFor(m.mirrorUrl, recipe), cloneDir: path.join(ctx.config.recipesDir, recipe) },
    { token: m.token, log: ctx.log, upstream, env: ctx.env, signal: ctx.signal },
  );
}

/** Syncs every selected recipe's mirror, `syncJobs` at a time; one recipe's failure never stops the others. */
export async function syncMirrors(ctx: SweepContext, enrolment: Enrolment, opts: SyncOptionsCli = {}): Promise<SyncResult[]> {
  const m = ctx.mirror;
  if (!m) return [];
  const queue = new PQueue({ concurrency: Math.max(1, opts.syncJobs ?? 4) });
  const results = await Promise.all(
    enrolment.recipes.map((r) =>
      queue.add(async (): Promise<SyncResult> => {
        if (ctx.signal?.aborted) {
          return { recipe: r.recipe, outcome: 'error', tagsAdded: [], tagConflicts: [], prsClosed: [], wouldDo: [], error: { step: 'ls-remote', message: 'sweep was stopped' } };
        }
        ctx.onEvent?.({ recipe: r.recipe, state: 'syncing', at: ctx.now().getTime() });
        const result = await syncMirror(
          {
            recipe: r.recipe, upstreamUrl: urlFor(ctx.config.upstreamUrl, r.recipe), mirrorUrl: urlFor(m.mirrorUrl, r.recipe),
            cloneDir: path.join(ctx.config.recipesDir, r.recipe), giteaApi: m.giteaApi,
          },
          {
            token: m.token, writer: ctx.writer, log: ctx.log, signal: ctx.signal, env: ctx.env,
            // Release ages count from when a run or a sync first saw a tag; a dry-run records nothing.
            onUpstreamTags: isDryRun() ? undefined : (tags) => recordSeenTags(ctx.config.stateDir, r.recipe, tags, ctx.now(), (msg) => ctx.log.warn({ recipe: r.recipe }, msg)),
          },
        );
        ctx.log.info({ recipe: r.recipe, sync: result.outcome, tagsAdded: result.tagsAdded.length, prsClosed: result.prsClosed }, 'mirror-sync');
        ctx.onEvent?.({ recipe: r.recipe, state: 'queued', at: ctx.now().getTime() });
        return result;
      }),
    ),
  );
  return results;
}

// ---------------------------------------------------------------------------------------------------------
// run
