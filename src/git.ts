// Git adapter: every call names its cwd and its remote URL explicitly. The recipe clones on the host have
// inconsistent remotes (origin is the mirror in one, upstream in another), so nothing here reads or writes
// a clone's configured remotes: fetches take a URL and explicit refspecs.
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { GitError } from './errors.js';
import { scrub } from './log.js';

export interface GitOptions {
  /** Per-call deadline for network operations. */
  timeoutMs?: number;
  /** Extra environment (e.g. GIT_CONFIG_* carrying an auth header); never argv. */
  env?: Record<string, string>;
}

const DEFAULT_TIMEOUT_MS = 120_000;

// Interactive helpers mean nothing to an unattended sweep, and simple-git refuses to run with them set.
const INTERACTIVE_VARS = ['EDITOR', 'VISUAL', 'GIT_EDITOR', 'GIT_SEQUENCE_EDITOR', 'PAGER', 'GIT_PAGER'];

/** The environment every git process gets: the sweep's own, minus interactive helpers, plus `extra`. */
export function gitEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !INTERACTIVE_VARS.includes(k)) env[k] = v;
  // Never ask a human for credentials on a timer; never let a locale change the output we parse.
  // A stalled HTTP transfer is aborted by git's own transport (slower than 1 KB/s for 60 s), so a hung
  // remote can never hold a sweep forever; an operator's own settings win.
  return {
    GIT_HTTP_LOW_SPEED_LIMIT: '1000', GIT_HTTP_LOW_SPEED_TIME: '60',
    ...env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', ...extra,
  };
}

export function git(cwd: string, opts: GitOptions = {}): SimpleGit {
  const g = simpleGit({
    baseDir: cwd,
    timeout: { block: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS },
    // Done only when git's output is closed. simple-git's default also finishes 50 ms after the process
    // exits, which under load cut `ls-remote` output short (a wrong newest release) and added 50 ms to
    // every quiet command such as checkout.
    completion: { onClose: true, onExit: false },
    // The operator's own ssh settings and our GIT_CONFIG_* auth header are deliberate, not injected.
    unsafe: { allowUnsafeSshCommand: true, allowUnsafeConfigEnvCount: true, allowUnsafeAskPass: true },
  });
  return g.env(gitEnv(opts.env));
}

async function raw(cwd: string, args: string[], what: string, opts?: GitOptions): Promise<string> {
  try {
    return await git(cwd, opts).raw(args);
  } catch (err) {
    // git's own `error:`/`fatal:` line says why; the last line is often just "Aborting".
    const lines = (err as Error).message.trim().split('\n').filter(Boolean);
    const detail = lines.find((l) => /^(fatal|error):/.test(l)) ?? lines.at(-1) ?? 'failed';
    throw new GitError(scrub(`${what}: ${detail}`));
  }
}

/** Parses `git ls-remote` output into tag -> commit, preferring the peeled (`^{}`) commit of annotated tags. */
export function parseLsRemoteTags(out: string): Map<string, string> {
  const tags = new Map<string, string>();
  const peeled = new Map<string, string>();
  for (const line of out.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const sha = line.slice(0, tab);
    const ref = line.slice(tab + 1);
    if (!ref.startsWith('refs/tags/')) continue;
    const name = ref.slice('refs/tags/'.length);
    if (name.endsWith('^{}')) peeled.set(name.slice(0, -3), sha);
    else tags.set(name, sha);
  }
  for (const [name, sha] of peeled) tags.set(name, sha);
  return tags;
}

/** Upstream's tags (tag -> commit) with one read-only connection. */
export async function lsRemoteTags(url: string, opts?: GitOptions): Promise<Map<string, string>> {
  const out = await raw(tmpdir(), ['ls-remote', '--tags', '--', url], `git ls-remote ${url}`, opts);
  return parseLsRemoteTags(out);
}

/** Everything upstream advertises, with HEAD's symref: one connection for the tags and the mirror check. */
export async function lsRemoteListing(url: string, opts?: GitOptions): Promise<string> {
  return raw(tmpdir(), ['ls-remote', '--symref', '--', url], `git ls-remote ${url}`, opts);
}

/** Tags of a local clone (tag -> commit), without touching the network. */
export async function localTags(cloneDir: string): Promise<Map<string, string>> {
  await assertReadableClone(cloneDir);
  const out = await raw(
    cloneDir,
    ['for-each-ref', '--format=%(refname:strip=2)%09%(objectname)%09%(*objectname)', 'refs/tags'],
    `git for-each-ref in ${cloneDir}`,
  );
  const tags = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [name, obj, peeled] = line.split('\t');
    if (name && obj) tags.set(name, peeled || obj);
  }
  return tags;
}

