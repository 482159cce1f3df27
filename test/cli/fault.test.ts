// Crash safety: the sweep is killed with SIGKILL at each step of a promotion. After each kill the state is
// the old record or the new one (never half of either), history.jsonl has no torn line, and the next run
// puts the clone back and converges.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CrashStep } from '../../src/sweep/faults.js';
import { addRelease } from '../support/sandbox.js';
import { cli, cliJson, control, crashCli, readJson, sandbox } from '../support/cli.js';
import { git } from '../support/git.js';

const STEPS: { step: CrashStep; promoted: boolean }[] = [
  { step: 'before-seed', promoted: false },
  { step: 'after-seed', promoted: false },
  { step: 'during-record-write', promoted: false },
  { step: 'after-rename', promoted: true },
  { step: 'before-history', promoted: true },
];

function historyLines(stateDir: string): unknown[] {
  const text = readFileSync(path.join(stateDir, 'gitea', 'history.jsonl'), 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.trim().split('\n').map((l) => JSON.parse(l)); // throws on a torn line
}

describe('kill -9 during promotion', () => {
  it.each(STEPS)('at $step: old-or-new state, then the next run recovers and converges', async ({ step, promoted }) => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0+1' }] }]);
    expect((await cli(sb, ['run'])).exitCode).toBe(0);
    const canonicalFile = path.join(sb.stateDir, 'gitea', 'canonical.json');
    const old = readFileSync(canonicalFile, 'utf8');
    await addRelease(sb, 'gitea', { tag: '1.1.0+1' });
    const newCommit = git(path.join(sb.upstreamDir, 'gitea.git'), 'rev-parse', '1.1.0+1^{commit}');

    const crashed = await crashCli(sb, step, ['run']);
    expect(crashed.exitCode).toBe(-1); // killed by a signal: no exit code at all
    expect(crashed.stdout).toBe('');

    // Old or new, whole.
    const now = readJson(canonicalFile);
    if (promoted) expect(now).toMatchObject({ version: '1.1.0+1', commit: newCommit, previous: { version: '1.0.0+1' } });
    else expect(readFileSync(canonicalFile, 'utf8')).toBe(old);
    historyLines(sb.stateDir);
    // The kill left the clone detached on the tag, and both locks behind.
    const clone = path.join(sb.recipesDir, 'gitea');
    expect(git(clone, 'rev-parse', 'HEAD')).toBe(newCommit);
    expect(() => git(clone, 'symbolic-ref', '-q', 'HEAD')).toThrow();

    // The next run takes the stale locks over, puts the clone back, and converges.
    const next = await cliJson(sb, ['run']);
    expect(next.r.exitCode, next.r.stderr).toBe(0);
    expect(next.r.stderr).toMatch(/restoring a clone left by a crashed sweep/);
    expect(next.doc.recipes[0].outcome).toBe(promoted ? 'skipped' : 'promoted');
    expect(git(clone, 'symbolic-ref', '--short', 'HEAD')).toBe('main');
    expect(readJson(canonicalFile)).toMatchObject({ version: '1.1.0+1', commit: newCommit });
    expect(readdirSync(path.dirname(canonicalFile)).filter((f) => f.endsWith('.tmp') || f.endsWith('.lock'))).toEqual([]);
    historyLines(sb.stateDir);

    const again = await cliJson(sb, ['run']);
    expect(again.doc.recipes[0]).toMatchObject({ outcome: 'skipped', reason: 'no-new-version' });
  });
});

describe('the shipped CLI has no crash points', () => {
  it('ignores CCCI_CRASH_AT (it was once read from the environment): the run promotes and exits 0', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0+1' }] }]);
    const r = await cliJson(sb, ['run'], { CCCI_CRASH_AT: 'after-rename' });
    expect(r.r.exitCode, r.r.stderr).toBe(0);
    expect(r.doc.recipes[0].outcome).toBe('promoted');
    // Nothing test-only is built into dist/: no fault injection, no stand-in harness.
    const dist = path.resolve(import.meta.dirname, '../../dist');
    const shipped = readdirSync(dist, { recursive: true }).map(String).filter((f) => f.endsWith('.js'));
    expect(shipped.filter((f) => /(^|\/)(fault|sandbox)\.js$/.test(f) && !f.startsWith('demo'))).toEqual([]);
    for (const f of shipped) expect(readFileSync(path.join(dist, f), 'utf8'), f).not.toContain('CCCI_CRASH_AT');
  });
});

describe('a checkout that cannot be put back', () => {
  it('keeps the recipe lock with what to restore, and the next run restores it first', async () => {
    const sb = await sandbox([
      { name: 'gitea', releases: [{ tag: '1.0.0' }], untaggedAfter: 1 },
      { name: 'other', releases: [{ tag: '1.0.0' }] },
    ]);
    // The harness leaves an untracked CHANGES.md, which main tracks: `git checkout main` refuses.
    control(sb, { gitea: { dirty: 'CHANGES.md' } });
    const first = await cliJson(sb, ['run']);
    // A tree changed during the test is not what was tested: not promoted.
    expect(first.doc.recipes.map((x: any) => x.outcome)).toEqual(['not-promoted', 'promoted']);
    expect(first.r.stderr).toMatch(/could not restore the clone checkout; the next run will retry/);
    const clone = path.join(sb.recipesDir, 'gitea');
    expect(() => git(clone, 'symbolic-ref', '-q', 'HEAD')).toThrow();
    const lockFile = path.join(sb.stateDir, 'gitea', '.recipe.lock');
    expect(readJson(lockFile)).toMatchObject({ clone, saved: { branch: 'main' } });

    // Still blocked: that recipe is an error naming the cause, the others are swept, nothing crashes.
    const { addRelease } = await import('../support/sandbox.js');
    await addRelease(sb, 'other', { tag: '1.1.0' });
    const blocked = await cliJson(sb, ['run']);
    const by = Object.fromEntries(blocked.doc.recipes.map((x: any) => [x.recipe, x]));
    expect(by.other.outcome).toBe('promoted');
    expect(by.gitea).toMatchObject({ outcome: 'error', decision: 'error' });
    expect(by.gitea.detail).toMatch(/clone an earlier sweep left detached cannot be put back .*untracked working tree files/);
    expect(blocked.r.exitCode).toBe(1);
    expect(readJson(lockFile)).toMatchObject({ saved: { branch: 'main' } });

    // The operator removes the leftovers; the next run puts the clone back before anything else.
    const { rmSync } = await import('node:fs');
    rmSync(path.join(clone, 'CHANGES.md'));
    control(sb, {});
    const next = await cliJson(sb, ['run']);
    expect(next.r.exitCode, next.r.stderr).toBe(0);
    expect(next.r.stderr).toMatch(/restoring a clone left by a crashed sweep/);
    expect(git(clone, 'symbolic-ref', '--short', 'HEAD')).toBe('main');
    expect(readdirSync(path.dirname(lockFile))).not.toContain('.recipe.lock');
  });
});
