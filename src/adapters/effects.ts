// Dry-run is enforced here and only here. Every adapter primitive that changes the world (a state file
// written or removed, a folder made, a git process (it may move refs), a harness launched, a Gitea call that
// is not a GET) asks mayAct() first. Inside a dry-run scope the answer is DryRunRefusal unless the call is
// marked read-only; the safe choice is the default, so a write nobody thought of is refused, not done.
// The scope follows the async calls of one command (AsyncLocalStorage), so no caller has to pass it on
// and none can forget to.
import { AsyncLocalStorage } from 'node:async_hooks';
import { DryRunRefusal } from '../core/errors.js';

/** `read`: the call changes nothing (ls-remote, cat-file, status); `write`: anything else. */
export type Access = 'read' | 'write';

interface DryRunScope {
  /** Told of every refused write (what it would have done). */
  onRefused?: (what: string) => void;
}

const scope = new AsyncLocalStorage<DryRunScope>();

/** Runs `fn` in dry-run: every write below it is refused (DryRunRefusal), reads go ahead. */
export function inDryRun<T>(fn: () => T, onRefused?: (what: string) => void): T {
  return scope.run({ onRefused }, fn);
}

export function isDryRun(): boolean {
  return scope.getStore() !== undefined;
}

/** Throws DryRunRefusal when in dry-run and the call is not read-only. */
export function mayAct(what: string, access: Access = 'write'): void {
  if (access === 'read') return;
  const s = scope.getStore();
  if (!s) return;
  s.onRefused?.(what);
  throw new DryRunRefusal(`dry-run: would ${what}`);
}
