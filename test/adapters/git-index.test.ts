// The files hidden from `git status` (assume-unchanged, skip-worktree) are read from the clone's index file
// itself, a git process fewer per status read. The reader must say exactly what `git ls-files -v` says, on
// real indexes of every format version, and step aside (null: git is asked) where it cannot be sure.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cloneStatus } from '../../src/adapters/git.js';
import { hiddenIndexEntries } from '../../src/core/git-index.js';

const root = mkdtempSync(path.join(tmpdir(), 'ccci-index-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' });

/** What `ls-files -v -z` tags as hidden: lower case (assume-valid) or `S` (skip-worktree). */
function lsFilesHidden(dir: string): { path: string; kind: string }[] {
  return git(dir, 'ls-files', '-v', '-z').split('\0').filter(Boolean).flatMap((e) => {
    const tag = e.slice(0, 1);
    if (tag === 'S') return [{ path: e.slice(2), kind: 'skip-worktree' }];
    return tag !== tag.toUpperCase() ? [{ path: e.slice(2), kind: 'assume-unchanged' }] : [];
  });
}

const index = (dir: string) => readFileSync(path.join(dir, '.git', 'index'));

/** A repo with plain, assume-unchanged, skip-worktree and both-flagged files, non-ASCII and very long paths. */
function flaggedRepo(name: string): string {
  const dir = path.join(root, name);
  git(root, 'init', '-q', '-b', 'main', dir);
  mkdirSync(path.join(dir, 'dïr'));
  for (const f of ['a.yml', 'b.yml', 'c.yml', 'd.yml', 'dïr/ünï 😀.txt', 'z.yml']) writeFileSync(path.join(dir, f), `${f}\n`);
  git(dir, 'add', '.');
  // A path longer than the entry's 12-bit length field (4095), in the index only (no file system takes it).
  const deep = Array.from({ length: 24 }, (_, i) => `${i}${'d'.repeat(200)}`).join('/');
  const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: dir, input: 'long\n', encoding: 'utf8' }).trim();
  git(dir, 'update-index', '--add', '--cacheinfo', `100644,${blob},${deep}/long.txt`);
  git(dir, 'commit', '-q', '-m', 'one');
  git(dir, 'update-index', '--assume-unchanged', 'a.yml', 'dïr/ünï 😀.txt');
  git(dir, 'update-index', '--skip-worktree', 'b.yml', `${deep}/long.txt`);
  git(dir, 'update-index', '--assume-unchanged', '--skip-worktree', 'c.yml');
  return dir;
}

describe('hiddenIndexEntries', () => {
  for (const version of [2, 3, 4]) {
    it(`says what git ls-files -v says, index version ${version}`, () => {
      const dir = flaggedRepo(`v${version}`);
      git(dir, 'update-index', '--index-version', String(version));
      const expected = lsFilesHidden(dir);
      // a, c (both flags: assume-valid wins) and the non-ASCII file; b and the long path.
      expect(expected.filter((e) => e.kind === 'assume-unchanged').map((e) => e.path)).toEqual(['a.yml', 'c.yml', 'dïr/ünï 😀.txt']);
      expect(expected.filter((e) => e.kind === 'skip-worktree')).toHaveLength(2);
      // git writes version 3 at least once an entry has extended flags (skip-worktree).
      expect(index(dir).readUInt32BE(4)).toBe(Math.max(version, 3));
      expect(hiddenIndexEntries(index(dir), 20)).toEqual(expected);
    });
  }

  it('says what git ls-files -v says, index version 2 (assume-unchanged only)', () => {
    const dir = flaggedRepo('only-assumed');
    // c.yml has both flags: ls-files shows it as assume-unchanged, so clear skip-worktree on it too.
    const skipped = [...lsFilesHidden(dir).filter((e) => e.kind === 'skip-worktree').map((e) => e.path), 'c.yml'];
    git(dir, 'update-index', '--no-skip-worktree', ...skipped);
    git(dir, 'update-index', '--index-version', '2');
    expect(index(dir).readUInt32BE(4)).toBe(2);
    const expected = lsFilesHidden(dir);
    expect(expected.map((e) => e.kind)).toEqual(['assume-unchanged', 'assume-unchanged', 'assume-unchanged']);
    expect(hiddenIndexEntries(index(dir), 20)).toEqual(expected);
  });

  it('a clone with nothing hidden, and an empty index', () => {
    const dir = path.join(root, 'plain');
    git(root, 'init', '-q', '-b', 'main', dir);
    writeFileSync(path.join(dir, 'compose.yml'), 'x\n');
    git(dir, 'add', '.');
    expect(hiddenIndexEntries(index(dir), 20)).toEqual([]);
    git(dir, 'rm', '-q', '--cached', 'compose.yml');
    expect(hiddenIndexEntries(index(dir), 20)).toEqual([]);
  });

  it('steps aside for an entry whose name length git would read differently', () => {
    const dir = flaggedRepo('lengths');
    git(dir, 'update-index', '--index-version', '3');
    const bytes = Buffer.from(index(dir));
    expect(hiddenIndexEntries(bytes, 20)).toHaveLength(5);
    // The first entry's 12-bit name length, one short: git would cut its name (and every entry after) elsewhere.
    const flagsAt = 12 + 40 + 20;
    bytes.writeUInt16BE(bytes.readUInt16BE(flagsAt) - 1, flagsAt);
    expect(hiddenIndexEntries(bytes, 20)).toBeNull();
  });

  it('steps aside for a split index, a cut file or another format', () => {
    const dir = flaggedRepo('split');
    const whole = index(dir);
    expect(hiddenIndexEntries(whole.subarray(0, whole.length - 30), 20)).toBeNull();
    expect(hiddenIndexEntries(Buffer.from('not an index at all, not at all'), 20)).toBeNull();
    git(dir, 'update-index', '--split-index');
    expect(hiddenIndexEntries(index(dir), 20)).toBeNull();
  });
});

describe('cloneStatus with files hidden from status', () => {
  it('reports them from the index (no git ls-files), and through git ls-files when the index is split', async () => {
    const dir = flaggedRepo('status');
    // A `git` first on PATH that logs each call's arguments, then runs the real one.
    const bin = path.join(root, 'wrapper');
    const calls = path.join(root, 'calls.log');
    mkdirSync(bin);
    const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    writeFileSync(path.join(bin, 'git'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${calls}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    const logged = () => readFileSync(calls, 'utf8').trim().split('\n');

    const want = lsFilesHidden(dir).map((e) => `${e.kind} ${e.path}`);
    expect((await cloneStatus(dir, { env })).changes).toEqual(want);
    expect(logged().some((c) => c.includes(' status '))).toBe(true);
    expect(logged().filter((c) => c.includes('ls-files'))).toEqual([]);
    git(dir, 'update-index', '--split-index');
    expect((await cloneStatus(dir, { env })).changes).toEqual(want);
    expect(logged().filter((c) => c.includes('ls-files'))).toHaveLength(1);
  });
});
