// What mirror-sync did for one recipe (pure types).
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
