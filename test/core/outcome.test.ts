// Every outcome of a launched test and the history lines it leaves, in memory (src/core/outcome.ts). The
// end-to-end tests (test/cli/) keep one case per path through the built CLI.
import { describe, expect, it } from 'vitest';
import { validateHistoryEntry } from '../../src/core/canonical-record.js';
import {
  type AttemptFacts, exitWords, failureDetail, type HarnessEnd, harnessOutcome, historyRecords, notRun, seedProblem, type TestEnd, testOutcome,
} from '../../src/core/outcome.js';

const end = (exitCode: number | null, stoppedBy: HarnessEnd['stoppedBy'] = null, signal: string | null = null): HarnessEnd => ({ exitCode, signal, stoppedBy });

const facts: AttemptFacts = {
  type: 'attempt', recipe: 'gitea', tag: '1.1.0', tagCommit: 'a'.repeat(40), ccciCommit: 'c'.repeat(40), ccciRun: '/bin/cc-ci-run',
  exitCode: 0, durationMs: 1200, log: '/state/gitea/runs/x/harness.log', startedAt: '2026-01-01T00:00:00.000Z',
  endedAt: '2026-01-01T00:00:01.200Z', by: 'timer', testTimeoutMs: 5_400_000,
};

describe('harnessOutcome', () => {
  it.each([
    [end(0), false, 'green'],
    [end(1), false, 'red'],
    [end(2), false, 'red'],
    [end(null, null, 'SIGKILL'), false, 'red'],
    [end(142), false, 'timeout'],
    [end(null, 'timeout', 'SIGTERM'), false, 'timeout'],
    [end(143), false, 'interrupted'],
    [end(null, 'abort', 'SIGTERM'), false, 'interrupted'],
    [end(0), true, 'interrupted'], // a green exit after the stop counts as stopped: nothing is promoted
    [end(142), true, 'interrupted'],
  ] as const)('%o (stopped: %s) -> %s', (h, stopped, want) => {
    expect(harnessOutcome(h, stopped)).toBe(want);
  });

  it('says why in one line', () => {
    expect(exitWords(end(3))).toBe('exited 3');
    expect(exitWords(end(null, null, 'SIGKILL'))).toBe('killed by SIGKILL');
    expect(exitWords(end(null))).toBe('killed by a signal');
    expect(failureDetail('timeout', end(null, 'timeout'))).toBe('test timeout reached');
    expect(failureDetail('timeout', end(142))).toBe('harness exited 142');
    expect(failureDetail('red', end(1))).toBe('harness exited 1');
  });
});

describe('seedProblem', () => {
  it('passes a clean exit, leaves a stop to the caller, names a failure or a timeout', () => {
    expect(seedProblem(end(0), 'runner/seed.py')).toBeNull();
    expect(seedProblem(end(null, 'abort', 'SIGTERM'), 'runner/seed.py')).toBeNull();
    expect(seedProblem(end(null, 'timeout', 'SIGTERM'), 'runner/seed.py')).toBe('seed script runner/seed.py stopped: test timeout reached');
    expect(seedProblem(end(4), 'runner/seed.py')).toBe('seed script runner/seed.py exited 4');
  });
});

describe('notRun', () => {
  it('is skipped, or error with the reason, and launches nothing', () => {
    expect(notRun({ recipe: 'r', decision: 'skip', reason: 'no-new-version', latest: '1.0.0' })).toEqual({
      recipe: 'r', decision: 'skip', reason: 'no-new-version', tag: '1.0.0', outcome: 'skipped', exitCode: null, durationMs: 0, log: null,
    });
    expect(notRun({ recipe: 'r', decision: 'error', reason: 'tags-unavailable', latest: null, error: 'upstream down' })).toMatchObject({
      outcome: 'error', detail: 'upstream down', tag: null,
    });
  });
});

