// Reading refs for mirror-sync: remote ones through the git adapter's one `ls-remote` parser, local ones
// from the clone. Local reads never write, so mirrorState() can use them too.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { lsRemote as listRemote, type RemoteOpts, runGit } from './git.js';
import { type Listing, tagObjects } from '../core/refs.js';

export type RemoteRefs = Listing;

/** Tag name -> unpeeled object id: the mirror and upstream are compared object for object. */
export const tagsOf = tagObjects;

/** True when cloneDir has a .git of its own; whether it is a sound repository, git itself checks per call. */
export function isClone(cloneDir: string): boolean {
  return existsSync(path.join(cloneDir, '.git'));
}

export async function lsRemote(url: string, symref: boolean, opts: RemoteOpts): Promise<RemoteRefs> {
  return listRemote(url, { ...opts, retry: undefined, symref });
}

/** The subset of `shas` that the clone's object store lacks. */
export async function missingObjects(cloneDir: string, shas: string[], opts: { env: NodeJS.ProcessEnv; signal?: AbortSignal }): Promise<Set<string>> {
  if (shas.length === 0) return new Set();
  const { stdout } = await runGit(['cat-file', '--batch-check'], { ...opts, repo: cloneDir, input: `${shas.join('\n')}\n`, readOnly: true });
  const missing = new Set<string>();
  for (const line of stdout.split('\n')) {
    const m = /^(\S+) missing$/.exec(line);
    if (m?.[1]) missing.add(m[1]);
  }
  return missing;
}

/** Local refs under the given prefixes (or exact names): full name -> object id, unpeeled. */
export async function localRefs(cloneDir: string, patterns: string[], opts: { env: NodeJS.ProcessEnv; signal?: AbortSignal }): Promise<Map<string, string>> {
  const { stdout } = await runGit(['for-each-ref', '--format=%(objectname) %(refname)', ...patterns], { ...opts, repo: cloneDir, readOnly: true });
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
export async function ancestry(cloneDir: string, ancestor: string, tip: string, opts: { env: NodeJS.ProcessEnv; signal?: AbortSignal }): Promise<Ancestry> {
  if (!isClone(cloneDir) || !isObjectId(ancestor) || !isObjectId(tip)) return 'unknown';
  const missing = await missingObjects(cloneDir, [ancestor, tip], opts);
  if (missing.has(tip)) return 'unknown';
  if (missing.has(ancestor)) return 'no';
  const r = await runGit(['merge-base', '--is-ancestor', ancestor, tip], { ...opts, repo: cloneDir, okCodes: [1], readOnly: true });
  return r.exitCode === 0 ? 'yes' : 'no';
}

/** A full SHA-1 or SHA-256 object id; anything else (e.g. from an API) never reaches git's argv. */
export function isObjectId(s: string): boolean {
  return /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(s);
}

export const short = (sha: string | null | undefined): string => (sha ? sha.slice(0, 7) : '(none)');
