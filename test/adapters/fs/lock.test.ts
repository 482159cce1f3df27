// One sweep at a time: two real `run` processes, a stale lock, and the per-recipe lock.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { harnessAlive, isAlive, processStart } from '../../../src/adapters/fs/lock.js';
import { cli, cliJson, control, launches, sandbox, startCli as start, until } from '../../support/cli.js';
import { git } from '../../support/git.js';

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
      new RegExp(`^ccci-sweep: sweep already running \\(pid ${first.pid}, started \\d{4}-\\d\\d-\\d\\dT[^,]+, command "ccci-sweep run", by operator:[^)]*\\); wait for it or pass --wait-lock DURATION$`),
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

describe('locks that cannot lie', () => {
  it.each([
    ['empty', ''],
    ['not JSON', '{"pid": 12'],
    ['pid -1', '{"pid": -1, "pidStart": null, "startedAt": "?", "command": "?", "by": "?"}'],
    ['pid 0', '{"pid": 0}'],
  ])('a host lock file that is %s is stale: taken over with a warning, not exit 3', async (_what, content) => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    writeFileSync(path.join(sb.stateDir, '.sweep.lock'), content);
    mkdirSync(path.join(sb.stateDir, 'gitea'), { recursive: true });
    writeFileSync(path.join(sb.stateDir, 'gitea', '.recipe.lock'), content);
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.recipes[0].outcome).toBe('promoted');
    expect(r.stderr).toMatch(/taking over an empty or unreadable lock file/);
    expect(readdirSync(sb.stateDir).filter((f) => f.includes('lock'))).toEqual([]);
    expect(readdirSync(path.join(sb.stateDir, 'gitea')).filter((f) => f.includes('lock'))).toEqual([]);
  });

  it('a recorded process whose pid was reused (other start time) holds nothing', () => {
    const real = processStart(process.pid)!;
    expect(isAlive({ pid: process.pid, pidStart: real, startedAt: '', command: '', by: '' })).toBe(true);
    expect(isAlive({ pid: process.pid, pidStart: `${real}1`, startedAt: '', command: '', by: '' })).toBe(false);
    const dead = deadPid();
    // A dead sweep whose harness group (here: this test runner's group) is alive keeps the lock.
    const pgid = Number(readFileSync(`/proc/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]);
    const leaderStart = processStart(pgid);
    expect(harnessAlive({ pid: pgid, pidStart: leaderStart })).toBe(true);
    expect(isAlive({ pid: dead, pidStart: '1', startedAt: '', command: '', by: '', harness: { pid: pgid, pidStart: leaderStart, startedAt: '' } })).toBe(true);
    expect(harnessAlive({ pid: dead, pidStart: '1' })).toBe(false);
  });

  it('a taker that died mid-takeover (its marker left) blocks nobody; its leftovers are cleaned up', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    const lock = path.join(sb.stateDir, '.sweep.lock');
    const dead = deadPid();
    writeFileSync(lock, JSON.stringify({ pid: dead, pidStart: '1', startedAt: '2026-01-01T00:00:00Z', command: 'crashed', by: 'timer', nonce: 'abcdef0123456789' }));
    // A sweep that died while taking it over, and one killed between writing its lock and linking it.
    writeFileSync(`${lock}.takeover.nabcdef0123456789.0`, JSON.stringify({ pid: dead, pidStart: '1', startedAt: '2026-01-01T00:00:01Z', command: 'taking over', by: 'timer' }));
    writeFileSync(path.join(sb.stateDir, `..sweep.lock.${dead}.0badc0de.tmp`), '{"pid":');
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.recipes[0].outcome).toBe('promoted');
    expect(readdirSync(sb.stateDir).filter((f) => f.includes('lock'))).toEqual([]);
  });

  it('of many sweeps racing to take over one stale lock, exactly one wins (real processes)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ccci-lock-race-'));
    const lockModule = pathToFileURL(path.resolve(import.meta.dirname, '../../../dist/adapters/fs/lock.js')).href;
    const racer = path.join(dir, 'racer.mjs');
    // Each racer waits for "go", tries the lock once, says what it got, and a winner holds it until "end".
    writeFileSync(racer, `
import { appendFileSync, existsSync } from 'node:fs';
import { tryLock } from ${JSON.stringify(lockModule)};
const [file, go, results, end] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
while (!existsSync(go)) await sleep(2);
const log = { warn() {}, info() {}, error() {}, debug() {} };
const got = await tryLock(file, { log, command: 'race', by: 'test', now: () => new Date() });
appendFileSync(results, (('release' in got) ? 'won' : 'lost') + ' ' + process.pid + '\\n');
if ('release' in got) while (!existsSync(end)) await sleep(5);
`);
    const RACERS = 12;
    for (let round = 0; round < 3; round++) {
      const file = path.join(dir, `round${round}.lock`);
      const go = path.join(dir, `go${round}`);
      const end = path.join(dir, `end${round}`);
      const results = path.join(dir, `results${round}`);
      writeFileSync(results, '');
      // A big stale lock (a corrupt one, say): reading it takes each racer a while, so racers that read it
      // stale finish reading at different times, long after the first taker already holds the lock anew.
      writeFileSync(file, JSON.stringify({ pid: deadPid(), pidStart: '1', startedAt: '2026-01-01T00:00:00Z', command: 'crashed', by: 'timer', junk: 'j'.repeat(8_000_000) }));
      const procs = Array.from({ length: RACERS }, () => execa('node', [racer, file, go, results, end], { reject: false, stdin: 'ignore' }));
      // Every racer up and polling before the start.
      await new Promise((r) => setTimeout(r, 0));
      await until('all racers to start', () => procs.every((p) => p.pid !== undefined && existsSync(`/proc/${p.pid}`)));
      writeFileSync(go, '');
      const lines = () => readFileSync(results, 'utf8').trim().split('\n').filter(Boolean);
      await until('every racer to decide', () => lines().length === RACERS);
      writeFileSync(end, '');
      for (const p of await Promise.all(procs)) expect(p.exitCode, String(p.stderr)).toBe(0);
      expect(lines().filter((l) => l.startsWith('won')), `round ${round}`).toHaveLength(1);
      const winner = Number(lines().find((l) => l.startsWith('won'))!.split(' ')[1]);
      expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBe(winner);
    }
    expect(readdirSync(dir).filter((f) => f.includes('takeover') || f.endsWith('.tmp'))).toEqual([]);
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

  const groups: number[] = [];
  afterEach(() => {
    for (const g of groups.splice(0)) {
      try {
        process.kill(-g, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  it("a crashed sweep's test still running: the recipe is an error, its clone untouched, no second harness; others go on", async () => {
    const sb = await sandbox([
      { name: 'gitea', releases: [{ tag: '1.0.0' }] },
      { name: 'other', releases: [{ tag: '1.0.0' }] },
    ]);
    control(sb, { gitea: { sleepMs: 600_000 } });
    const first = start(sb, ['run', '--recipe', 'gitea']);
    const lockFile = path.join(sb.stateDir, 'gitea', '.recipe.lock');
    await until('the harness to be recorded in the recipe lock', () => launches(sb).length > 0 && existsSync(lockFile) && !!JSON.parse(readFileSync(lockFile, 'utf8')).harness);
    const harness = JSON.parse(readFileSync(lockFile, 'utf8')).harness as { pid: number };
    groups.push(harness.pid);
    // The sweep dies (kill -9, OOM); its harness, in its own process group, goes on deploying.
    first.kill('SIGKILL');
    await first;
    expect(() => process.kill(harness.pid, 0)).not.toThrow();
    const clone = path.join(sb.recipesDir, 'gitea');
    const tested = git(clone, 'rev-parse', 'HEAD');

    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode).toBe(1);
    const by = Object.fromEntries(doc.recipes.map((x: any) => [x.recipe, x]));
    expect(by.gitea).toMatchObject({ outcome: 'error' });
    expect(by.gitea.detail).toMatch(new RegExp(`^a test from an earlier sweep is still running, pid ${harness.pid} `));
    expect(by.other.outcome).toBe('promoted');
    expect(launches(sb).filter((l) => l.recipe === 'gitea')).toHaveLength(1);
    expect(git(clone, 'rev-parse', 'HEAD')).toBe(tested); // not restored under the running test
    expect(() => git(clone, 'symbolic-ref', '-q', 'HEAD')).toThrow();

    // Once it has ended, the next run puts the clone back and tests again.
    process.kill(-harness.pid, 'SIGKILL');
    await until('the harness group to be gone', () => !harnessAlive({ pid: harness.pid, pidStart: null }));
    control(sb, {});
    const next = await cliJson(sb, ['run']);
    expect(next.r.exitCode, next.r.stderr).toBe(0);
    expect(next.doc.recipes.find((x: any) => x.recipe === 'gitea')).toMatchObject({ outcome: 'promoted' });
    expect(git(clone, 'symbolic-ref', '--short', 'HEAD')).toBe('main');
  });
});
