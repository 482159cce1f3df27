// A reader that stops reading (a paused pager on `run 2>&1 | less`) must not make the sweep's memory grow:
// what waits for stderr is bounded, log lines beyond are dropped and counted, harness.log keeps every byte,
// and the sweep goes on supervising the harness. Built CLI, stand-in harness printing hundreds of MB.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cliEnv, control, sandbox, until } from '../support/cli.js';

/** Peak resident memory of a live process (VmHWM, KiB), or null once it is gone. */
function peakKiB(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

describe('a stderr reader that stops reading', () => {
  it('a harness printing 300 MB: the sweep finishes with its memory bounded, drops log lines and says how many; harness.log is whole', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    const printBytes = 300 * 1024 * 1024;
    control(sb, { gitea: { printBytes } });
    // stderr is a pipe this test does not read (a paused pager) until the harness has ended.
    const child = spawn('node', [BIN, 'run', '--json'], { env: cliEnv(sb), stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => stdout.push(b));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let peak = 0;
    let gone = false;
    void exited.then(() => { gone = true; });
    const ends = `${sb.harnessLog}.ends`;
    // VmHWM only grows: its last reading while the sweep is alive is its peak so far.
    await until('the harness to print everything and end', () => {
      peak = Math.max(peak, peakKiB(child.pid!) ?? 0);
      return existsSync(ends) || gone;
    }, 170_000);
    peak = Math.max(peak, peakKiB(child.pid!) ?? 0);
    // The reader comes back: what waited is read, the sweep finishes and says what it dropped.
    const stderr: Buffer[] = [];
    child.stderr.on('data', (b: Buffer) => stderr.push(b));
    const code = await exited;
    const err = Buffer.concat(stderr).toString('utf8');
    expect(code, err.slice(-2000)).toBe(0);
    expect(JSON.parse(Buffer.concat(stdout).toString('utf8')).recipes[0]).toMatchObject({ outcome: 'promoted' });
    expect(peak, `peak RSS ${peak} KiB`).toBeGreaterThan(0);
    expect(peak, `peak RSS ${peak} KiB`).toBeLessThan(200 * 1024);
    expect(err).toMatch(/^ccci-sweep: \d+ log lines dropped \(stderr not read\)$/m);
    const log = readFileSync(path.join(sb.stateDir, 'gitea', 'runs', (await import('node:fs')).readdirSync(path.join(sb.stateDir, 'gitea', 'runs'))[0]!, 'harness.log'));
    expect(statSync(path.join(sb.stateDir, 'gitea')).isDirectory()).toBe(true);
    expect(log.length).toBeGreaterThanOrEqual(printBytes);
  }, 180_000);
});
