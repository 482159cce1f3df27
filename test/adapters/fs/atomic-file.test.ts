// Whole-or-absent writes: a failed write or rename keeps the old file and leaves no temp file anywhere,
// neither beside the target nor in the folder above.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendLineDurable, createExclusive, writeFileAtomic } from '../../../src/adapters/fs/atomic-file.js';
import { cliJson, sandbox } from '../../support/cli.js';

describe('writeFileAtomic', () => {
  it('replaces the file whole and leaves nothing beside it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ccci-atomic-'));
    const file = path.join(dir, 'f.json');
    writeFileAtomic(file, 'old\n');
    writeFileAtomic(file, 'new\n');
    expect(readFileSync(file, 'utf8')).toBe('new\n');
    expect(readdirSync(dir)).toEqual(['f.json']);
  });

  it('removes its temp file when the rename fails, and keeps what was there', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ccci-atomic-'));
    const file = path.join(dir, 'f.json');
    // The target turns into a non-empty folder between the write and the rename: rename fails.
    expect(() => writeFileAtomic(file, 'new\n', () => {
      mkdirSync(file);
      writeFileSync(path.join(file, 'keep'), 'x');
    })).toThrow(/cannot write .*f\.json \((EISDIR|ENOTEMPTY|EEXIST)[^)]*\); the previous version is kept/);
    expect(readdirSync(dir)).toEqual(['f.json']);
    expect(readdirSync(file)).toEqual(['keep']);
  });

  it('refuses a folder as the target instead of writing into the folder above', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ccci-atomic-'));
    const target = path.join(dir, 'sub');
    mkdirSync(target);
    expect(() => writeFileAtomic(target, 'x')).toThrow(/names a folder/);
    expect(() => writeFileAtomic(`${target}/`, 'x')).toThrow(/names a folder/);
    expect(readdirSync(dir)).toEqual(['sub']);
    expect(readdirSync(target)).toEqual([]);
  });
});

describe('createExclusive', () => {
  it('creates the file whole once; a second create says it exists; no temp file remains', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ccci-atomic-'));
    const file = path.join(dir, 'lock');
    expect(createExclusive(file, 'first')).toBe(true);
    expect(createExclusive(file, 'second')).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('first');
    expect(readdirSync(dir)).toEqual(['lock']);
  });
});

describe('appendLineDurable', () => {
  it('closes a torn last line before appending', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ccci-atomic-'));
    const file = path.join(dir, 'h.jsonl');
    writeFileSync(file, '{"a":1}\n{"b"');
    appendLineDurable(file, '{"c":3}');
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}\n{"b"\n{"c":3}\n');
  });
});

describe('run --metrics-file naming a folder', () => {
  it('is one line and exit 1; nothing is written into the folder above', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    const parent = path.join(sb.root, 'textfile');
    const target = path.join(parent, 'ccci.prom');
    mkdirSync(target, { recursive: true });
    const { r, doc } = await cliJson(sb, ['run', '--metrics-file', `${target}/`]);
    expect(doc.recipes[0].outcome).toBe('promoted');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^ccci-sweep: cannot write .*ccci\.prom\/?: the path names a folder, not a file$/m);
    expect(readdirSync(parent)).toEqual(['ccci.prom']);
    expect(readdirSync(target)).toEqual([]);
  });
});
