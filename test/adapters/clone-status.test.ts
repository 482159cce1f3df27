// cloneStatus() reads in one git process what currentCheckout() and worktreeChanges() read in two: the
// harness launch uses it before and after the test. Same answers on a real clone, whatever its state.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cloneStatus, currentCheckout, worktreeChanges } from '../../src/adapters/git.js';

const root = mkdtempSync(path.join(tmpdir(), 'ccci-status-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const ID = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' };
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env: { ...process.env, ...ID }, encoding: 'utf8' }).trim();

async function same(dir: string) {
  const one = await cloneStatus(dir, { env: process.env });
  // v1 quotes a path with a space ("new file.txt"), v2 does not; otherwise the lines are the same.
  const v1 = (await worktreeChanges(dir, { env: process.env })).map((l) => l.replace(/"([^"\\]*)"/g, '$1'));
  expect(one).toEqual({ checkout: await currentCheckout(dir, { env: process.env }), changes: v1 });
  return one;
}

describe('cloneStatus', () => {
  it('equals currentCheckout + worktreeChanges: clean, dirty in every way, detached', async () => {
    const dir = path.join(root, 'clone');
    git(root, 'init', '-q', '-b', 'main', dir);
    for (const f of ['a.yml', 'b.yml', 'c.yml', 'd.yml']) writeFileSync(path.join(dir, f), `${f}\n`);
    git(dir, 'add', '.');
    git(dir, 'commit', '-q', '-m', 'one');
    expect(await same(dir)).toMatchObject({ checkout: { branch: 'main' }, changes: [] });
    writeFileSync(path.join(dir, 'a.yml'), 'changed\n'); // modified, not staged
    writeFileSync(path.join(dir, 'b.yml'), 'staged\n');
    git(dir, 'add', 'b.yml'); // staged
    git(dir, 'mv', 'c.yml', 'e.yml'); // renamed
    git(dir, 'rm', '-q', 'd.yml'); // deleted
    writeFileSync(path.join(dir, 'new file.txt'), 'x\n'); // untracked, with a space
    const dirty = await same(dir);
    expect(dirty.changes).toHaveLength(5);
    git(dir, 'update-index', '--skip-worktree', 'a.yml'); // hidden from status: still a change
    expect((await same(dir)).changes).toContain('skip-worktree a.yml');
    git(dir, 'update-index', '--no-skip-worktree', 'a.yml');
    git(dir, 'stash', '-q', '--include-untracked');
    git(dir, 'checkout', '-q', '--detach', 'HEAD');
    expect(await same(dir)).toMatchObject({ checkout: { branch: null }, changes: [] });
  });
});
