// The run summary as text and JSON, in memory (src/render/report.ts): every outcome is counted and shown
// with why, and a clone that could not be put back gets its own line.
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/core/sweep-types.js';
import { age, countOutcomes, renderSummary, summaryJson } from '../../src/render/report.js';

const r = (recipe: string, outcome: RunResult['outcome'], more: Partial<RunResult> = {}): RunResult => ({
  recipe, decision: outcome === 'skipped' ? 'skip' : 'run', reason: outcome === 'skipped' ? 'no-new-version' : 'new-release',
  tag: '1.0.0', outcome, exitCode: null, durationMs: 65_000, log: null, ...more,
});

describe('renderSummary', () => {
  const results = [
    r('a', 'promoted'), r('b', 'red', { detail: 'harness exited 1' }), r('c', 'skipped'), r('d', 'timeout', { detail: 'test timeout reached' }),
    r('e', 'not-promoted', { detail: 'tree changed' }), r('f', 'promote-failed', { log: '/s/f/runs/x/harness.log' }),
    r('g', 'interrupted', { detail: 'stopped before promotion' }), r('h', 'error', { detail: 'boom', restoreError: 'the clone /r/h could not be put back on main: x' }),
    r('i', 'verified', { durationMs: 900 }), r('j', 'verify-failed', { detail: 'harness exited 2' }),
  ];

  it('shows each recipe with its outcome, duration and why, and counts every outcome', () => {
    const text = renderSummary(results);
    expect(text).toMatch(/^a +1\.0\.0 +promoted +1m05s/m);
    expect(text).toMatch(/^b +1\.0\.0 +red +1m05s +harness exited 1$/m);
    expect(text).toMatch(/^c +1\.0\.0 +skipped +- +no-new-version$/m);
    expect(text).toMatch(/^f +.* log: \/s\/f\/runs\/x\/harness\.log$/m);
    expect(text).toMatch(/^i +1\.0\.0 +verified +900ms/m);
    expect(text).toContain('10 recipes: 1 promoted, 1 red, 1 skipped, 1 timeout, 1 not-promoted, 1 promote-failed, 1 interrupted, 1 error, 1 verified, 1 verify-failed');
    expect(text.trimEnd().split('\n').at(-1)).toBe('h: the clone /r/h could not be put back on main: x');
  });

  it('JSON carries the results and the counts', () => {
    expect(summaryJson(results).counts).toEqual(countOutcomes(results));
    expect(summaryJson(results).recipes).toBe(results);
  });

  it('age at a glance', () => {
    expect([age(null), age(59), age(3 * 3600 + 12 * 60), age(2 * 86400 + 5 * 3600)]).toEqual(['-', '0m', '3h12m', '2d5h']);
  });
});
