// Crash safety: the sweep is killed with SIGKILL at each step of a promotion. After each kill the state is
// the old record or the new one (never half of either), history.jsonl has no torn line, and the next run
// puts the clone back and converges.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CrashStep } from '../src/fault.js';
import { addRelease } from '../src/sandbox.js';
import { cli, cliJson, readJson, sandbox } from './helpers/cli.js';
import { git } from './helpers/git.js';

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

    const crashed = await cli(sb, ['run'], { CCCI_CRASH_AT: step });
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
