// syncMirror: make the recipe's mirror a faithful copy of upstream, fast-forward only, and close mirror PRs
// that upstream already contains. The local clone is used for objects and ancestry, never for its remotes:
// every network operation names its URL and refspecs explicitly.

import path from 'node:path';
import { ensureDir } from '../adapters/fs/atomic-file.js';
import type { Writer } from '../adapters/writer.js';
import { DryRunRefusal, messageOf, MirrorError } from '../core/errors.js';
import type { Logger } from '../adapters/log.js';
import { scrub } from '../adapters/log.js';
import { peel, runGit, UPSTREAM_TAGS, upstreamTrackingRef } from '../adapters/git.js';
import { tagTargets } from '../core/refs.js';
import { giteaClient } from '../adapters/gitea.js';
import { ancestry, type Ancestry, isClone, localRefs, lsRemote, missingObjects, short, tagsOf } from '../adapters/git-refs.js';
import { AuthFailure, DEFAULT_RETRY, type RetryPolicy, withRetry } from '../adapters/retry.js';
import { ownerRepoOf } from '../adapters/fs/token-file.js';
import type { SyncResult, SyncStep } from '../core/sync-result.js';

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
  /** The sweep's stop signal: in-flight git and Gitea calls are stopped, nothing is retried. */
  signal?: AbortSignal;
  /** The sweep's environment (required): what git gets, minus what the adapter removes. */
  env: NodeJS.ProcessEnv;
  /** Tags per fetch and per push: each batch has its own deadline, and what a batch moved stays moved. */
  batchSize?: number;
  /** Told of upstream's tags (tag -> commit, peeled) as soon as they are listed: "known since" for release ages. */
  onUpstreamTags?: (tags: Map<string, string>) => void;
}

/** Tags per git fetch or push: 20 000 tags in one push never complete within any deadline. */
export const TAG_BATCH = 1000;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A few names and a count, for log lines and dry-run descriptions that must stay one readable line. */
function some(names: string[], max = 10): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')}, ... ${names.length - max} more`;
}

/** Where upstream's default branch is fetched to in the clone (the clone's own remotes are never used). */
export { upstreamTrackingRef };
/** Landing zone for upstream's tags; refs/tags/* itself only gains tags it lacks (see updateLocalRefs). */


