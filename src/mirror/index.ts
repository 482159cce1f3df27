// Mirror-sync (issue 3): make each recipe's CI mirror a faithful copy of upstream, and report on it.
// syncMirror writes only through the given Writer; mirrorState never writes.
export { syncMirror, upstreamTrackingRef } from './sync.js';
export type { MirrorTarget, SyncOptions, SyncOutcome, SyncResult, SyncStep } from './sync.js';
export { mirrorState } from './state.js';
export type { MirrorState, MirrorStateTarget } from './state.js';
export { giteaApiFor, ownerRepoOf, readTokenFile } from './token.js';
export { DEFAULT_RETRY } from './retry.js';
export type { RetryPolicy } from './retry.js';
export { parseLsRemote } from '../git.js';
export type { RemoteRefs } from './refs.js';
