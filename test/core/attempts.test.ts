import { describe, expect, it } from 'vitest';
import { type Attempt, changedSince, knownRed, lastPromotion, medianDurationMs } from '../../src/core/attempts.js';
import type { HistoryEntry } from '../../src/core/canonical-record.js';

const attempt = (over: Partial<Attempt>): Attempt => ({
  type: 'attempt', recipe: 'gitea', tag: '1.1.0', tagCommit: 'a'.repeat(40), ccciCommit: 'c'.repeat(40),
  ccciRun: '/nix/store/x-cc-ci-run/bin/cc-ci-run', outcome: 'red', exitCode: 1, durationMs: 1000, log: '/l',
  startedAt: '', endedAt: '', by: 'timer', ...over,
});
const H = 3_600_000;
const same = { tag: '1.1.0', tagCommit: 'a'.repeat(40), ccciCommit: 'c'.repeat(40), ccciRun: '/nix/store/x-cc-ci-run/bin/cc-ci-run', testTimeoutMs: 1.5 * H };

describe('knownRed', () => {
  it('is the last attempt of the tag when it failed under the same conditions', () => {
    expect(knownRed([attempt({})], same)).toMatchObject({ outcome: 'red' });
    expect(knownRed([attempt({ outcome: 'timeout', exitCode: 142, testTimeoutMs: 1.5 * H })], same)).toMatchObject({ outcome: 'timeout' });
  });

  it('takes a timeout as a verdict only under a test timeout no longer than the one it hit', () => {
    const timedOut = (testTimeoutMs: number | null | undefined) =>
      [attempt({ outcome: 'timeout', exitCode: null, ...(testTimeoutMs === undefined ? {} : { testTimeoutMs }) })];
    // Same or shorter: it would time out again.
    expect(knownRed(timedOut(1.5 * H), { ...same, testTimeoutMs: 1.5 * H })).not.toBeNull();
    expect(knownRed(timedOut(1.5 * H), { ...same, testTimeoutMs: H })).not.toBeNull();
    // Raised, or no limit now: run it again.
    expect(knownRed(timedOut(1.5 * H), { ...same, testTimeoutMs: 3 * H })).toBeNull();
    expect(knownRed(timedOut(1.5 * H), { ...same, testTimeoutMs: null })).toBeNull();
    // It had no limit (the harness's own deadline hit): no limit now cannot help either.
    expect(knownRed(timedOut(null), { ...same, testTimeoutMs: null })).not.toBeNull();
    expect(knownRed(timedOut(null), { ...same, testTimeoutMs: 3 * H })).not.toBeNull();
    // Recorded before the timeout was: unknown, so it runs again once.
    expect(knownRed(timedOut(undefined), same)).toBeNull();
    // A red attempt does not depend on the timeout.
    expect(knownRed([attempt({ testTimeoutMs: H })], { ...same, testTimeoutMs: 3 * H })).not.toBeNull();
    expect(changedSince(timedOut(1.5 * H)[0]!, { ...same, testTimeoutMs: 3 * H })).toEqual(['test timeout 5400s -> 10800s']);
    expect(changedSince(timedOut(undefined)[0]!, same)).toEqual(['test timeout not recorded -> 5400s']);
  });

  it('is lifted by a new tag commit, a new cc-ci commit or a new cc-ci-run', () => {
    expect(knownRed([attempt({})], { ...same, tagCommit: 'b'.repeat(40) })).toBeNull();
    expect(knownRed([attempt({})], { ...same, ccciCommit: 'd'.repeat(40) })).toBeNull();
    expect(knownRed([attempt({})], { ...same, ccciRun: '/nix/store/y-cc-ci-run/bin/cc-ci-run' })).toBeNull();
  });

  it('looks only at the newest attempt of that tag, and ignores other tags and other failure kinds', () => {
    expect(knownRed([attempt({}), attempt({ outcome: 'interrupted' })], same)).toBeNull();
    expect(knownRed([attempt({ outcome: 'promoted' }), attempt({})], same)).not.toBeNull();
    expect(knownRed([attempt({ tag: '1.0.0' })], same)).toBeNull();
    expect(knownRed([attempt({ outcome: 'not-promoted' })], same)).toBeNull();
  });

  it('says what changed', () => {
    expect(changedSince(attempt({}), { ...same, ccciCommit: 'd'.repeat(40) })).toEqual(['cc-ci commit cccccccccc -> dddddddddd']);
  });
});

describe('medianDurationMs and lastPromotion', () => {
  it('takes the median of runs that ended, ignoring interrupted and errored ones', () => {
    const h: HistoryEntry[] = [
      attempt({ durationMs: 10 }), attempt({ durationMs: 30, outcome: 'promoted' }), attempt({ durationMs: 1, outcome: 'interrupted' }),
      attempt({ durationMs: 20, outcome: 'timeout' }), { type: 'promotion', recipe: 'gitea', version: '1.1.0', commit: 'a'.repeat(40), promotedAt: '2026-01-01T00:00:00Z' },
    ];
    expect(medianDurationMs(h)).toBe(20);
    expect(medianDurationMs([attempt({ durationMs: 10 }), attempt({ durationMs: 20 })])).toBe(15);
    expect(medianDurationMs([])).toBeNull();
    expect(lastPromotion(h)).toMatchObject({ version: '1.1.0' });
  });
});
