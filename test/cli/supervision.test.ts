// A sweep that survives what a real host does to it: a full disk under the state dir, a reader that goes
// away, a harness that prints without end, signals at any moment (twice), a harness that leaves children
// behind, durations too long for a timer, and a harness that tries to read or print the mirror token.
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../support/sandbox.js';
import { addRelease } from '../support/sandbox.js';
import { streamScrubber } from '../../src/adapters/harness.js';
import { alive, BIN, cli, cliEnv, cliJson, control, crashCli, launches, readJson, sandbox, startCli, until } from '../support/cli.js';
import { git } from '../support/git.js';

// Every sandbox and mount made here is removed after each test, whatever happened.
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      c();
    } catch {
      // best effort: the next cleanup still runs
    }
  }
});

async function box(releases = [{ tag: '1.0.0' }]): Promise<Sandbox> {
  const sb = await sandbox([{ name: 'gitea', releases }]);
  cleanups.push(() => rmSync(sb.root, { recursive: true, force: true }));
  // A sweep that failed its test may have left the stand-in running: never leave one behind.
  cleanups.push(() => {
    for (const l of launches(sb) as unknown as { pid: number }[]) {
      try {
        process.kill(-l.pid, 'SIGKILL');
      } catch {
        // already gone, as it should be
      }
    }
  });
  return sb;
}

const jsonLines = (file: string): any[] =>
  existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
const ends = (sb: Sandbox) => jsonLines(`${sb.harnessLog}.ends`);
const children = (sb: Sandbox) => jsonLines(`${sb.harnessLog}.children`);
const signals = (sb: Sandbox) => jsonLines(`${sb.harnessLog}.signals`);
const clone = (sb: Sandbox) => path.join(sb.recipesDir, 'gitea');
const onBranch = (sb: Sandbox) => git(clone(sb), 'symbolic-ref', '--short', 'HEAD');

/** A Node stack frame (`    at fn (file:1:2)`): never on an operator's screen. */
const STACK = /^\s+at .+:\d+:\d+\)?$/m;

