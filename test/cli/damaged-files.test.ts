// A FIFO, socket, device or symlink where the sweep keeps state (or where it is told to read a setting or a
// token) never hangs it, and a lock that is not a record a sweep wrote never names a live holder. Built CLI,
// real git, the stand-in cc-ci-run; every run is bounded (SIGKILL after 30 s), so a hang fails, never stalls.
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN, cliEnv, sandbox } from '../support/cli.js';
import type { Sandbox } from '../support/sandbox.js';

function mkfifo(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  execFileSync('mkfifo', [file]);
}

/** The CLI, killed with SIGKILL if it has not ended after 30 s (a FIFO read would block even SIGTERM). */
async function bounded(sb: Sandbox, args: string[], env: Record<string, string> = {}) {
  const r = await execa('node', [BIN, ...args], {
    env: cliEnv(sb, env), extendEnv: false, reject: false, stdin: 'ignore', timeout: 30_000, killSignal: 'SIGKILL',
  });
  expect(r.timedOut, `ccci-sweep ${args.join(' ')} hung:\n${String(r.stderr)}`).toBe(false);
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

async function runJson(sb: Sandbox, args: string[] = ['run']) {
  const r = await bounded(sb, [...args, '--json']);
  let doc: any;
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.exitCode}):\n${r.stdout}\n--- stderr:\n${r.stderr}`);
  }
  return { r, doc };
}

const lockFiles = (dir: string) => readdirSync(dir).filter((f) => f.includes('lock'));

describe('a lock path that is not a regular lock file is damaged: taken over, never a hang or "keeps changing hands"', () => {
  const kinds: [string, (file: string, sb: Sandbox) => void][] = [
    ['a FIFO', (f) => mkfifo(f)],
    ['a dangling symlink', (f) => symlinkSync(path.join(path.dirname(f), 'no-such-file'), f)],
    // Even pointing at a record naming a live process: a sweep never writes its lock as a link.
    ['a symlink to a live-looking lock', (f, sb) => {
      const target = path.join(sb.root, `target-${path.basename(f)}`);
      writeFileSync(target, JSON.stringify({ pid: process.pid, pidStart: null, startedAt: '2026-01-01T00:00:00Z', command: 'x', by: 'y' }));
      symlinkSync(target, f);
    }],
    ['a lock naming a live pid without pidStart, startedAt, command and by', (f) => writeFileSync(f, JSON.stringify({ pid: process.pid }))],
    ['a lock naming a live pid without "by"', (f) => writeFileSync(f, JSON.stringify({ pid: process.pid, pidStart: null, startedAt: '2026-01-01T00:00:00Z', command: 'x' }))],
  ];

  it.each(kinds)('host and recipe lock: %s', async (_kind, make) => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    mkdirSync(path.join(sb.stateDir, 'gitea'), { recursive: true });
    make(path.join(sb.stateDir, '.sweep.lock'), sb);
    make(path.join(sb.stateDir, 'gitea', '.recipe.lock'), sb);
    const { r, doc } = await runJson(sb);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.recipes[0].outcome).toBe('promoted');
    expect(r.stderr).toMatch(/taking over an empty or unreadable lock file/);
    expect(r.stderr).not.toMatch(/keeps changing hands/);
    expect(lockFiles(sb.stateDir)).toEqual([]);
    expect(lockFiles(path.join(sb.stateDir, 'gitea'))).toEqual([]);
    // A link's target is never written through nor removed.
    for (const t of readdirSync(sb.root).filter((n) => n.startsWith('target-'))) {
      expect(JSON.parse(readFileSync(path.join(sb.root, t), 'utf8'))).toMatchObject({ pid: process.pid, command: 'x' });
    }
  });

  it('a folder at the lock path is refused in one line naming it (never removed)', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    const lock = path.join(sb.stateDir, '.sweep.lock');
    mkdirSync(lock, { recursive: true });
    const r = await bounded(sb, ['run']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe(`ccci-sweep: lock file ${lock} is a folder, not a lock: remove it (rmdir ${lock}) and run again`);
    expect(lstatSync(lock).isDirectory()).toBe(true);
  });
});

describe('a state file that is a FIFO is refused in one line naming it, never read (no hang)', () => {
  it('canonical.json: the recipe is an error naming the file; other recipes go on', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }, { name: 'other', releases: [{ tag: '1.0.0' }] }]);
    const file = path.join(sb.stateDir, 'gitea', 'canonical.json');
    mkfifo(file);
    const { r, doc } = await runJson(sb);
    expect(r.exitCode).toBe(1);
    expect(doc.recipes.map((x: any) => [x.recipe, x.outcome])).toEqual([['gitea', 'error'], ['other', 'promoted']]);
    expect(doc.recipes[0].detail).toContain(`${file} is a FIFO (named pipe), not a regular file`);
    expect(lstatSync(file).isFIFO()).toBe(true);
  });

  it('history.jsonl, holds.json, known-tags.json, notify-state.json: no hang; what cannot be read is named', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    const dir = path.join(sb.stateDir, 'gitea');
    for (const f of ['history.jsonl', 'holds.json', 'known-tags.json']) mkfifo(path.join(dir, f));
    mkfifo(path.join(sb.stateDir, 'notify-state.json'));
    for (const cmd of [['plan'], ['status'], ['explain', 'gitea']]) {
      const r = await bounded(sb, cmd);
      expect(r.stderr + r.stdout).toContain(path.join(dir, 'holds.json'));
    }
    const r = await bounded(sb, ['run', '--notify', 'http://127.0.0.1:9/']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout + r.stderr).toContain(`${path.join(dir, 'holds.json')} is a FIFO (named pipe), not a regular file`);
    for (const f of ['history.jsonl', 'holds.json', 'known-tags.json']) expect(lstatSync(path.join(dir, f)).isFIFO()).toBe(true);
  });

  it('history.jsonl alone: its history is ignored with a warning and appending to it is refused, naming it', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    const file = path.join(sb.stateDir, 'gitea', 'history.jsonl');
    mkfifo(file);
    const { r, doc } = await runJson(sb);
    expect(r.exitCode).toBe(1);
    expect(doc.recipes[0].outcome).toBe('error');
    expect(r.stderr).toContain(`${file} is a FIFO (named pipe), not a regular file`);
    expect(lstatSync(file).isFIFO()).toBe(true);
  });

  it('the settings file and the mirror token file: exit 2 naming the file', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    const settings = path.join(sb.root, 'fifo-settings.toml');
    mkfifo(settings);
    const s = await bounded(sb, ['plan'], { CCCI_SETTINGS: settings });
    expect(s.exitCode).toBe(2);
    expect(s.stderr.trim()).toBe(`ccci-sweep: cannot read settings file ${settings}: ${settings} is a FIFO (named pipe), not a regular file`);
    const token = path.join(sb.root, 'fifo-token');
    mkfifo(token);
    const t = await bounded(sb, ['plan', '--mirror-token-file', token]);
    expect(t.exitCode).toBe(2);
    expect(t.stderr).toContain(`cannot read mirror token file ${token}: ${token} is a FIFO (named pipe), not a regular file`);
  });
});