/** Upstream's default branch, from `ls-remote --symref <url> HEAD`. */
export async function remoteDefaultBranch(url: string, opts?: GitOptions): Promise<string> {
  const out = await raw(tmpdir(), ['ls-remote', '--symref', '--', url, 'HEAD'], `git ls-remote --symref ${url}`, opts);
  const m = /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(out);
  if (!m?.[1]) throw new GitError(scrub(`${url} does not advertise a default branch (HEAD symref)`));
  return m[1];
}

export async function assertReadableClone(cloneDir: string): Promise<void> {
  if (!existsSync(cloneDir)) throw new GitError(`recipe clone ${cloneDir} does not exist`);
  await raw(cloneDir, ['rev-parse', '--git-dir'], `recipe clone ${cloneDir} is not a readable git repository`);
}

/** Where upstream's branch and tags land in a clone: our own namespaces, so the clone's refs are never clobbered. */
export const upstreamTrackingRef = (branch: string): string => `refs/remotes/ccci-upstream/${branch}`;
export const UPSTREAM_TAGS = 'refs/ccci/upstream-tags';

/**
 * Brings upstream's default branch and all its tags into the clone from the explicit URL, cloning first if
 * the clone is missing, and returns the commit upstream's `tag` points to. Tags land in our own namespace
 * (a tag that moved upstream is tested as upstream has it); local tags the clone lacks are created, local
 * tags that differ are left as they are. Skips the network when the clone already has the tag at `expected`.
 */
export async function fetchRelease(
  cloneDir: string, url: string, tag: string, expected: string, log: { warn: (o: object, m: string) => void }, opts?: GitOptions,
): Promise<string> {
  if (!existsSync(cloneDir)) {
    mkdirSync(path.dirname(cloneDir), { recursive: true });
    await raw(path.dirname(cloneDir), ['clone', '--quiet', '--', url, cloneDir], `git clone ${url}`, opts);
  }
  let known = await tagCommits(cloneDir, tag);
  if (known.upstream !== expected) {
    const branch = await remoteDefaultBranch(url, opts);
    await raw(
      cloneDir,
      ['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--', url, `+refs/heads/${branch}:${upstreamTrackingRef(branch)}`, `+refs/tags/*:${UPSTREAM_TAGS}/*`],
      `git fetch ${url} into ${cloneDir}`,
      opts,
    );
    await createMissingTags(cloneDir, log);
    known = await tagCommits(cloneDir, tag);
  }
  const commit = known.upstream;
  if (commit !== expected) throw new GitError(`tag ${tag} moved upstream during the sweep (${expected} -> ${commit ?? 'gone'}); run again`);
  if (known.local !== commit) log.warn({ tag, local: known.local, upstream: commit }, "the clone's own tag differs from upstream's; testing upstream's");
  return commit;
}

/** The commits (peeled) of upstream's `tag` and of the clone's own `tag`, in one git process. */
async function tagCommits(cloneDir: string, tag: string): Promise<{ upstream: string | null; local: string | null }> {
  let out: string;
  try {
    // Ref names cannot hold glob characters, so the names match themselves exactly.
    out = await git(cloneDir).raw(['for-each-ref', '--format=%(refname)%09%(objectname)%09%(*objectname)', `${UPSTREAM_TAGS}/${tag}`, `refs/tags/${tag}`]);
  } catch (err) {
    await assertReadableClone(cloneDir); // the clearer message, when that is the cause
    throw new GitError(`cannot read tags of ${cloneDir}: ${(err as Error).message.trim().split('\n').at(-1)}`);
  }
  const found = { upstream: null as string | null, local: null as string | null };
  for (const line of out.split('\n')) {
    const [ref, obj, peeled] = line.split('\t');
    if (!ref || !obj) continue;
    if (ref === `${UPSTREAM_TAGS}/${tag}`) found.upstream = peeled || obj;
    else if (ref === `refs/tags/${tag}`) found.local = peeled || obj;
  }
  return found;
}

