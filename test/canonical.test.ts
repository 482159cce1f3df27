import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendHistory, promotedRecord, readCanonical, readHistory, stamp, validateCanonical, writeCanonical } from '../src/canonical.js';

const commit = 'c0ffee'.padEnd(40, '0');

describe('canonical records', () => {
  it('reads a legacy record as is and carries unknown fields forward on promotion', () => {
    const legacy = { recipe: 'gitea', version: '1.0.0+1', commit, status: 'idle', ts: '20250101T000000Z', domain: 'g.example' };
    const rec = validateCanonical('gitea', legacy, 'f');
    expect(rec).toEqual(legacy);
    const next = promotedRecord(rec, { recipe: 'gitea', tag: '1.1.0+1', commit: 'b'.repeat(40), ccciCommit: 'd'.repeat(40), at: new Date('2026-02-03T04:05:06.789Z') });
    expect(next).toEqual({
      ...legacy, version: '1.1.0+1', commit: 'b'.repeat(40), ts: '20260203T040506Z', promotedAt: '2026-02-03T04:05:06.789Z',
      previous: legacy, ccciCommit: 'd'.repeat(40),
    });
    // Only one level of previous is kept in the record.
    expect(promotedRecord(next, { recipe: 'gitea', tag: '1.2.0', commit, ccciCommit: null, at: new Date() }).previous).not.toHaveProperty('previous');
  });

  it.each([
    ['an array', []],
    ['no version', { recipe: 'gitea', commit }],
    ['a numeric commit', { recipe: 'gitea', version: '1.0.0', commit: 5 }],
    ['a non-hex commit', { recipe: 'gitea', version: '1.0.0', commit: 'main' }],
    ['another recipe', { recipe: 'other', version: '1.0.0', commit }],
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

describe('history.jsonl', () => {
  it('appends whole lines and ignores a torn last line, saying so', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ccci-state-'));
    appendHistory(dir, { type: 'attempt', recipe: 'gitea', outcome: 'red' });
    const file = path.join(dir, 'gitea', 'history.jsonl');
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"type":"attempt","rec`);
    const read = readHistory(dir, 'gitea');
    expect(read.tornLine).toBe(true);
    expect(read.entries).toEqual([{ type: 'attempt', recipe: 'gitea', outcome: 'red' }]);
    // The next append is not glued onto the torn line.
    appendHistory(dir, { type: 'attempt', recipe: 'gitea', outcome: 'promoted' });
    expect(readHistory(dir, 'gitea').entries.map((e) => e.outcome)).toEqual(['red', 'promoted']);
    mkdirSync(path.join(dir, 'other'));
    expect(readHistory(dir, 'other')).toEqual({ entries: [], tornLine: false });
  });
});