/** The built CLI as a raw child process (to close its pipes early), with the tests' minimal environment. */
function rawCli(sb: Sandbox, args: string[], more: Record<string, string> = {}) {
  const child = spawn('node', [BIN, ...args], { env: cliEnv(sb, more), stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited };
}

const isRoot = process.getuid?.() === 0;

describe('a full disk during a test (tmpfs state dir)', () => {
  it.skipIf(!isRoot)('keeps supervising the harness to its end, restores the clone, and says the log is incomplete (needs root to mount a tmpfs)', async () => {
    const sb = await box();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', sb.stateDir]);
    cleanups.push(() => execFileSync('umount', ['-l', sb.stateDir]));
    control(sb, { gitea: { printBytes: 4 << 20 } }); // 4 MB of output into a 256 KB state dir
    const r = await cli(sb, ['run', '--json']);
    expect(r.stderr).not.toMatch(STACK);
    // The harness ran to its own end (its last act is to record that), and the clone is back on main.
    expect(ends(sb)).toContainEqual(expect.objectContaining({ recipe: 'gitea', script: 'runner/run_recipe_ci.py' }));
    expect(onBranch(sb)).toBe('main');
    const doc = JSON.parse(r.stdout);
    expect(doc.recipes[0]).toMatchObject({ recipe: 'gitea', logIncomplete: true, detail: expect.stringMatching(/harness\.log is incomplete: writing it failed \(ENOSPC\)/) });
    expect(r.stderr).toMatch(/harness\.log is incomplete.*still supervised to its end/);
    expect([0, 1]).toContain(r.exitCode);
  }, 120_000);
});

describe('no uncaught error', () => {
  it.skipIf(!isRoot)('stderr on a full disk (ENOSPC for every log line): the sweep still tests, promotes and restores (needs root to mount a tmpfs)', async () => {
    const sb = await box();
    const full = path.join(sb.root, 'full');
    mkdirSync(full);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', full]);
    cleanups.push(() => execFileSync('umount', ['-l', full]));
    const filler = path.join(full, 'filler');
    try {
      writeFileSync(filler, Buffer.alloc(1 << 20)); // larger than the file system: it ends full
    } catch {
      // ENOSPC: full, as wanted
    }
    const fd = openSync(path.join(full, 'sweep.log'), 'w');
    cleanups.push(() => closeSync(fd));
    const child = spawn('node', [BIN, 'run', '--json'], { env: cliEnv(sb), stdio: ['ignore', 'pipe', fd] });
    let stdout = '';
    child.stdout!.on('data', (c: Buffer) => { stdout += c.toString(); });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(JSON.parse(stdout).recipes[0].outcome).toBe('promoted');
    expect(readJson(path.join(sb.stateDir, 'gitea', 'canonical.json')).version).toBe('1.0.0');
    expect(onBranch(sb)).toBe('main');
  }, 60_000);

  it('stdout closed by its reader before the summary (EPIPE): the sweep finishes, writes its report, no stack trace', async () => {
    const sb = await box();
    const { child, exited } = rawCli(sb, ['run', '--json']);
    child.stdout.destroy(); // the reader is gone before anything was printed
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(STACK);
    expect(readJson(path.join(sb.stateDir, 'gitea', 'canonical.json')).version).toBe('1.0.0');
    expect(readJson(path.join(sb.stateDir, 'last-sweep.json')).recipes[0].outcome).toBe('promoted');
  }, 60_000);

  it('stdout and stderr both gone (a dropped session): the sweep still tests, promotes and restores', async () => {
    const sb = await box();
    control(sb, { gitea: { printBytes: 200_000 } }); // enough log lines to hit the closed stderr
    const { child, exited } = rawCli(sb, ['run']);
    child.stdout.destroy();
    child.stderr.destroy();
    expect(await exited).toBe(0);
    expect(readJson(path.join(sb.stateDir, 'gitea', 'canonical.json')).version).toBe('1.0.0');
    expect(readJson(path.join(sb.stateDir, 'last-sweep.json')).recipes[0].outcome).toBe('promoted');
    expect(onBranch(sb)).toBe('main');
  }, 60_000);

  it('a harness "line" of 96 MB without a newline: bounded memory, truncated in the log, whole in harness.log', async () => {
    const sb = await box();
    const bytes = 96 << 20;
    control(sb, { gitea: { bigLineBytes: bytes } });
    // A 48 MB heap: keeping the line in memory (as readline does) cannot fit.
    const { r, doc } = await cliJson(sb, ['run'], { NODE_OPTIONS: '--max-old-space-size=48' });
    expect(r.stderr).not.toMatch(STACK);
    expect(r.exitCode).toBe(0);
    expect(doc.recipes[0].outcome).toBe('promoted');
    const harnessLog = doc.recipes[0].log as string;
    expect(statSync(harnessLog).size).toBeGreaterThanOrEqual(bytes);
    const truncated = r.stderr.split('\n').filter((l) => l.includes('[line truncated; whole in harness.log]'));
    expect(truncated).toHaveLength(1);
    expect(truncated[0]!.length).toBeLessThan(64 * 1024);
    expect(JSON.parse(truncated[0]!).truncatedBytes).toBeGreaterThan(bytes - 64 * 1024);
  }, 120_000);
});

describe('the last resort', () => {
  it('an error nothing caught while the harness runs: one line, harness stopped, clone restored, exit 70', async () => {
    const sb = await box();
    control(sb, { gitea: { sleepMs: 600_000 } });
    const r = await crashCli(sb, 'uncaught-while-testing', ['run', '--json']);
    expect(r.exitCode).toBe(70);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('ccci-sweep: '))).toEqual(['ccci-sweep: internal error: injected fault at uncaught-while-testing']);
    expect(ends(sb)).toEqual([]); // it did not run to its 600 s end: it was stopped
    expect(onBranch(sb)).toBe('main');
    expect(existsSync(path.join(sb.stateDir, 'gitea', 'canonical.json'))).toBe(false);
    expect(existsSync(path.join(sb.stateDir, 'gitea', '.recipe.lock'))).toBe(false);
    expect(JSON.parse(r.stdout).recipes[0].outcome).toBe('interrupted');
  }, 60_000);
});

