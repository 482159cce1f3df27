// explain on a crafted tag set, known-red skips and how they are lifted, status, history per outcome and
// longest-first scheduling: the operator's view of the sweep, through the built CLI.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addRelease } from '../support/sandbox.js';
import { cli, cliJson, control, launches, sandbox } from '../support/cli.js';
import { git } from '../support/git.js';

const history = (stateDir: string, recipe: string) =>
  readFileSync(path.join(stateDir, recipe, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('explain', () => {
  it('ranks every tag, says why the newest is newest, and gives the decision', async () => {
    const sb = await sandbox([{
      name: 'gitea',
      releases: [{ tag: '1.0.0+1.31.9' }, { tag: '1.0.0+1.31.10' }, { tag: '1.0.0-rc.1+1.32.0' }, { tag: '0.9.0+2.0.0' }],
      otherTags: ['latest', 'v2.4.8-d7d63b0d'],
    }]);
    const { r, doc } = await cliJson(sb, ['explain', 'gitea']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.tags.map((t: any) => [t.rank, t.tag])).toEqual([
      [1, '1.0.0+1.31.10'], [2, '1.0.0+1.31.9'], [3, '1.0.0-rc.1+1.32.0'], [4, '0.9.0+2.0.0'], [null, 'latest'], [null, 'v2.4.8-d7d63b0d'],
    ]);
    expect(doc.tags[0]).toMatchObject({ recipeVersion: '1.0.0', app: '1.31.10', appSegments: [1, 31, 10], prerelease: null });
    expect(doc.tags[2]).toMatchObject({ recipeVersion: '1.0.0-rc.1', prerelease: 'rc.1' });
    expect(doc.tags[0].commit).toBe(git(path.join(sb.upstreamDir, 'gitea.git'), 'rev-parse', '1.0.0+1.31.10^{commit}'));
    expect(doc.newest).toEqual({ tag: '1.0.0+1.31.10', why: 'same recipe version 1.0.0; app version 1.31.10 > 1.31.9 (segment 3: 10 > 9)' });
    expect(doc).toMatchObject({ canonical: null, decision: 'run', reason: 'first-canonical', attemptsOfNewest: [] });

    const text = await cli(sb, ['explain', 'gitea']);
    expect(text.stdout).toMatch(/^1\s+1\.0\.0\+1\.31\.10\s+1\.0\.0\s+-\s+1\.31\.10\s+\[1,31,10\]/m);
    expect(text.stdout).toMatch(/^ignored\s+latest/m);
    expect(text.stdout).toContain('newest release: 1.0.0+1.31.10: same recipe version 1.0.0; app version 1.31.10 > 1.31.9');
    expect(text.stdout).toContain('decision: run (first-canonical)');
    expect((await cli(sb, ['explain', 'nope'])).exitCode).toBe(2);
  });
});

describe('explain when the tags cannot be read', () => {
  it('prints only the error, not an empty table and "never released"', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    const missing = path.join(sb.root, 'no-such-tmp');
    const r = await cli(sb, ['explain', 'gitea'], { TMPDIR: missing });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe(`gitea (weekly)\n\ndecision: error (tags-unavailable): TMPDIR=${missing} does not exist or is not a directory: create it or set TMPDIR to one that exists`);
    expect(r.stdout).not.toContain('never released');
  });
});

describe('known-red skip', () => {
  it('skips a release that went red under unchanged conditions, and runs again when anything changes', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    control(sb, { gitea: { exit: 1 } });
    const red = await cliJson(sb, ['run']);
    expect(red.doc.recipes[0]).toMatchObject({ outcome: 'red' });
    const tests = () => launches(sb).filter((l) => !l.script.includes('seed')).length;

    // Nothing changed: skipped, no harness.
    const again = await cliJson(sb, ['run']);
    expect(again.r.exitCode).toBe(0);
    expect(again.doc.recipes[0]).toMatchObject({ decision: 'skip', reason: 'known-red-unchanged', outcome: 'skipped' });
    expect(tests()).toBe(1);
    const explained = await cliJson(sb, ['explain', 'gitea']);
    expect(explained.doc.knownRed).toEqual({ unchanged: true, changed: [] });
    expect(explained.doc.attemptsOfNewest).toHaveLength(1);

    // --retry overrides.
    expect((await cliJson(sb, ['run', '--retry'])).doc.recipes[0]).toMatchObject({ reason: 'first-canonical', outcome: 'red' });
    expect(tests()).toBe(2);

    // A new cc-ci commit lifts it.
    execFileSync('git', ['-C', sb.ccciRepo, '-c', 'user.name=t', '-c', 'user.email=t@x', 'commit', '-q', '--allow-empty', '-m', 'fix the test']);
    expect((await cliJson(sb, ['run'])).doc.recipes[0]).toMatchObject({ outcome: 'red' });
    expect(tests()).toBe(3);
    expect((await cliJson(sb, ['run'])).doc.recipes[0].reason).toBe('known-red-unchanged');

    // A different cc-ci-run lifts it.
    const otherRun = path.join(sb.root, 'bin', 'cc-ci-run-v2');
    copyFileSync(sb.ccciRun, otherRun);
    chmodSync(otherRun, 0o755);
    expect((await cliJson(sb, ['run', '--cc-ci-run', otherRun])).doc.recipes[0]).toMatchObject({ outcome: 'red' });
    expect(tests()).toBe(4);
    expect((await cliJson(sb, ['run', '--cc-ci-run', otherRun])).doc.recipes[0].reason).toBe('known-red-unchanged');

    // A moved tag (new tag commit) lifts it, and this time it passes.
    const work = path.join(sb.root, 'work', 'gitea');
    execFileSync('git', ['-C', work, '-c', 'user.name=t', '-c', 'user.email=t@x', 'commit', '-q', '--allow-empty', '-m', 'fix']);
    execFileSync('git', ['-C', work, '-c', 'user.name=t', '-c', 'user.email=t@x', 'tag', '-f', '-a', '-m', 'retag', '1.0.0']);
    execFileSync('git', ['-C', work, 'push', '-q', '--force', path.join(sb.upstreamDir, 'gitea.git'), 'main', '+refs/tags/1.0.0:refs/tags/1.0.0']);
    // The local clone still has the old tag: the sweep tests upstream's, and leaves the clone's own tag alone.
    control(sb, {});
    const moved = await cliJson(sb, ['run']);
    const newCommit = git(path.join(sb.upstreamDir, 'gitea.git'), 'rev-parse', '1.0.0^{commit}');
    expect(moved.r.exitCode, moved.r.stderr).toBe(0);
    expect(moved.doc.recipes[0]).toMatchObject({ reason: 'first-canonical', outcome: 'promoted', commit: newCommit });
    expect(launches(sb).at(-2)!.head).toBe(newCommit);
    expect(moved.r.stderr).toMatch(/the clone's own tag differs from upstream's; testing upstream's/);
    expect(git(path.join(sb.recipesDir, 'gitea'), 'rev-parse', '1.0.0^{commit}')).not.toBe(newCommit);
  });

  it('records a history entry for every harness outcome', async () => {
    const sb = await sandbox([
      { name: 'ok', releases: [{ tag: '1.0.0' }] },
      { name: 'red', releases: [{ tag: '1.0.0' }] },
      { name: 'late', releases: [{ tag: '1.0.0' }] },
      { name: 'label', releases: [{ tag: '1.0.0', label: '0.9.0' }] },
      { name: 'seed', releases: [{ tag: '1.0.0' }] },
      { name: 'term', releases: [{ tag: '1.0.0' }] },
    ]);
    control(sb, { red: { exit: 1 }, late: { exit: 142 }, seed: { seedExit: 1 }, term: { exit: 143 } });
    expect((await cli(sb, ['run'])).exitCode).toBe(1);
    const expected: Record<string, string> = {
      ok: 'promoted', red: 'red', late: 'timeout', label: 'not-promoted', seed: 'promote-failed', term: 'interrupted',
    };
    for (const [recipe, outcome] of Object.entries(expected)) {
      const attempts = history(sb.stateDir, recipe).filter((e) => e.type === 'attempt');
      expect(attempts, recipe).toHaveLength(1);
      expect(attempts[0]).toMatchObject({
        tag: '1.0.0', outcome, tagCommit: git(path.join(sb.upstreamDir, `${recipe}.git`), 'rev-parse', '1.0.0^{commit}'),
        ccciCommit: git(sb.ccciRepo, 'rev-parse', 'HEAD'), ccciRun: sb.ccciRun, log: expect.stringMatching(/harness\.log$/),
        by: expect.stringMatching(/^operator:/),
      });
      expect(attempts[0].durationMs).toBeGreaterThanOrEqual(0);
      expect(Date.parse(attempts[0].endedAt)).toBeGreaterThanOrEqual(Date.parse(attempts[0].startedAt));
    }
    expect(history(sb.stateDir, 'ok').map((e) => e.type)).toEqual(['attempt', 'promotion']);

    const status = await cliJson(sb, ['status']);
    const by = Object.fromEntries(status.doc.recipes.map((x: any) => [x.recipe, x]));
    expect(by.ok).toMatchObject({ canonical: { version: '1.0.0', ageSeconds: expect.any(Number) }, lastAttempt: { outcome: 'promoted' }, lastPromotion: { version: '1.0.0' } });
    expect(by.red).toMatchObject({ canonical: null, lastAttempt: { outcome: 'red', log: expect.stringMatching(/harness\.log$/) }, lastPromotion: null });
  });
});

describe('scheduling', () => {
  it('with --jobs 2, starts the recipes with the longest past durations first', async () => {
    const sb = await sandbox([
      { name: 'a-short', releases: [{ tag: '1.0.0' }] },
      { name: 'b-long', releases: [{ tag: '1.0.0' }] },
      { name: 'c-mid', releases: [{ tag: '1.0.0' }] },
    ]);
    control(sb, { 'a-short': { exit: 1, sleepMs: 100 }, 'b-long': { exit: 1, sleepMs: 1500 }, 'c-mid': { exit: 1, sleepMs: 700 } });
    expect((await cli(sb, ['run', '--jobs', '2'])).exitCode).toBe(1); // all red: durations are now known
    for (const r of ['a-short', 'b-long', 'c-mid']) await addRelease(sb, r, { tag: '1.1.0' });
    const before = launches(sb).length;
    expect((await cli(sb, ['run', '--jobs', '2'])).exitCode).toBe(1);
    // Two start at once (in either order); the shortest waits for a free slot.
    const order = launches(sb).slice(before).map((l) => l.recipe);
    expect(order.slice(0, 2).sort()).toEqual(['b-long', 'c-mid']);
    expect(order[2]).toBe('a-short');
  });
});
