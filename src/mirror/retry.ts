// The retry policy lives with the git adapter (src/retry.ts); mirror-sync's Gitea client uses the same one.
export { AuthFailure, DEFAULT_RETRY, TransientError, withRetry, type RetryPolicy } from '../retry.js';