describe('signals', () => {
  /** A canonical at 1.0.0 and 1.1.0 waiting to be tested. */
  async function withNewRelease(): Promise<Sandbox> {
    const sb = await box();
    expect((await cli(sb, ['run'])).exitCode).toBe(0);
    await addRelease(sb, 'gitea', { tag: '1.1.0' });
    return sb;
  }

  it('SIGHUP (the ssh session dropped) is handled like SIGTERM and exits 129', async () => {
    const sb = await withNewRelease();
    control(sb, { gitea: { sleepMs: 600_000 } });
    const sweep = startCli(sb, ['run', '--json']);
    await until('the harness to start', () => launches(sb).length === 3);
    process.kill(sweep.pid!, 'SIGHUP'); // not execa's kill: no SIGKILL of its own after 5 s
    const r = await sweep;
    expect(r.exitCode).toBe(129);
    expect(signals(sb)).toContainEqual(expect.objectContaining({ signal: 'SIGTERM' }));
    expect(JSON.parse(String(r.stdout)).recipes[0]).toMatchObject({ outcome: 'interrupted', tag: '1.1.0' });
    expect(readJson(path.join(sb.stateDir, 'gitea', 'canonical.json')).version).toBe('1.0.0');
    expect(onBranch(sb)).toBe('main');
  }, 60_000);

  it('a second SIGTERM does not wait out the grace: SIGKILL to the harness group, clone restored, exit 143', async () => {
    const sb = await withNewRelease();
    control(sb, { gitea: { sleepMs: 600_000, onTerm: 'ignore' } });
    const sweep = startCli(sb, ['run', '--json', '--stop-grace', '10m']);
    await until('the harness to start', () => launches(sb).length === 3);
    const harnessPid = (launches(sb).at(-1) as unknown as { pid: number }).pid;
    process.kill(sweep.pid!, 'SIGTERM');
    await until('the harness to get SIGTERM', () => signals(sb).length === 1);
    process.kill(sweep.pid!, 'SIGTERM');
    const r = await sweep;
    expect(r.exitCode).toBe(143);
    expect(String(r.stderr)).toMatch(/SIGTERM again: killing every running harness now/);
    expect(alive(harnessPid)).toBe(false);
    expect(JSON.parse(String(r.stdout)).recipes[0].outcome).toBe('interrupted');
    expect(onBranch(sb)).toBe('main');
    expect(existsSync(path.join(sb.stateDir, 'gitea', '.recipe.lock'))).toBe(false);
  }, 60_000);

  it('Ctrl-C while --wait-lock waits exits 130, not 3', async () => {
    const sb = await withNewRelease();
    control(sb, { gitea: { sleepMs: 600_000 } });
    const first = startCli(sb, ['run']);
    await until('the first sweep to test', () => launches(sb).length === 3);
    const second = startCli(sb, ['run', '--wait-lock', '10m']);
    let err = '';
    second.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
    await until('the second sweep to wait for the lock', () => err.includes('waiting for its lock'));
    process.kill(second.pid!, 'SIGINT');
    const r = await second;
    expect(r.exitCode).toBe(130);
    expect(err).toMatch(/stopped while waiting for the host lock/);
    first.kill('SIGTERM');
    expect((await first).exitCode).toBe(143);
  }, 60_000);
});

