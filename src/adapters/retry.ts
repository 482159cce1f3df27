// Retry with exponential backoff for transient network failures (connection errors, HTTP 5xx/429, timeouts).
// A 4xx, a rejected push or a dry-run refusal is final: retrying cannot change the answer. A stopped sweep
// (aborted signal) never retries and never sleeps out a backoff.
import { setMaxListeners } from 'node:events';
import type { Logger } from './log.js';
import { scrub } from './log.js';
import { messageOf, SweepError } from '../core/errors.js';
import { later } from './timers.js';

export interface RetryPolicy {
  /** Attempts in total, including the first. */
  tries: number;
  /** Delay before the 2nd attempt; doubled for each further one. */
  baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { tries: 3, baseDelayMs: 1000 };

/** A failure that may pass (network trouble, HTTP 5xx/429, timeout): worth another attempt. */
export class TransientError extends Error {
  override readonly name = 'TransientError';
}

/** The mirror (git or Gitea) refused our credentials: the fix is the token, not a retry. */
export class AuthFailure extends SweepError {
  override readonly name = 'AuthFailure';
}

export async function withRetry<T>(
  what: string, policy: RetryPolicy, log: Pick<Logger, 'warn'> | undefined, fn: () => Promise<T>, signal?: AbortSignal,
): Promise<T> {
  const tries = Math.max(1, policy.tries);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof TransientError) || attempt >= tries || signal?.aborted) throw err;
      const delay = policy.baseDelayMs * 2 ** (attempt - 1);
      log?.warn({ attempt, delayMs: delay }, scrub(`${what} failed, retrying: ${messageOf(err)}`));
      await sleep(delay, signal);
      if (signal?.aborted) throw err;
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = later(done, ms);
    if (signal) setMaxListeners(0, signal); // shared by every concurrent call of the sweep
    signal?.addEventListener('abort', done, { once: true });
  });
}
