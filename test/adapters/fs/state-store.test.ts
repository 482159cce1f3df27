import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendHistory, readCanonical, readHistory, writeCanonical } from '../../../src/adapters/fs/state-store.js';
import { promotedRecord, stamp, validateCanonical, validateHistoryEntry } from '../../../src/core/canonical-record.js';

const commit = 'c0ffee'.padEnd(40, '0');

describe('canonical records', () => {
  it('reads a legacy record as is and carries unknown fields forward on promotion', () => {
    const legacy = { recipe: 'gitea', version: '1.0.0+1', commit, status: 'idle', ts: '20250101T000000Z', domain: 'g.example' };
    const rec = validateCanonical('gitea', legacy, 'f');
    expect(rec).toEqual(legacy);
    const next = promotedRecord(rec, { recipe: 'gitea', tag: '1.1.0+1', commit: 'b'.repeat(40), ccciCommit: 'd'.repeat(40), at: new Date('2026-02-03T04:05:06.789Z') });
    expect(next).toEqual({
      ...legacy, version: '1.1.0+1', commit: 'b'.repeat(40), ts: '20260203T040506Z', promotedAt: '2026-02-03T04:05:06.789Z',
      previous: { recipe: 'gitea', version: '1.0.0+1', commit, status: 'idle', ts: '20250101T000000Z' }, ccciCommit: 'd'.repeat(40),
    });
    // Only one level of previous is kept in the record, and only the fields the sweep and the harness know.
    const third = promotedRecord(next, { recipe: 'gitea', tag: '1.2.0', commit, ccciCommit: null, at: new Date('2026-03-01T00:00:00Z') });
    expect(third.previous).toEqual({
      recipe: 'gitea', version: '1.1.0+1', commit: 'b'.repeat(40), status: 'idle', ts: '20260203T040506Z',
      promotedAt: '2026-02-03T04:05:06.789Z', ccciCommit: 'd'.repeat(40),
    });
  });

  it('does not copy a large unknown field into previous: the record does not double on promotion', () => {
    const big = { recipe: 'gitea', version: '1.0.0', commit, status: 'idle', ts: '20250101T000000Z', blob: 'x'.repeat(5_000_000) };
    const next = promotedRecord(validateCanonical('gitea', big, 'f'), { recipe: 'gitea', tag: '1.1.0', commit, ccciCommit: null, at: new Date() });
    expect(JSON.stringify(next).length).toBeLessThan(JSON.stringify(big).length + 1000);
    expect(next.blob).toBe(big.blob);
    expect(next.previous).toEqual({ recipe: 'gitea', version: '1.0.0', commit, status: 'idle', ts: '20250101T000000Z' });
  });

  it.each([
    ['an array', []],
    ['no version', { recipe: 'gitea', commit }],
    ['a numeric commit', { recipe: 'gitea', version: '1.0.0', commit: 5 }],
    ['a non-hex commit', { recipe: 'gitea', version: '1.0.0', commit: 'main' }],
    ['another recipe', { recipe: 'other', version: '1.0.0', commit }],
    ['a numeric status', { recipe: 'gitea', version: '1.0.0', commit, status: 3 }],
    ['a numeric ts', { recipe: 'gitea', version: '1.0.0', commit, ts: 20250101 }],
    ['an object promotedAt', { recipe: 'gitea', version: '1.0.0', commit, promotedAt: {} }],
    ['a numeric ccciCommit', { recipe: 'gitea', version: '1.0.0', commit, ccciCommit: 1 }],
    ['a string previous', { recipe: 'gitea', version: '1.0.0', commit, previous: '0.9.0' }],
    ['null', null],
  ])('rejects a record with %s', (_what, value) => {
    expect(() => validateCanonical('gitea', value, '/s/gitea/canonical.json')).toThrow(/\/s\/gitea\/canonical\.json .*left untouched/);
  });

  it('writes atomically: no temp file remains and the content is whole', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ccci-state-'));
    expect(readCanonical(dir, 'gitea')).toBeNull();
    writeCanonical(dir, { recipe: 'gitea', version: '1.0.0', commit, status: 'idle', ts: stamp(new Date()) });
    expect(readdirSync(path.join(dir, 'gitea'))).toEqual(['canonical.json']);
    expect(readCanonical(dir, 'gitea')).toMatchObject({ version: '1.0.0', commit });
  });

  it('refuses recipe names that would escape the state dir', () => {
    expect(() => readCanonical('/state', '../etc')).toThrow(/is invalid/);
  });
});