describe('harness supervision', () => {
  it('a harness that exits 0 while a child it left holds its stdout is green, and the child is stopped', async () => {
    const sb = await box();
    control(sb, { gitea: { leaveChild: 'group' } });
    const { r, doc } = await cliJson(sb, ['run', '--test-timeout', '20s', '--stop-grace', '5s']);
    const child = children(sb)[0];
    cleanups.push(() => process.kill(child.pid, 'SIGKILL'));
    expect(doc.recipes[0]).toMatchObject({ outcome: 'promoted', exitCode: 0 });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/the harness exited but left processes in its process group: stopping them/);
    expect(alive(child.pid)).toBe(false);
  }, 60_000);

  it('a child that escaped the group (setsid) and holds stdout is named in the log, and the sweep goes on', async () => {
    const sb = await box();
    control(sb, { gitea: { leaveChild: 'setsid' } });
    const { r, doc } = await cliJson(sb, ['run', '--test-timeout', '20s']);
    const child = children(sb)[0];
    cleanups.push(() => process.kill(child.pid, 'SIGKILL'));
    expect(doc.recipes[0]).toMatchObject({ outcome: 'promoted', exitCode: 0 });
    const escaped = r.stderr.split('\n').filter((l) => l.includes('escaped its process group'));
    expect(escaped.map((l) => JSON.parse(l).survivor)).toEqual([child.pid]);
    expect(JSON.parse(escaped[0]!).command).toMatch(/sleep 600/);
  }, 60_000);

  it('an escaped child holding none of its output is found by its environment, also under a non-ASCII state dir', async () => {
    const sb = await box();
    control(sb, { gitea: { leaveChild: 'quiet' } });
    const stateDir = path.join(sb.root, 'état-ü');
    const { r, doc } = await cliJson(sb, ['run', '--test-timeout', '20s'], { CCCI_STATE_DIR: stateDir });
    const child = children(sb)[0];
    cleanups.push(() => process.kill(child.pid, 'SIGKILL'));
    expect(doc.recipes[0]).toMatchObject({ outcome: 'promoted', exitCode: 0 });
    const escaped = r.stderr.split('\n').filter((l) => l.includes('escaped its process group'));
    expect(escaped.map((l) => JSON.parse(l).survivor)).toEqual([child.pid]);
    expect(alive(child.pid)).toBe(true);
  }, 60_000);

  it('the seed script runs under the test timeout: stopped, promote-failed, canonical unchanged', async () => {
    const sb = await box();
    control(sb, { gitea: { seedSleepMs: 600_000 } });
    const { r, doc } = await cliJson(sb, ['run', '--test-timeout', '2s', '--stop-grace', '5s']);
    expect(r.exitCode).toBe(1);
    expect(doc.recipes[0]).toMatchObject({ outcome: 'promote-failed', detail: 'seed script runner/seed_canonical.py stopped: test timeout reached' });
    expect(existsSync(path.join(sb.stateDir, 'gitea', 'canonical.json'))).toBe(false);
    expect(signals(sb)).toContainEqual(expect.objectContaining({ signal: 'SIGTERM' }));
  }, 60_000);

  it.each([
    ['run', '--test-timeout', '999h'],
    ['run', '--stop-grace', '600h'],
    ['run', '--wait-lock', '99999999999999999999999h'],
    ['sync', '--wait-lock', '1000h'],
  ])('refuses %s %s %s (longer than a timer can hold) with exit 2', async (cmd, flag, value) => {
    const sb = await box();
    const r = await cli(sb, [cmd, flag, value]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${flag}.*must be at most 596h`));
    expect(launches(sb)).toHaveLength(0);
  });
});

describe('the token stays with the sweep', () => {
  const TOKEN = 'tok-7c1e9b2f5d8a4e60';

  it('is scrubbed from a byte stream however it is cut into chunks', () => {
    const secret = 'tök€n-7c1e9b2f';
    const input = Buffer.from(`a ${secret} b ${secret}${secret} \u00ff end`, 'utf8');
    const want = Buffer.from('a *** b ****** \u00ff end', 'utf8');
    for (let i = 0; i <= input.length; i++) {
      for (const j of [i, Math.min(input.length, i + 3), Math.min(input.length, i + 9)]) {
        const sc = streamScrubber([secret]);
        const out = Buffer.concat([sc.push(input.subarray(0, i)), sc.push(input.subarray(i, j)), sc.push(input.subarray(j)), sc.end()]);
        expect(out.equals(want), `cut at ${i}/${j}`).toBe(true);
      }
    }
    const none = streamScrubber([]);
    expect(Buffer.concat([none.push(Buffer.from([0xff, 0x00, 0x0a])), none.end()])).toEqual(Buffer.from([0xff, 0x00, 0x0a]));
  });

  function credentials(sb: Sandbox, text = `${TOKEN}\n`): { dir: string; file: string } {
    const dir = path.join(sb.root, 'credentials');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'mirror-token');
    writeFileSync(file, text, { mode: 0o600 });
    chmodSync(file, 0o600);
    return { dir, file };
  }

  it('with --no-sync: no credential variable reaches the harness, its other variables do, and what it prints is scrubbed', async () => {
    const sb = await box();
    const { dir, file } = credentials(sb);
    control(sb, { gitea: { print: `leaked ${TOKEN} here` } });
    const gitconfig = path.join(sb.root, 'operator.gitconfig');
    writeFileSync(gitconfig, '[color]\n\tui = never\n');
    const operator = { EDITOR: 'vim -u NONE', PAGER: 'less -R', GIT_CONFIG_GLOBAL: gitconfig, GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'advice.detachedHead', GIT_CONFIG_VALUE_0: 'false' };
    const { r, doc } = await cliJson(sb, ['run', '--no-sync'], {
      CREDENTIALS_DIRECTORY: dir, CCCI_MIRROR_TOKEN_FILE: file, CCCI_CI_TOKEN_FILE: file, ...operator,
    });
    expect(doc.recipes[0].outcome).toBe('promoted');
    const env = launches(sb)[0]!.env;
    for (const k of ['CREDENTIALS_DIRECTORY', 'CCCI_MIRROR_TOKEN_FILE', 'CCCI_CI_TOKEN_FILE']) expect(env).not.toHaveProperty(k);
    expect(env).toMatchObject(operator);
    const harnessLog = readFileSync(doc.recipes[0].log, 'utf8');
    expect(harnessLog).toContain('leaked *** here');
    expect(harnessLog).not.toContain(TOKEN);
    expect(r.stderr).toContain('leaked *** here');
    expect(r.stderr + r.stdout).not.toContain(TOKEN);
    for (const f of readdirSync(path.join(sb.stateDir, 'gitea'))) {
      if (f.endsWith('.jsonl') || f.endsWith('.json')) expect(readFileSync(path.join(sb.stateDir, 'gitea', f), 'utf8')).not.toContain(TOKEN);
    }
  }, 60_000);

  it('refuses a token file with more than one non-empty line: exit 2, one line naming the file', async () => {
    const sb = await box();
    const { file } = credentials(sb, `${TOKEN}\nX-Injected: yes\n`);
    for (const args of [['run', '--no-sync'], ['run', '--mirror-url', 'http://127.0.0.1:9/m/{recipe}.git']]) {
      const r = await cli(sb, args, { CCCI_MIRROR_TOKEN_FILE: file });
      expect(r.exitCode).toBe(2);
      expect(r.stderr.trim()).toBe(`ccci-sweep: mirror token file ${file} has 2 non-empty lines; it must hold the token alone on one line`);
    }
    expect(launches(sb)).toHaveLength(0);
  });
});