describe('every launched outcome: its outcome and its history lines', () => {
  const cases: { end: TestEnd; outcome: string; lines: Record<string, unknown>[] }[] = [
    { end: { kind: 'failed', outcome: 'red', detail: 'harness exited 1' }, outcome: 'red', lines: [{ type: 'attempt', outcome: 'red' }] },
    { end: { kind: 'failed', outcome: 'timeout', detail: 'test timeout reached' }, outcome: 'timeout', lines: [{ type: 'attempt', outcome: 'timeout' }] },
    { end: { kind: 'failed', outcome: 'interrupted', detail: 'harness exited 143' }, outcome: 'interrupted', lines: [{ type: 'attempt', outcome: 'interrupted' }] },
    { end: { kind: 'not-promoted', detail: 'results.json says quick' }, outcome: 'not-promoted', lines: [{ type: 'attempt', outcome: 'not-promoted', detail: 'results.json says quick' }] },
    { end: { kind: 'stopped', detail: 'stopped before promotion', recorded: null }, outcome: 'interrupted', lines: [{ type: 'attempt', outcome: 'interrupted' }] },
    { end: { kind: 'stopped', detail: 'stopped during the seed script', recorded: 'stopped during the seed script' }, outcome: 'interrupted', lines: [{ type: 'attempt', outcome: 'interrupted', detail: 'stopped during the seed script' }] },
    { end: { kind: 'seed-failed', detail: 'seed script s exited 4' }, outcome: 'promote-failed', lines: [{ type: 'attempt', outcome: 'promote-failed', detail: 'seed script s exited 4' }] },
    {
      end: { kind: 'promoted', previousVersion: '1.0.0', promotedAt: '2026-01-01T00:00:02.000Z', extra: { sweepId: 's1' } }, outcome: 'promoted',
      lines: [
        { type: 'attempt', outcome: 'promoted' },
        { type: 'promotion', version: '1.1.0', commit: 'a'.repeat(40), previousVersion: '1.0.0', ccciCommit: 'c'.repeat(40), promotedAt: '2026-01-01T00:00:02.000Z', sweepId: 's1' },
      ],
    },
    { end: { kind: 'error', detail: 'cannot read HEAD' }, outcome: 'error', lines: [{ type: 'attempt', outcome: 'error', detail: 'cannot read HEAD' }] },
    { end: { kind: 'verified' }, outcome: 'verified', lines: [{ type: 'verify', outcome: 'verified' }] },
    { end: { kind: 'verify-failed', detail: 'harness exited 1' }, outcome: 'verify-failed', lines: [{ type: 'verify', outcome: 'verify-failed', detail: 'harness exited 1' }] },
    { end: { kind: 'verify-error', detail: 'boom' }, outcome: 'error', lines: [{ type: 'verify', outcome: 'verify-failed', detail: 'boom' }] },
    { end: { kind: 'verify-stopped' }, outcome: 'interrupted', lines: [] },
  ];

  it.each(cases)('$end.kind ($outcome)', ({ end: e, outcome, lines }) => {
    expect(testOutcome(e)).toBe(outcome);
    const records = historyRecords(e, facts);
    expect(records).toHaveLength(lines.length);
    records.forEach((r, i) => {
      expect(r).toMatchObject({ recipe: 'gitea', ...lines[i] });
      // Every line is one the history reader accepts back.
      expect(validateHistoryEntry('gitea', JSON.parse(JSON.stringify(r)))).toHaveProperty('entry');
      if (!('detail' in lines[i]!)) expect(r).not.toHaveProperty('detail');
    });
  });

  it('an attempt line carries the facts of the run (tag, commit, conditions, who)', () => {
    const [line] = historyRecords({ kind: 'failed', outcome: 'red', detail: 'harness exited 1' }, { ...facts, exitCode: 1, level: 'full' });
    expect(line).toEqual({ ...facts, exitCode: 1, level: 'full', outcome: 'red' });
  });
});
