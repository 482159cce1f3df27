// mirrorState: a read-only look at how the mirror relates to upstream, for `plan`/`status`-style commands.
// Two ls-remote calls and, if a clone exists, local object reads for ancestry. Never writes anything.

import { messageOf } from '../core/errors.js';
import type { Logger } from '../adapters/log.js';
import { scrub } from '../adapters/log.js';
import { ancestry, isClone, localRefs, lsRemote, type RemoteRefs, short, tagsOf } from '../adapters/git-refs.js';
import { upstreamTrackingRef } from '../adapters/git.js';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from '../adapters/retry.js';
import type { MirrorState } from '../core/mirror-state.js';

export interface MirrorStateTarget {
  recipe: string;
  upstreamUrl: string;
  /** Undefined or empty: mirror-sync is not configured. */
  mirrorUrl: string | undefined;
  cloneDir: string;
}

/**
 * in-sync: same branch head, every upstream tag on the mirror at the same object.
 * behind: the mirror lacks upstream commits (fast-forwardable) or tags. diverged: the mirror's branch has
 * commits upstream lacks, or a tag differs. unknown: a remote could not be read, or ancestry needs objects
 * the clone does not have.
 */
export async function mirrorState(
  t: MirrorStateTarget,
  opts: {
    token?: string; log: Logger; timeoutMs?: number; retry?: RetryPolicy; env: NodeJS.ProcessEnv; signal?: AbortSignal;
    /** Upstream's listing (`ls-remote --symref`) when the caller already asks for it: one connection saved. */
    upstream?: Promise<RemoteRefs>;
  },
): Promise<{ state: MirrorState; detail: string }> {
  if (!t.mirrorUrl) return { state: 'not-configured', detail: 'no mirror URL configured' };
  const mirrorUrl = t.mirrorUrl;
  const log = opts.log.child({ recipe: t.recipe });
  const retry = opts.retry ?? DEFAULT_RETRY;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const base = { timeoutMs, env: opts.env, signal: opts.signal };
  let up, mirror;
  try {
    [up, mirror] = await Promise.all([
      opts.upstream ?? withRetry('ls-remote upstream', retry, log, () => lsRemote(t.upstreamUrl, true, base), opts.signal),
      withRetry('ls-remote mirror', retry, log, () =>
        lsRemote(mirrorUrl, false, { ...base, token: opts.token, authUrl: mirrorUrl }), opts.signal),
    ]);
  } catch (err) {
    return { state: 'unknown', detail: scrub(messageOf(err)) };
  }
  const branch = up.defaultBranch;
  const upHead = branch ? up.refs.get(`refs/heads/${branch}`) : undefined;
  if (!branch || !upHead) return { state: 'unknown', detail: 'upstream reports no default branch' };
  const mirrorHead = mirror.refs.get(`refs/heads/${branch}`);
  const mirrorTags = tagsOf(mirror);
  let missingTags = 0;
  const differing: string[] = [];
  for (const [tag, sha] of tagsOf(up)) {
    const theirs = mirrorTags.get(tag);
    if (theirs === undefined) missingTags++;
    else if (theirs !== sha) differing.push(tag);
  }
  const tagNote = [
    missingTags ? `${missingTags} tags missing on mirror` : '',
    differing.length ? `tags differ: ${differing.join(', ')}` : '',
  ].filter(Boolean).join('; ');
  const withTags = (s: string): string => (tagNote ? `${s}; ${tagNote}` : s);

  let branchState: 'same' | 'behind' | 'diverged' | 'unknown';
  if (mirrorHead === upHead) branchState = 'same';
  else if (mirrorHead === undefined) branchState = 'behind';
  else {
    try {
      const a = await ancestry(t.cloneDir, mirrorHead, upHead, base);
      branchState = a === 'yes' ? 'behind' : a === 'no' ? 'diverged' : 'unknown';
      // Upstream moved past what the clone has. If the mirror still sits exactly where upstream was at the
      // last sync, it is behind (a sync would fast-forward it, or report a rewrite of upstream as diverged).
      if (branchState === 'unknown' && isClone(t.cloneDir)) {
        const synced = (await localRefs(t.cloneDir, [upstreamTrackingRef(branch)], base)).get(upstreamTrackingRef(branch));
        if (synced === mirrorHead) branchState = 'behind';
      }
    } catch (err) {
      log.debug(`ancestry check failed: ${messageOf(err)}`);
      branchState = 'unknown';
    }
  }
  const range = `${branch} ${short(mirrorHead)}..${short(upHead)}`;
  if (branchState === 'diverged') return { state: 'diverged', detail: withTags(`mirror ${branch} ${short(mirrorHead)} has commits upstream ${short(upHead)} lacks`) };
  if (differing.length > 0) return { state: 'diverged', detail: withTags(branchState === 'same' ? `${branch} at ${short(upHead)}` : range) };
  if (branchState === 'unknown') return { state: 'unknown', detail: withTags(`${range}: clone lacks the objects to tell`) };
  if (branchState === 'behind' || missingTags > 0) {
    return { state: 'behind', detail: withTags(branchState === 'same' ? `${branch} at ${short(upHead)}` : range) };
  }
  return { state: 'in-sync', detail: `${branch} at ${short(upHead)}, ${mirrorTags.size} tags` };
}