/** Creates local `refs/tags/*` for upstream tags the clone lacks; never moves an existing one. */
async function createMissingTags(cloneDir: string, log: { warn: (o: object, m: string) => void }): Promise<void> {
  const out = await raw(cloneDir, ['for-each-ref', '--format=%(objectname) %(refname)', UPSTREAM_TAGS, 'refs/tags'], `git for-each-ref in ${cloneDir}`);
  const upstream = new Map<string, string>();
  const local = new Set<string>();
  for (const line of out.split('\n')) {
    const i = line.indexOf(' ');
    if (i < 0) continue;
    const ref = line.slice(i + 1);
    if (ref.startsWith(`${UPSTREAM_TAGS}/`)) upstream.set(ref.slice(UPSTREAM_TAGS.length + 1), line.slice(0, i));
    else local.add(ref.slice('refs/tags/'.length));
  }
  const missing = [...upstream.keys()].filter((t) => !local.has(t));
  if (missing.length === 0) return;
  // A fetch from the clone itself, without '+': it can only create refs, never move one.
  await raw(
    cloneDir,
    ['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '.', ...missing.map((t) => `${UPSTREAM_TAGS}/${t}:refs/tags/${t}`)],
    `cannot create upstream tags in ${cloneDir}`,
  );
  log.warn({ created: missing.length }, 'created upstream tags the clone lacked');
}

export interface Checkout {
  /** Branch name when on a branch, null when detached. */
  branch: string | null;
  commit: string;
}

export async function currentCheckout(cloneDir: string): Promise<Checkout> {
  // One process: the commit, then the symbolic name (`HEAD` itself when detached).
  const [commit = '', ref = ''] = (await raw(cloneDir, ['rev-parse', 'HEAD', '--symbolic-full-name', 'HEAD'], `cannot read HEAD of ${cloneDir}`)).trim().split('\n');
  if (!/^[0-9a-f]{40,64}$/.test(commit)) throw new GitError(`cannot read HEAD of ${cloneDir}`);
  return { branch: ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : null, commit };
}

/** Detached checkout of a commit. Refuses (GitError) when local changes would be overwritten. */
export async function checkoutDetached(cloneDir: string, commit: string): Promise<void> {
  // Not --quiet: simple-git waits a fixed 50 ms after a command that printed nothing, on every launch.
  await raw(cloneDir, ['-c', 'advice.detachedHead=false', 'checkout', '--detach', commit], `cannot check out ${commit} in ${cloneDir}`);
}

export async function restoreCheckout(cloneDir: string, saved: Checkout): Promise<void> {
  if (saved.branch) {
    await raw(cloneDir, ['checkout', saved.branch, '--'], `cannot restore ${cloneDir} to branch ${saved.branch}`);
  } else {
    await checkoutDetached(cloneDir, saved.commit);
  }
}

/**
 * What `git status` reports in the work tree: modified or staged tracked files and untracked files, one
 * porcelain line each (`M compose.yml`, `?? notes.txt`). Ignored files are not reported. Takes no lock,
 * so it never races a harness that uses git in the same clone.
 */
export async function worktreeChanges(cloneDir: string): Promise<string[]> {
  const out = await raw(
    cloneDir, ['--no-optional-locks', 'status', '--porcelain', '--untracked-files=normal'], `cannot read the status of ${cloneDir}`,
  );
  return out.split('\n').map((l) => l.trimEnd()).filter(Boolean).map((l) => l.trim());
}

/** The text of those of `names` (top-level files) that exist in `commit`, read from git, not from disk. */
export async function filesAtCommit(cloneDir: string, commit: string, names: readonly string[]): Promise<Map<string, string>> {
  const listing = await raw(cloneDir, ['ls-tree', '-z', commit, '--', ...names], `cannot list ${commit} in ${cloneDir}`);
  const out = new Map<string, string>();
  for (const entry of listing.split('\0')) {
    // `<mode> <type> <object>\t<name>`; only plain files count.
    const m = /^\d+ blob ([0-9a-f]+)\t(.+)$/.exec(entry);
    if (!m?.[1] || !m[2] || !names.includes(m[2])) continue;
    out.set(m[2], await raw(cloneDir, ['cat-file', 'blob', m[1]], `cannot read ${m[2]} of ${commit} in ${cloneDir}`));
  }
  return out;
}

/** HEAD of a repo, or null when it is not a git repo (the cc-ci repo may be a plain folder in tests). */
export async function headCommit(dir: string): Promise<string | null> {
  try {
    return (await git(dir).raw(['rev-parse', '--verify', 'HEAD'])).trim() || null;
  } catch {
    return null;
  }
}
