// One error type per failure class. The CLI entry (src/cli/main.ts) maps them to exit codes in one place;
// everything else only throws. Messages are one line, name the thing, and say what to do.

export const EXIT = {
  ok: 0,
  /** Some recipe ended in an outcome other than skipped/promoted. */
  failed: 1,
  /** Usage or configuration error: nothing was swept. */
  usage: 2,
  /** Another sweep holds the host lock. */
  locked: 3,
  /** Stopped by SIGINT (128 + 2). */
  sigint: 130,
  /** Stopped by SIGTERM (128 + 15). */
  sigterm: 143,
  /** Stopped by SIGHUP (128 + 1): the terminal or ssh session of a by-hand run went away. */
  sighup: 129,
  /** An error the sweep did not expect (a bug): one line on stderr, the sweep stopped as on SIGTERM. */
  internal: 70,
} as const;

export class SweepError extends Error {
  override readonly name: string = 'SweepError';
}

/** Bad flags, bad recipe names, unknown recipes. */
export class UsageError extends SweepError {
  override readonly name = 'UsageError';
}

/** The host is set up wrong: missing cc-ci repo, zero enrolled recipes, malformed settings, no cc-ci-run. */
export class ConfigError extends SweepError {
  override readonly name = 'ConfigError';
}

/** A git operation on a recipe clone or remote failed. */
export class GitError extends SweepError {
  override readonly name = 'GitError';
}

/** canonical.json (or another state file) cannot be trusted; it is left untouched. */
export class StateError extends SweepError {
  override readonly name = 'StateError';
}

/** A state file (canonical.json, history.jsonl, a report, a lock) could not be written whole; the old one is kept. */
export class WriteError extends SweepError {
  override readonly name = 'WriteError';
}

/** The harness (cc-ci-run) could not be launched at all. */
export class HarnessError extends SweepError {
  override readonly name = 'HarnessError';
}

/** A write was attempted in dry-run mode; carries what would have been done. */
export class DryRunRefusal extends SweepError {
  override readonly name = 'DryRunRefusal';
}

/** Another sweep holds the lock. */
export class LockedError extends SweepError {
  override readonly name = 'LockedError';
}

/** The Gitea API or a mirror remote refused or failed. */
export class MirrorError extends SweepError {
  override readonly name = 'MirrorError';
}

/** A CI server (Drone, Woodpecker) refused or failed a call, or is set up so a sweep build cannot run. */
export class CiError extends SweepError {
  override readonly name = 'CiError';
  /** The server's HTTP status, when it answered: a 4xx (but 429) will not change by asking again. */
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

/** Exit code for an error that escaped to the CLI entry. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError || err instanceof ConfigError) return EXIT.usage;
  if (err instanceof LockedError) return EXIT.locked;
  return EXIT.failed;
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? String(err);
  return String(err);
}
