// Reading refs: remote ones through `git ls-remote` (one connection each), local ones from the clone.
// Local reads never write, so mirrorState() can use them too.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runGit, type GitOpts } from './git-run.js';

export interface RemoteRefs {
  /** The branch HEAD points at, when asked with --symref and the server says. */
  defaultBranch?: string;
  /** Full ref name -> object id, unpeeled (an annotated tag maps to its tag object, not the commit). */
  refs: Map<string, string>;
}

/** Parses `git ls-remote [--symref]` output; peeled `^{}` lines are dropped so tags compare unpeeled. */
export function parseLsRemote(out: string): RemoteRefs {
  const result: RemoteRefs = { refs: new Map() };
  for (const line of out.split('\n')) {
    const [left, name] = line.split('\t');
    if (!left || !name) continue;
    const sym = /^ref: (refs\/heads\/.+)$/.exec(left);
    if (sym) {
      if (name === 'HEAD') result.defaultBranch = sym[1]?.slice('refs/heads/'.length);
      continue;
    }
    if (!name.endsWith('^{}')) result.refs.set(name, left);
  }
  return result;
}

/** Tag name -> unpeeled object id. */
export function tagsOf(refs: RemoteRefs): Map<string, string> {
  const tags = new Map<string, string>();
  for (const [name, sha] of refs.refs) if (name.startsWith('refs/tags/')) tags.set(name.slice(10), sha);
  return tags;
}

/** True when cloneDir is a clone of its own (not merely a directory inside some other work tree). */
export function isClone(cloneDir: string): boolean {
  return existsSync(path.join(cloneDir, '.git'));
}

/** A directory to run URL-only git commands in: the clone if present, else a neutral temp dir. */
export function neutralCwd(cloneDir: string): string {
  return isClone(cloneDir) ? cloneDir : tmpdir();
}

export async function lsRemote(url: string, symref: boolean, opts: GitOpts): Promise<RemoteRefs> {
  // '--' so a configured URL can never be read as an option.
  const args = symref ? ['ls-remote', '--symref', '--', url] : ['ls-remote', '--', url];
  return parseLsRemote((await runGit(args, opts)).stdout);
}

/** The subset of `shas` that the clone's object store lacks. */
export async function missingObjects(cloneDir: string, shas: string[]): Promise<Set<string>> {
  if (shas.length === 0) return new Set();
  const { stdout } = await runGit(['cat-file', '--batch-check'], { cwd: cloneDir, input: `${shas.join('\n')}\n` });
  const missing = new Set<string>();
  for (const line of stdout.split('\n')) {
    const m = /^(\S+) missing$/.exec(line);
    if (m?.[1]) missing.add(m[1]);
  }
  return missing;
}

/** Local refs under the given prefixes (or exact names): full name -> object id, unpeeled. */
export async function localRefs(cloneDir: string, patterns: string[]): Promise<Map<string, string>> {
  const { stdout } = await runGit(['for-each-ref', '--format=%(objectname) %(refname)', ...patterns], { cwd: cloneDir });
  const refs = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const i = line.indexOf(' ');
    if (i > 0) refs.set(line.slice(i + 1), line.slice(0, i));
  }
  return refs;
}

export type Ancestry = 'yes' | 'no' | 'unknown';

/**
 * Is `ancestor` in the history of `tip`, judged from the clone alone? A missing `tip` means unknown. A
 * missing `ancestor` means no: a complete (non-shallow) clone holding `tip` holds all of tip's history.
 * In a shallow clone a "no" may be wrong, but only in the safe direction (nothing is pushed or closed).
 */
export async function ancestry(cloneDir: string, ancestor: string, tip: string): Promise<Ancestry> {
  if (!isClone(cloneDir) || !isObjectId(ancestor) || !isObjectId(tip)) return 'unknown';
  const missing = await missingObjects(cloneDir, [ancestor, tip]);
  if (missing.has(tip)) return 'unknown';
  if (missing.has(ancestor)) return 'no';
  const r = await runGit(['merge-base', '--is-ancestor', ancestor, tip], { cwd: cloneDir, okCodes: [1] });
  return r.exitCode === 0 ? 'yes' : 'no';
}

/** A full SHA-1 or SHA-256 object id; anything else (e.g. from an API) never reaches git's argv. */
export function isObjectId(s: string): boolean {
  return /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(s);
}

export const short = (sha: string | null | undefined): string => (sha ? sha.slice(0, 7) : '(none)');
