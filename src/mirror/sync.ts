// syncMirror: make the recipe's mirror a faithful copy of upstream, fast-forward only, and close mirror PRs
// that upstream already contains. The local clone is used for objects and ancestry, never for its remotes:
// every network operation names its URL and refspecs explicitly.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Writer } from '../dry-run.js';
import { DryRunRefusal, MirrorError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { scrub } from '../log.js';
import { UPSTREAM_TAGS, upstreamTrackingRef } from '../git.js';
import { giteaClient } from './gitea.js';
import { runGit } from './git-run.js';
import {
  ancestry, isClone, localRefs, lsRemote, missingObjects, neutralCwd, short, tagsOf, type Ancestry,
} from './refs.js';
import { AuthFailure, DEFAULT_RETRY, withRetry, type RetryPolicy } from './retry.js';
import { ownerRepoOf } from './token.js';

export interface MirrorTarget {
  recipe: string;
  upstreamUrl: string;
  /** Gitea repo URL; owner/repo for the API are its last two path segments. */
  mirrorUrl: string;
  /** Local recipe clone: cloned from upstreamUrl when missing. */
  cloneDir: string;
  /** Gitea API base, e.g. giteaApiFor(mirrorUrl). */
  giteaApi: string;
}

export type SyncOutcome = 'in-sync' | 'updated' | 'diverged' | 'tag-conflict' | 'error';
export type SyncStep = 'ls-remote' | 'fetch' | 'push-branch' | 'push-tags' | 'pulls' | 'token';

/**
 * What happened (or, in dry-run, what would have happened: `wouldDo` lists the refused writes).
 * Outcome precedence: error > diverged > tag-conflict > updated > in-sync; closing PRs alone is not "updated".
 */
export interface SyncResult {
  recipe: string;
  outcome: SyncOutcome;
  /** Upstream's default branch. */
  branch?: string;
  /** Mirror's branch head before the sync; null when the mirror lacked the branch. */
  branchFrom?: string | null;
  /** Upstream's branch head (pushed unless diverged). */
  branchTo?: string;
  tagsAdded: string[];
  /** Tags present on both sides at different (unpeeled) objects; never overwritten. */
  tagConflicts: { tag: string; upstream: string; mirror: string }[];
  prsClosed: number[];
  /** Dry-run only: descriptions of the writes that were refused. */
  wouldDo: string[];
  /** step 'token' means the mirror or Gitea refused the token (HTTP 401/403), whatever the step. */
  error?: { step: SyncStep; message: string };
}

export interface SyncOptions {
  /** Mirror token; without it pushes go unauthenticated and PR reconciliation is skipped. */
  token: string | undefined;
  writer: Writer;
  log: Logger;
  /** Per git network operation; default 120 s. */
  timeoutMs?: number;
  /** Per Gitea HTTP call; default 30 s. */
  httpTimeoutMs?: number;
  retry?: RetryPolicy;
}

/** Where upstream's default branch is fetched to in the clone (the clone's own remotes are never used). */
export { upstreamTrackingRef };
/** Landing zone for upstream's tags; refs/tags/* itself only gains tags it lacks (see updateLocalRefs). */


export async function syncMirror(t: MirrorTarget, opts: SyncOptions): Promise<SyncResult> {
  const log = opts.log.child({ recipe: t.recipe });
  const retry = opts.retry ?? DEFAULT_RETRY;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const res: SyncResult = { recipe: t.recipe, outcome: 'in-sync', tagsAdded: [], tagConflicts: [], prsClosed: [], wouldDo: [] };
  const mirrorGit = { token: opts.token, authUrl: t.mirrorUrl, timeoutMs };
  let step: SyncStep = 'ls-remote';

  /** Runs a write through the Writer; in dry-run records what it would have done and returns false. */
  const act = async (what: string, fn: () => Promise<unknown>): Promise<boolean> => {
    try {
      await opts.writer.act(what, fn);
      return true;
    } catch (err) {
      if (!(err instanceof DryRunRefusal)) throw err;
      res.wouldDo.push(what);
      return false;
    }
  };
  const net = <T>(what: string, fn: () => Promise<T>): Promise<T> => withRetry(what, retry, log, fn);

  try {
    // 1. Both sides' refs, one connection each, in parallel.
    const [up, mirror] = await Promise.all([
      net('ls-remote upstream', () => lsRemote(t.upstreamUrl, true, { cwd: neutralCwd(t.cloneDir), timeoutMs })),
      net('ls-remote mirror', () => lsRemote(t.mirrorUrl, false, { cwd: neutralCwd(t.cloneDir), ...mirrorGit })),
    ]);
    const branch = up.defaultBranch;
    if (!branch) throw new MirrorError(`upstream ${t.upstreamUrl} did not report a default branch (HEAD)`);
    const upHead = up.refs.get(`refs/heads/${branch}`);
    if (!upHead) throw new MirrorError(`upstream ${t.upstreamUrl} has no branch ${branch}`);
    const mirrorHead = mirror.refs.get(`refs/heads/${branch}`) ?? null;
    const upTags = tagsOf(up);
    const mirrorTags = tagsOf(mirror);
    Object.assign(res, { branch, branchFrom: mirrorHead, branchTo: upHead });

    // 2. The clone must hold upstream's head and tag objects; fetch only if it lacks some.
    step = 'fetch';
    if (!isClone(t.cloneDir)) {
      await act(`clone ${t.upstreamUrl} into ${t.cloneDir}`, async () => {
        mkdirSync(path.dirname(t.cloneDir), { recursive: true });
        await net('clone upstream', () =>
          runGit(['clone', '--quiet', '--', t.upstreamUrl, t.cloneDir], { cwd: path.dirname(t.cloneDir), timeoutMs }));
      });
    }
    if (isClone(t.cloneDir)) {
      const wanted = [upHead, ...upTags.values()];
      let present = (await missingObjects(t.cloneDir, wanted)).size === 0;
      if (!present) {
        const fetched = await act(`fetch ${branch} ${short(upHead)} and ${upTags.size} tags from ${t.upstreamUrl} into ${t.cloneDir}`, () =>
          net('fetch upstream', () =>
            runGit(['fetch', '--quiet', '--no-tags', '--prune', '--no-write-fetch-head', '--recurse-submodules=no', '--', t.upstreamUrl,
              `+refs/heads/${branch}:${upstreamTrackingRef(branch)}`, `+refs/tags/*:${UPSTREAM_TAGS}/*`], { cwd: t.cloneDir, timeoutMs })));
        if (fetched) {
          const still = await missingObjects(t.cloneDir, wanted);
          if (still.size > 0) throw new MirrorError(`upstream changed during the sync (${still.size} objects not fetched); run again`);
          present = true;
        }
      }
      if (present) await updateLocalRefs(t.cloneDir, branch, upHead, upTags, act, log);
    }

    // 3. Branch: fast-forward only. No '+' and no --force, so the server also refuses a non-fast-forward.
    step = 'push-branch';
    let relation: Ancestry | 'same' | 'absent' = 'absent';
    if (mirrorHead === upHead) relation = 'same';
    else if (mirrorHead !== null) relation = await ancestry(t.cloneDir, mirrorHead, upHead);
    let changed = false;
    if (relation === 'no') {
      log.warn(`mirror ${branch} ${short(mirrorHead)} has commits upstream ${short(upHead)} lacks: not pushed`);
    } else if (relation !== 'same') {
      // 'unknown' only happens in dry-run (nothing fetched): the push is described, and refused anyway.
      const caveat = relation === 'unknown' ? ' if it is a fast-forward' : '';
      const pushed = await act(`push ${branch} ${short(mirrorHead)}..${short(upHead)} to mirror ${t.mirrorUrl}${caveat}`, () =>
        net('push branch', () => runGit(pushArgs(t.mirrorUrl, [`${upHead}:refs/heads/${branch}`]), { cwd: t.cloneDir, ...mirrorGit })));
      if (pushed) log.info(`pushed ${branch} ${short(mirrorHead)}..${short(upHead)} to mirror`);
      changed = true;
    }

    // 4. Tags the mirror lacks, in one push; a tag at a different object is reported, never overwritten.
    step = 'push-tags';
    const toPush: string[] = [];
    for (const [tag, sha] of [...upTags].sort(([a], [b]) => a.localeCompare(b))) {
      const theirs = mirrorTags.get(tag);
      if (theirs === undefined) toPush.push(tag);
      else if (theirs !== sha) res.tagConflicts.push({ tag, upstream: sha, mirror: theirs });
    }
    if (toPush.length > 0) {
      const pushed = await act(`push ${toPush.length} tags (${toPush.join(', ')}) to mirror ${t.mirrorUrl}`, () =>
        net('push tags', () =>
          runGit(pushArgs(t.mirrorUrl, toPush.map((tag) => `${upTags.get(tag)}:refs/tags/${tag}`)), { cwd: t.cloneDir, ...mirrorGit })));
      if (pushed) log.info(`pushed tags ${toPush.join(', ')} to mirror`);
      res.tagsAdded = toPush;
      changed = true;
    }
    for (const c of res.tagConflicts) {
      log.warn(`tag ${c.tag} differs: upstream ${short(c.upstream)}, mirror ${short(c.mirror)}; left as it is`);
    }
    res.outcome = relation === 'no' ? 'diverged' : res.tagConflicts.length > 0 ? 'tag-conflict' : changed ? 'updated' : 'in-sync';

    // 5. Close mirror PRs whose head upstream already contains.
    step = 'pulls';
    if (!opts.token) {
      log.warn('no mirror token: PR reconciliation skipped');
    } else {
      const { owner, repo } = ownerRepoOf(t.mirrorUrl);
      const gitea = giteaClient({ api: t.giteaApi, owner, repo, token: opts.token, timeoutMs: opts.httpTimeoutMs ?? 30_000, retry, log });
      for (const pr of await gitea.listOpenPulls()) {
        // Unknown (e.g. dry-run without the upstream objects) counts as not contained: the PR is left alone.
        if ((await ancestry(t.cloneDir, pr.headSha, upHead)) !== 'yes') continue;
        const body = `Closed by ccci-sweep: this PR's head ${pr.headSha} is already contained in upstream ` +
          `${branch} at ${upHead} (${t.upstreamUrl}).`;
        await act(`comment on PR #${pr.number} of ${owner}/${repo} (head ${short(pr.headSha)} is in upstream ${short(upHead)})`, () =>
          gitea.comment(pr.number, body));
        if (await act(`close PR #${pr.number} of ${owner}/${repo}`, () => gitea.close(pr.number))) {
          log.info(`closed PR #${pr.number}: head ${short(pr.headSha)} is in upstream ${branch} ${short(upHead)}`);
        }
        res.prsClosed.push(pr.number);
      }
    }
  } catch (err) {
    res.outcome = 'error';
    res.error = { step: err instanceof AuthFailure ? 'token' : step, message: scrub(messageOf(err)) };
    log.error({ step: res.error.step }, `mirror-sync failed: ${res.error.message}`);
    return res;
  }
  log.info({ outcome: res.outcome }, `mirror ${res.outcome}`);
  return res;
}

/** Push from the clone by object id to explicit refs, ignoring any push config the clone carries. */
function pushArgs(url: string, refspecs: string[]): string[] {
  return ['push', '--quiet', '--no-verify', '--no-follow-tags', '--recurse-submodules=no', '--', url, ...refspecs];
}

/**
 * Points the upstream tracking ref at upHead and creates the upstream tags the clone lacks. A local tag
 * that differs from upstream is kept (the clone is someone's working copy) and only logged.
 */
async function updateLocalRefs(
  cloneDir: string,
  branch: string,
  upHead: string,
  upTags: Map<string, string>,
  act: (what: string, fn: () => Promise<unknown>) => Promise<boolean>,
  log: Logger,
): Promise<void> {
  const tracking = upstreamTrackingRef(branch);
  const local = await localRefs(cloneDir, ['refs/tags/', tracking]);
  const commands: string[] = [];
  if (local.get(tracking) !== upHead) commands.push(`update ${tracking} ${upHead}`);
  const created: string[] = [];
  const differing: string[] = [];
  for (const [tag, sha] of upTags) {
    const mine = local.get(`refs/tags/${tag}`);
    if (mine === undefined) {
      commands.push(`create refs/tags/${tag} ${sha}`);
      created.push(tag);
    } else if (mine !== sha) differing.push(tag);
  }
  if (differing.length > 0) log.warn(`local tags differ from upstream, left as they are: ${differing.join(', ')}`);
  if (commands.length === 0) return;
  const what = created.length > 0
    ? `set ${tracking} to ${short(upHead)} and create ${created.length} upstream tags in ${cloneDir}`
    : `set ${tracking} to ${short(upHead)} in ${cloneDir}`;
  await act(what, () => runGit(['update-ref', '--stdin'], { cwd: cloneDir, input: `${commands.join('\n')}\n` }));
}