export async function syncMirror(t: MirrorTarget, opts: SyncOptions): Promise<SyncResult> {
  const log = opts.log.child({ recipe: t.recipe });
  const retry = opts.retry ?? DEFAULT_RETRY;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const res: SyncResult = { recipe: t.recipe, outcome: 'in-sync', tagsAdded: [], tagConflicts: [], prsClosed: [], wouldDo: [] };
  const batchSize = Math.max(1, opts.batchSize ?? TAG_BATCH);
  const base = { timeoutMs, signal: opts.signal, env: opts.env };
  const local = { signal: opts.signal, env: opts.env };
  const mirrorGit = { ...base, token: opts.token, authUrl: t.mirrorUrl };
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
  const net = <T>(what: string, fn: () => Promise<T>): Promise<T> => withRetry(what, retry, log, fn, opts.signal);

  try {
    // 1. Both sides' refs, one connection each, in parallel.
    const [up, mirror] = await Promise.all([
      net('ls-remote upstream', () => lsRemote(t.upstreamUrl, true, base)),
      net('ls-remote mirror', () => lsRemote(t.mirrorUrl, false, mirrorGit)),
    ]);
    const branch = up.defaultBranch;
    if (!branch) throw new MirrorError(`upstream ${t.upstreamUrl} did not report a default branch (HEAD)`);
    const upHead = up.refs.get(`refs/heads/${branch}`);
    if (!upHead) throw new MirrorError(`upstream ${t.upstreamUrl} has no branch ${branch}`);
    const mirrorHead = mirror.refs.get(`refs/heads/${branch}`) ?? null;
    const upTags = tagsOf(up);
    opts.onUpstreamTags?.(tagTargets(up));
    const mirrorTags = tagsOf(mirror);
    Object.assign(res, { branch, branchFrom: mirrorHead, branchTo: upHead });

    // 2. The clone must hold upstream's head and tag objects; fetch only if it lacks some.
    step = 'fetch';
    if (!isClone(t.cloneDir)) {
      await act(`clone ${t.upstreamUrl} into ${t.cloneDir}`, async () => {
        ensureDir(path.dirname(t.cloneDir));
        await net('clone upstream', () =>
          runGit(['clone', '--quiet', '--', t.upstreamUrl, path.resolve(t.cloneDir)], { ...base, what: `git clone ${t.upstreamUrl}` }));
      });
    }
    if (isClone(t.cloneDir)) {
      const wanted = [upHead, ...upTags.values()];
      const missing = await missingObjects(t.cloneDir, wanted, local);
      let present = missing.size === 0;
      if (!present) {
        // Only what the clone lacks, in batches: an old clone lacking 20 000 tags is brought up to date
        // batch by batch, each within its own deadline, instead of one fetch that never finishes.
        const lacking = [...upTags].filter(([, sha]) => missing.has(sha)).map(([tag]) => tag).sort();
        const batches = chunks(lacking, batchSize);
        if (batches.length === 0) batches.push([]);
        let fetched = true;
        for (const [i, batch] of batches.entries()) {
          const refspecs = batch.map((tag) => `+refs/tags/${tag}:${UPSTREAM_TAGS}/${tag}`);
          if (i === 0) refspecs.unshift(`+refs/heads/${branch}:${upstreamTrackingRef(branch)}`);
          const what = i === 0
            ? `fetch ${branch} ${short(upHead)} and ${lacking.length} tags from ${t.upstreamUrl} into ${t.cloneDir}`
            : `fetch tags ${i * batchSize + 1}-${i * batchSize + batch.length} of ${lacking.length} from ${t.upstreamUrl}`;
          fetched = await act(what, () =>
            net('fetch upstream', () =>
              runGit(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--recurse-submodules=no', '--', t.upstreamUrl, ...refspecs],
                { ...base, repo: t.cloneDir, what: `git fetch ${t.upstreamUrl}` })));
          if (!fetched) break;
        }
        if (fetched) {
          const still = await missingObjects(t.cloneDir, wanted, local);
          if (still.size > 0) throw new MirrorError(`upstream changed during the sync (${still.size} objects not fetched); run again`);
          present = true;
        }
      }
      if (present) await updateLocalRefs(t.cloneDir, branch, upHead, upTags, act, log, local);
    }

    // 3. Branch: fast-forward only. No '+' and no --force, so the server also refuses a non-fast-forward.
    step = 'push-branch';
    let relation: Ancestry | 'same' | 'absent' = 'absent';
    if (mirrorHead === upHead) relation = 'same';
    else if (mirrorHead !== null) relation = await ancestry(t.cloneDir, mirrorHead, upHead, local);
    let changed = false;
    if (relation === 'no') {
      log.warn(`mirror ${branch} ${short(mirrorHead)} has commits upstream ${short(upHead)} lacks: not pushed`);
    } else if (relation !== 'same') {
      // 'unknown' only happens in dry-run (nothing fetched): the push is described, and refused anyway.
      const caveat = relation === 'unknown' ? ' if it is a fast-forward' : '';
      const pushed = await act(`push ${branch} ${short(mirrorHead)}..${short(upHead)} to mirror ${t.mirrorUrl}${caveat}`, () =>
        net('push branch', () => runGit(pushArgs(t.mirrorUrl, [`${upHead}:refs/heads/${branch}`]), { ...mirrorGit, repo: t.cloneDir, what: 'git push' })));
      if (pushed) log.info(`pushed ${branch} ${short(mirrorHead)}..${short(upHead)} to mirror`);
      changed = true;
    }

    // 4. Tags the mirror lacks, in batches; a tag at a different object is reported, never overwritten.
    step = 'push-tags';
    const toPush: string[] = [];
    for (const [tag, sha] of [...upTags].sort(([a], [b]) => a.localeCompare(b))) {
      const theirs = mirrorTags.get(tag);
      if (theirs === undefined) toPush.push(tag);
      else if (theirs !== sha) res.tagConflicts.push({ tag, upstream: sha, mirror: theirs });
    }
    for (const batch of chunks(toPush, batchSize)) {
      const pushed = await act(`push ${batch.length} tags (${some(batch)}) to mirror ${t.mirrorUrl}`, () =>
        net('push tags', () =>
          runGit(pushArgs(t.mirrorUrl, batch.map((tag) => `${upTags.get(tag)}:refs/tags/${tag}`)), { ...mirrorGit, repo: t.cloneDir, what: 'git push' })));
      if (pushed) log.info(`pushed ${batch.length} tags (${some(batch)}) to mirror`);
      res.tagsAdded.push(...batch);
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
      const gitea = giteaClient({
        api: t.giteaApi, owner, repo, token: opts.token, timeoutMs: opts.httpTimeoutMs ?? 30_000, retry, log, signal: opts.signal, env: opts.env,
      });
      for (const pr of await gitea.listOpenPulls()) {
        // Unknown (e.g. dry-run without the upstream objects) counts as not contained: the PR is left alone.
        if ((await ancestry(t.cloneDir, pr.headSha, upHead, local)) !== 'yes') continue;
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
 * Points the upstream tracking ref at upHead, mirrors upstream's tags into our own namespace (deleting
 * the ones upstream no longer has) and creates the upstream tags the clone lacks. A local tag that
 * differs from upstream is kept (the clone is someone's working copy) and only logged. One transaction.
 */
async function updateLocalRefs(
  cloneDir: string,
  branch: string,
  upHead: string,
  upTags: Map<string, string>,
  act: (what: string, fn: () => Promise<unknown>) => Promise<boolean>,
  log: Logger,
  opts: { env: NodeJS.ProcessEnv; signal?: AbortSignal },
): Promise<void> {
  const tracking = upstreamTrackingRef(branch);
  const local = await localRefs(cloneDir, ['refs/tags/', `${UPSTREAM_TAGS}/`, tracking], opts);
  // A tag of a tree or blob is never a release: it stays in our namespace, never a tag in the operator's clone.
  const missing = [...upTags].filter(([tag]) => local.get(`refs/tags/${tag}`) === undefined).map(([, sha]) => sha);
  const peeled = await peel(cloneDir, [...new Set(missing)], opts);
  const commands: string[] = [];
  if (local.get(tracking) !== upHead) commands.push(`update ${tracking} ${upHead}`);
  const created: string[] = [];
  const differing: string[] = [];
  for (const [tag, sha] of upTags) {
    if (local.get(`${UPSTREAM_TAGS}/${tag}`) !== sha) commands.push(`update ${UPSTREAM_TAGS}/${tag} ${sha}`);
    const mine = local.get(`refs/tags/${tag}`);
    if (mine === undefined) {
      if (peeled.get(sha)?.type !== 'commit') continue;
      commands.push(`create refs/tags/${tag} ${sha}`);
      created.push(tag);
    } else if (mine !== sha) differing.push(tag);
  }
  for (const ref of local.keys()) {
    if (ref.startsWith(`${UPSTREAM_TAGS}/`) && !upTags.has(ref.slice(UPSTREAM_TAGS.length + 1))) commands.push(`delete ${ref}`);
  }
  if (differing.length > 0) log.warn(`local tags differ from upstream, left as they are: ${some(differing)}`);
  if (commands.length === 0) return;
  const what = created.length > 0
    ? `set ${tracking} to ${short(upHead)} and create ${created.length} upstream tags in ${cloneDir}`
    : `set ${tracking} to ${short(upHead)} and upstream's tags in ${cloneDir}`;
  await act(what, () => runGit(['update-ref', '--stdin'], { ...opts, repo: cloneDir, input: `${commands.join('\n')}\n` }));
}
