// A clone that cannot be put back is not success; a clone that is gone is simply cloned again; and two runs
// of one recipe never share a run folder.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stamp } from '../../src/core/canonical-record.js';
import { addRelease } from '../support/sandbox.js';
import { cli, cliJson, control, readJson, sandbox } from '../support/cli.js';
import { git } from '../support/git.js';

describe('a clone that cannot be put back', () => {
  it('is reported with git\'s reason (restoreError, a summary line, exit 1), even when the test promoted', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    // The harness leaves git's index lock behind (a git it ran was killed): the test itself is clean and
    // green, but `git checkout main` afterwards refuses.
    control(sb, { gitea: { dirty: '.git/index.lock' } });
    const r = await cli(sb, ['run']);
    expect(r.exitCode).toBe(1);
    const doc = readJson(path.join(sb.stateDir, 'last-sweep.json'));
    expect(doc.recipes[0]).toMatchObject({ recipe: 'gitea', outcome: 'promoted' });
    expect(doc.recipes[0].restoreError).toMatch(/^the clone .*gitea could not be put back on main: .*index\.lock.*File exists/);
    // The summary says it on a line of its own, with git's reason.
    expect(r.stdout.split('\n')).toContain(`gitea: ${doc.recipes[0].restoreError}`);
    const clone = path.join(sb.recipesDir, 'gitea');
    expect(() => git(clone, 'symbolic-ref', '-q', 'HEAD')).toThrow();
  });
});

describe('a clone that no longer exists', () => {
  it('is cloned again by the next run, even when a crashed sweep left its lock', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    control(sb, { gitea: { dirty: '.git/index.lock' } });
    await cliJson(sb, ['run']);
    const clone = path.join(sb.recipesDir, 'gitea');
    expect(readJson(path.join(sb.stateDir, 'gitea', '.recipe.lock'))).toMatchObject({ clone, saved: { branch: 'main' } });
    // The operator deletes the broken clone.
    rmSync(clone, { recursive: true, force: true });
    control(sb, {});
    await addRelease(sb, 'gitea', { tag: '1.1.0' });
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.recipes[0]).toMatchObject({ outcome: 'promoted', tag: '1.1.0' });
    expect(doc.recipes[0].restoreError).toBeUndefined();
    expect(git(clone, 'symbolic-ref', '--short', 'HEAD')).toBe('main');
    expect(existsSync(path.join(sb.stateDir, 'gitea', '.recipe.lock'))).toBe(false);
  });
});

describe('run folders', () => {
  it('never collide: a run in a second another run already used gets its own folder', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    // Another run of this recipe used every stamp of the next ten minutes (longer than this test may take),
    // and left a results.json that would refuse promotion if this run read it.
    const runs = path.join(sb.stateDir, 'gitea', 'runs');
    const now = Date.now();
    const planted: string[] = [];
    for (let s = -5; s <= 600; s++) {
      const dir = path.join(runs, stamp(new Date(now + s * 1000)));
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'results.json'), JSON.stringify({ quick: true }));
      writeFileSync(path.join(dir, 'harness.log'), 'the other run\n');
      planted.push(dir);
    }
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.recipes[0].outcome).toBe('promoted');
    const own = path.dirname(doc.recipes[0].log);
    expect(planted).not.toContain(own);
    expect(path.basename(own)).toMatch(/^\d{8}T\d{6}Z-2$/);
    expect(planted).toContain(own.replace(/-2$/, ''));
    for (const dir of planted) expect(readFileSync(path.join(dir, 'harness.log'), 'utf8')).toBe('the other run\n');
    expect(readdirSync(runs)).toHaveLength(planted.length + 1);
  });
});
