import { describe, expect, it } from 'vitest';
import { decide } from '../../src/core/decision.js';

describe('decide', () => {
  it('skips a recipe that has never been released, even when forced', () => {
    expect(decide({ tags: ['latest'], canonicalVersion: null })).toMatchObject({
      decision: 'skip', reason: 'never-released', latest: null, ignoredTags: ['latest'],
    });
    expect(decide({ tags: [], canonicalVersion: null, force: true }).reason).toBe('never-released');
  });

  it('runs the newest release when there is no canonical yet', () => {
    expect(decide({ tags: ['1.0.0+1', '1.1.0+1'], canonicalVersion: null })).toMatchObject({
      decision: 'run', reason: 'first-canonical', latest: '1.1.0+1',
    });
  });

  it('skips when the newest release equals the canonical', () => {
    expect(decide({ tags: ['1.0.0+1', '1.1.0+1'], canonicalVersion: '1.1.0+1' })).toMatchObject({
      decision: 'skip', reason: 'no-new-version', latest: '1.1.0+1',
    });
  });

  it('skips when the canonical is newer than every tag (a tag was deleted upstream)', () => {
    expect(decide({ tags: ['1.0.0+1'], canonicalVersion: '1.1.0+1' }).reason).toBe('no-new-version');
  });

  it('runs a newer release, including one newer only by app version', () => {
    expect(decide({ tags: ['1.0.0+1.31.9', '1.0.0+1.31.10'], canonicalVersion: '1.0.0+1.31.9' })).toMatchObject({
      decision: 'run', reason: 'new-release', latest: '1.0.0+1.31.10',
    });
  });

  it('runs with --force even when nothing is new', () => {
    expect(decide({ tags: ['1.0.0+1'], canonicalVersion: '1.0.0+1', force: true })).toMatchObject({
      decision: 'run', reason: 'forced', latest: '1.0.0+1',
    });
  });

  it('errors rather than guessing when the canonical version is not a release', () => {
    expect(decide({ tags: ['1.0.0+1'], canonicalVersion: 'main' })).toMatchObject({
      decision: 'error', reason: 'canonical-version-not-a-release',
    });
    // --force does not overwrite it either, like a canonical.json that cannot be read.
    expect(decide({ tags: ['1.0.0+1'], canonicalVersion: 'main', force: true, retry: true })).toMatchObject({
      decision: 'error', reason: 'canonical-version-not-a-release',
    });
  });
});
