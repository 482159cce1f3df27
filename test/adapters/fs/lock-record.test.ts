// A lock file is a trust boundary (a crash, a full disk or an operator may have written it): what it says
// to restore or to stop is taken only when well-formed.
import { describe, expect, it } from 'vitest';
import { lockInfoOf } from '../../../src/adapters/fs/lock.js';

const C = 'a'.repeat(40);

describe('lockInfoOf', () => {
  it('needs a positive integer pid to name a holder', () => {
    for (const v of [null, [], 'x', 7, {}, { pid: 0 }, { pid: -3 }, { pid: 1.5 }, { pid: '12' }]) expect(lockInfoOf(v)).toBeNull();
    expect(lockInfoOf({ pid: 12 })).toMatchObject({ pid: 12, pidStart: null, startedAt: '?', command: '?', by: '?' });
  });

  it('keeps a well-formed clone and saved checkout, and drops a damaged one instead of handing it to git', () => {
    expect(lockInfoOf({ pid: 5, clone: '/r/gitea', saved: { branch: 'main', commit: C } })).toMatchObject({ clone: '/r/gitea', saved: { branch: 'main', commit: C } });
    expect(lockInfoOf({ pid: 5, clone: '/r/gitea', saved: { branch: null, commit: C } })!.saved).toEqual({ branch: null, commit: C });
    for (const saved of [{ branch: 7, commit: C }, { branch: '--force', commit: C }, { branch: 'main', commit: 'HEAD~1' }, { branch: 'main' }, 'main', null]) {
      const info = lockInfoOf({ pid: 5, clone: '/r/gitea', saved })!;
      expect(info.saved).toBeUndefined();
      expect(info.clone).toBeUndefined();
    }
    expect(lockInfoOf({ pid: 5, clone: 42, saved: { branch: 'main', commit: C } })!.saved).toBeUndefined();
  });

  it('keeps a well-formed harness, never a pid that kill() must not get', () => {
    expect(lockInfoOf({ pid: 5, harness: { pid: 900, pidStart: '77', startedAt: 't' } })!.harness).toEqual({ pid: 900, pidStart: '77', startedAt: 't' });
    expect(lockInfoOf({ pid: 5, harness: null })!.harness).toBeNull();
    for (const harness of [{ pid: 1 }, { pid: 0 }, { pid: -900 }, { pid: '900' }, 'x']) expect(lockInfoOf({ pid: 5, harness })!.harness).toBeUndefined();
  });
});