const attempt = (over: Record<string, unknown> = {}) => ({
  type: 'attempt' as const, recipe: 'gitea', tag: '1.0.0', tagCommit: commit, ccciCommit: null, ccciRun: '/bin/cc-ci-run',
  outcome: 'red', exitCode: 1, durationMs: 10, log: '/l', startedAt: 's', endedAt: 'e', by: 'timer', ...over,
});

describe('history.jsonl', () => {
  it('appends whole lines and ignores a torn last line, saying so', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ccci-state-'));
    appendHistory(dir, attempt());
    const file = path.join(dir, 'gitea', 'history.jsonl');
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"type":"attempt","rec`);
    const read = readHistory(dir, 'gitea');
    expect(read.tornLine).toBe(true);
    expect(read.warning).toBe(`${file} has a torn line from an earlier crash; skipped`);
    expect(read.entries).toEqual([attempt()]);
    // The next append is not glued onto the torn line.
    appendHistory(dir, attempt({ outcome: 'promoted' }));
    expect(readHistory(dir, 'gitea').entries.map((e) => e.outcome)).toEqual(['red', 'promoted']);
    mkdirSync(path.join(dir, 'other'));
    expect(readHistory(dir, 'other')).toEqual({ entries: [], tornLine: false, invalid: [], warning: null });
  });

  it('skips null, incomplete and mistyped lines with a warning naming the file and the lines', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ccci-state-'));
    mkdirSync(path.join(dir, 'gitea'));
    const file = path.join(dir, 'gitea', 'history.jsonl');
    const promotion = { type: 'promotion', recipe: 'gitea', version: '1.0.0', commit, promotedAt: '2026-01-01T00:00:00.000Z' };
    const lines = [
      attempt(), null, 5, '"x"', [], { type: 'attempt' }, attempt({ tag: 7 }), attempt({ durationMs: 'long' }), attempt({ tagCommit: null }),
      attempt({ recipe: 'other' }), { ...promotion, commit: undefined }, { type: 'note', recipe: 'gitea' }, attempt({ detail: 3 }),
      promotion, attempt({ exitCode: null, ccciCommit: 'c'.repeat(40), level: { any: 'thing' }, later: 'field' }),
    ];
    writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    const read = readHistory(dir, 'gitea');
    expect(read.entries).toEqual([attempt(), promotion, attempt({ exitCode: null, ccciCommit: 'c'.repeat(40), level: { any: 'thing' }, later: 'field' })]);
    expect(read.invalid.map((x) => x.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(read.invalid.map((x) => x.problem)).toEqual([
      'is null, not an entry', 'is a number, not an entry', 'is a string, not an entry', 'is an array, not an entry',
      'names recipe undefined, not gitea', 'has no string "tag"', 'has no number "durationMs"', 'has no string "tagCommit"',
      'names recipe "other", not gitea', 'has no string "commit"', 'has type "note", not one of "attempt", "promotion", "hold", "release", "verify"',
      'has a "detail" that is not a string',
    ]);
    expect(read.warning).toBe(`${file} has 12 invalid lines (line 2 is null, not an entry; line 3 is a number, not an entry; line 4 is a string, not an entry; ...); skipped`);
  });

  it('validates entries one by one', () => {
    expect(validateHistoryEntry('gitea', attempt())).toEqual({ entry: attempt() });
    expect(validateHistoryEntry('gitea', null)).toEqual({ problem: 'is null, not an entry' });
    expect(validateHistoryEntry('gitea', attempt({ durationMs: Number.NaN }))).toMatchObject({ problem: expect.stringMatching(/durationMs/) });
  });
});
