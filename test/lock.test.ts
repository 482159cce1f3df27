// One sweep at a time: two real `run` processes, a stale lock, and the per-recipe lock.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, cliJson, control, launches, sandbox, startCli as start, until } from './helpers/cli.js';
import { git } from './helpers/git.js';

/** The pid of a process that has exited: nothing can hold a lock under it. */
function deadPid(): number {
  const out = execFileSync('sh', ['-c', 'sh -c "echo \\$\\$"'], { encoding: 'utf8' });
  return Number(out.trim());
}

describe('host lock', () => {
  it('lets exactly one of two concurrent runs test; the other exits 3 naming the holder', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    control(sb, { gitea: { sleepMs: 2500 } });
    const first = start(sb, ['run']);
    await until('the first sweep to launch its harness', () => launches(sb).length > 0);
    const second = await cli(sb, ['run']);
    expect(second.exitCode).toBe(3);
    expect(second.stderr.trim()).toMatch(
      new RegExp(`^ccci-sweep: sweep already running \\(pid ${first.pid}, started \\d{4}-\\d\\d-\\d\\dT[^,]+, by operator:[^)]*\\); wait for it or pass --wait-lock DURATION$`),
    );
    const held = JSON.parse(readFileSync(path.join(sb.stateDir, '.sweep.lock'), 'utf8'));
    expect(held).toMatchObject({ pid: first.pid, command: 'ccci-sweep run', by: expect.stringMatching(/^operator:/) });
    const sync = await cli(sb, ['sync'], { CCCI_MIRROR_URL: `file://${sb.root}/mirror/{recipe}.git`, CCCI_GITEA_API: 'http://127.0.0.1:9/api/v1' });
    expect(sync.exitCode).toBe(3);
    // plan and status never need the lock.
    expect((await cli(sb, ['plan'])).exitCode).toBe(0);
    expect((await cli(sb, ['status'])).exitCode).toBe(0);
    expect((await first).exitCode).toBe(0);
    expect(launches(sb).filter((l) => !l.script.includes('seed'))).toHaveLength(1);
    expect(existsSync(path.join(sb.stateDir, '.sweep.lock'))).toBe(false);
  });

  it('with --wait-lock, the second run waits for the first and then runs', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    control(sb, { gitea: { sleepMs: 1500 } });
    const first = start(sb, ['run']);
    await until('the first sweep to launch its harness', () => launches(sb).length > 0);
    const second = await cliJson(sb, ['run', '--wait-lock', '30s']);
    const firstDone = await first;
    expect(firstDone.exitCode).toBe(0);
    expect(second.r.exitCode, second.r.stderr).toBe(0);
    // It ran after the first promoted, so there was nothing left to do.
    expect(second.doc.recipes[0]).toMatchObject({ outcome: 'skipped', reason: 'no-new-version' });
    expect(second.r.stderr).toMatch(/waiting for its lock/);
  });

  it('takes over a lock whose process is gone, with a warning', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    mkdirSync(sb.stateDir, { recursive: true });
    const pid = deadPid();
    writeFileSync(path.join(sb.stateDir, '.sweep.lock'), JSON.stringify({ pid, pidStart: '1', startedAt: '2026-01-01T00:00:00Z', command: 'run', by: 'timer' }));
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.recipes[0].outcome).toBe('promoted');
    expect(r.stderr).toMatch(/taking over a lock whose process is gone/);
    expect(r.stderr).toContain(`"stalePid":${pid}`);
    expect(existsSync(path.join(sb.stateDir, '.sweep.lock'))).toBe(false);
  });
});

describe('recipe lock', () => {
  it('refuses to test a recipe another live process is sweeping, and sweeps the others', async () => {
    const sb = await sandbox([
      { name: 'gitea', releases: [{ tag: '1.0.0' }] },
      { name: 'other', releases: [{ tag: '1.0.0' }] },
    ]);
    // A live process (this test runner) holds gitea's recipe lock, as a by-hand run on another state dir would.
    mkdirSync(path.join(sb.stateDir, 'gitea'), { recursive: true });
    const pidStart = readFileSync(`/proc/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19];
    writeFileSync(path.join(sb.stateDir, 'gitea', '.recipe.lock'), JSON.stringify({ pid: process.pid, pidStart, startedAt: 'now', command: 'run', by: 'operator:alice' }));
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode).toBe(1);
    const by = Object.fromEntries(doc.recipes.map((x: any) => [x.recipe, x]));
    expect(by.gitea).toMatchObject({ outcome: 'error' });
    expect(by.gitea.detail).toMatch(new RegExp(`being swept by another process \\(pid ${process.pid}, .* by operator:alice\\)`));
    expect(by.other.outcome).toBe('promoted');
    expect(launches(sb).map((l) => l.recipe)).not.toContain('gitea');
    expect(git(path.join(sb.recipesDir, 'other'), 'symbolic-ref', '--short', 'HEAD')).toBe('main');
  });
});
