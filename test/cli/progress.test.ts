// The progress display: the pure rendering (clock, ETAs, outcome lines), the live block against a small
// terminal model (log lines go above it, redraws leave nothing behind), the one-line-per-change log off a
// terminal, and the real CLI on a real terminal (tmux) mid-run and at the end.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SweepEvent } from '../../src/core/events.js';
import type { Logger } from '../../src/adapters/log.js';
import { applyEvent, formatClock, overallEta, type RecipeProgress, renderProgress } from '../../src/render/progress.js';
import { createProgress } from '../../src/adapters/terminal/progress.js';
import { addRelease } from '../support/sandbox.js';
import { BIN, cli, control, sandbox } from '../support/cli.js';

const S = 1000;
const T0 = Date.UTC(2025, 0, 1);

function rp(p: Partial<RecipeProgress> & Pick<RecipeProgress, 'recipe' | 'state'>): RecipeProgress {
  return { tag: null, outcome: null, expectedMs: null, since: T0, testingSince: null, ...p };
}

describe('formatClock', () => {
  it('is mm:ss below an hour and h:mm:ss from an hour on, never negative', () => {
    expect(formatClock(0)).toBe('00:00');
    expect(formatClock(999)).toBe('00:00');
    expect(formatClock(59_999)).toBe('00:59');
    expect(formatClock(61 * S)).toBe('01:01');
    expect(formatClock(59 * 60 * S + 59 * S)).toBe('59:59');
    expect(formatClock(3600 * S + 5 * S)).toBe('1:00:05');
    expect(formatClock(-5 * S)).toBe('00:00');
  });
});

describe('applyEvent', () => {
  it('keeps the expected duration and the tag across states, and times the harness from testing to done', () => {
    let s = applyEvent(undefined, { recipe: 'gitea', state: 'queued', at: T0, expectedMs: 90 * S });
    s = applyEvent(s, { recipe: 'gitea', state: 'syncing', at: T0 + S });
    s = applyEvent(s, { recipe: 'gitea', state: 'queued', at: T0 + 2 * S });
    expect(s).toMatchObject({ state: 'queued', expectedMs: 90 * S, tag: null, testingSince: null });
    s = applyEvent(s, { recipe: 'gitea', state: 'testing', at: T0 + 3 * S, tag: '1.2.0', expectedMs: 80 * S });
    expect(s).toMatchObject({ state: 'testing', expectedMs: 80 * S, tag: '1.2.0', testingSince: T0 + 3 * S });
    s = applyEvent(s, { recipe: 'gitea', state: 'done', at: T0 + 70 * S, outcome: 'promoted' });
    expect(s).toMatchObject({ state: 'done', outcome: 'promoted', tag: '1.2.0', since: T0 + 70 * S, testingSince: T0 + 3 * S });
  });
});

describe('overallEta', () => {
  const now = T0 + 30 * S;
  const testing = rp({ recipe: 'a', state: 'testing', expectedMs: 120 * S, testingSince: T0 });

  it('one at a time: what the testing one has left plus every queued one', () => {
    const states = [testing, rp({ recipe: 'b', state: 'queued', expectedMs: 60 * S }), rp({ recipe: 'c', state: 'syncing', expectedMs: 30 * S })];
    expect(overallEta(states, now, 1)).toEqual({ ms: 90 * S + 60 * S + 30 * S, unknown: 0 });
  });

  it('several at once: queued ones go, longest first, to the slot that frees up first', () => {
    const states = [
      testing,
      rp({ recipe: 'b', state: 'queued', expectedMs: 60 * S }),
      rp({ recipe: 'c', state: 'queued', expectedMs: 50 * S }),
      rp({ recipe: 'd', state: 'queued', expectedMs: 40 * S }),
    ];
    // Slots: a has 90s left, the other is free: it takes b (60), then c (50) = 110; d (40) goes after a = 130.
    expect(overallEta(states, now, 2)).toEqual({ ms: 130 * S, unknown: 0 });
  });

  it('an overdue harness counts as finishing now; recipes without history are counted apart', () => {
    const states = [
      rp({ recipe: 'a', state: 'testing', expectedMs: 10 * S, testingSince: T0 }),
      rp({ recipe: 'b', state: 'queued', expectedMs: null }),
      rp({ recipe: 'c', state: 'queued', expectedMs: 20 * S }),
      rp({ recipe: 'd', state: 'done', outcome: 'skipped' }),
    ];
    expect(overallEta(states, now, 1)).toEqual({ ms: 20 * S, unknown: 1 });
  });

  it('is null once nothing is left to run', () => {
    expect(overallEta([rp({ recipe: 'a', state: 'done', outcome: 'promoted' })], now, 1)).toBeNull();
  });
});

describe('renderProgress', () => {
  const now = T0 + 45 * S;
  const states = [
    rp({ recipe: 'gitea', state: 'testing', tag: '1.13.0+1.31.1', expectedMs: 120 * S, testingSince: T0 + 15 * S }),
    rp({ recipe: 'nextcloud', state: 'queued', expectedMs: 5 * 60 * S }),
    rp({ recipe: 'lasuite-docs', state: 'syncing', since: T0 + 40 * S }),
    rp({ recipe: 'traefik', state: 'done', tag: '3.6.0', outcome: 'skipped', since: T0 + 2 * S }),
    rp({ recipe: 'keycloak', state: 'done', tag: '10.1.0+24.0.0', outcome: 'red', testingSince: T0 + 3 * S, since: T0 + 14 * S }),
  ];

  it('shows one line per recipe: queued, syncing and testing with their clocks and ETAs, and outcomes', () => {
    expect(renderProgress(states, now, { startedAt: T0 })).toEqual([
      'sweep 00:45: 1 testing, 1 queued, 1 syncing, 2 done  ETA 06:30+ (1 without history)',
      '  gitea         1.13.0+1.31.1  testing 00:30  ETA 01:30',
      '  nextcloud                    queued   (usually 05:00)',
      '  lasuite-docs                 syncing 00:05',
      '  traefik       3.6.0          skipped',
      '  keycloak      10.1.0+24.0.0  red after 00:11',
    ]);
  });

  it('says when a harness runs past its usual time, and gives no ETA without history', () => {
    const lines = renderProgress(
      [
        rp({ recipe: 'a', state: 'testing', expectedMs: 20 * S, testingSince: T0 }),
        rp({ recipe: 'b', state: 'testing', expectedMs: null, testingSince: T0 + 40 * S }),
      ],
      now,
      { startedAt: T0, jobs: 2 },
    );
    expect(lines).toEqual([
      'sweep 00:45: 2 testing  ETA unknown (1 without history)',
      '  a  testing 00:45  overdue (usually 00:20)',
      '  b  testing 00:05',
    ]);
    expect(renderProgress([rp({ recipe: 'b', state: 'queued' })], now, { startedAt: T0 })[0]).toBe('sweep 00:45: 1 queued  ETA unknown (1 without history)');
  });

  it('the final frame counts outcomes and has no ETA', () => {
    const done = [
      rp({ recipe: 'a', state: 'done', outcome: 'promoted', testingSince: T0, since: T0 + 65 * S }),
      rp({ recipe: 'b', state: 'done', outcome: 'skipped' }),
      rp({ recipe: 'c', state: 'done', outcome: 'promoted', testingSince: T0 + 65 * S, since: T0 + 70 * S }),
    ];
    expect(renderProgress(done, T0 + 71 * S, { startedAt: T0, final: true })).toEqual([
      'sweep finished after 01:11: 2 promoted, 1 skipped',
      '  a  promoted after 01:05',
      '  b  skipped',
      '  c  promoted after 00:05',
    ]);
  });

  it('never wraps: lines are cut to the terminal width', () => {
    const lines = renderProgress(states, now, { startedAt: T0, width: 30 });
    expect(lines.every((l) => l.length <= 29)).toBe(true);
    expect(lines[1]).toBe('  gitea         1.13.0+1.31.1');
  });

  it('on a short terminal keeps the active recipes in view and summarises the rest', () => {
    const lines = renderProgress(states, now, { startedAt: T0, maxLines: 4 });
    expect(lines).toEqual([
      'sweep 00:45: 1 testing, 1 queued, 1 syncing, 2 done  ETA 06:30+ (1 without history)',
      '  gitea         1.13.0+1.31.1  testing 00:30  ETA 01:30',
      '  lasuite-docs                 syncing 00:05',
      '  ... and 3 more: 1 queued, 1 skipped, 1 red',
    ]);
  });
});

/** A tiny terminal: text, \n, \r, cursor up/down (CSI n A/B), erase line (CSI 2K), erase below (CSI J). */
function screen(out: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  for (const m of out.matchAll(/\x1b\[(\d*)([ABJK])|\r|\n|[^\x1b\r\n]+/g)) {
    const t = m[0];
    if (t === '\n') {
      row++;
      col = 0;
      if (lines.length <= row) lines.push('');
    } else if (t === '\r') col = 0;
    else if (m[2] === 'A') row = Math.max(0, row - Number(m[1] || 1));
    else if (m[2] === 'B') row = Math.min(lines.length - 1, row + Number(m[1] || 1));
    else if (m[2] === 'K') lines[row] = '';
    else if (m[2] === 'J') {
      lines[row] = lines[row]!.slice(0, col);
      lines.length = row + 1;
    } else {
      const l = lines[row]!.padEnd(col);
      lines[row] = l.slice(0, col) + t + l.slice(col + t.length);
      col += t.length;
    }
  }
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function fakeTerminal() {
  let out = '';
  const stream = {
    columns: 120,
    rows: 40,
    write(chunk: string | Uint8Array): boolean {
      out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      return true;
    },
  };
  const original = stream.write;
  return { stream, original, out: () => out, screen: () => screen(out) };
}

function fakeLog() {
  const calls: Array<[Record<string, unknown>, string]> = [];
  const log = { info: (fields: Record<string, unknown>, msg: string) => calls.push([fields, msg]) } as unknown as Logger;
  return { log, calls };
}

describe('createProgress on a terminal', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps one block at the bottom, ticks every second, prints log lines above it, and leaves a final block', () => {
    vi.useFakeTimers();
    const term = fakeTerminal();
    let t = T0;
    const p = createProgress({ stream: term.stream as unknown as NodeJS.WritableStream, tty: true, log: fakeLog().log, now: () => t });
    const ev = (e: Omit<SweepEvent, 'at'>) => p.listener({ ...e, at: t });
    ev({ recipe: 'alpha', state: 'queued', expectedMs: 60 * S });
    ev({ recipe: 'beta', state: 'queued', expectedMs: null });
    ev({ recipe: 'gamma', state: 'queued', expectedMs: 30 * S });
    ev({ recipe: 'gamma', state: 'done', tag: '2.0.0', outcome: 'skipped' });
    t += S;
    ev({ recipe: 'alpha', state: 'testing', tag: '1.1.0', expectedMs: 60 * S });
    // The logger writes to the same stream: the line must land above the block, whole.
    term.stream.write('12:00:01 info  [alpha] testing alpha 1.1.0\n');
    term.stream.write('12:00:01 info  [alpha] half a ');
    term.stream.write('line\n');
    t += 30 * S;
    vi.advanceTimersByTime(S);
    expect(term.screen()).toEqual([
      '12:00:01 info  [alpha] testing alpha 1.1.0',
      '12:00:01 info  [alpha] half a line',
      'sweep 00:31: 1 testing, 1 queued, 1 done  ETA 00:30+ (1 without history)',
      '  alpha  1.1.0  testing 00:30  ETA 00:30',
      '  beta          queued',
      '  gamma  2.0.0  skipped',
    ]);
    t += 30 * S;
    ev({ recipe: 'alpha', state: 'done', tag: '1.1.0', outcome: 'promoted' });
    ev({ recipe: 'beta', state: 'testing', tag: '0.9.0' });
    t += 5 * S;
    ev({ recipe: 'beta', state: 'done', tag: '0.9.0', outcome: 'red' });
    p.stop();
    p.stop();
    expect(term.screen()).toEqual([
      '12:00:01 info  [alpha] testing alpha 1.1.0',
      '12:00:01 info  [alpha] half a line',
      'sweep finished after 01:06: 1 promoted, 1 red, 1 skipped',
      '  alpha  1.1.0  promoted after 01:00',
      '  beta   0.9.0  red after 00:05',
      '  gamma  2.0.0  skipped',
    ]);
    // Stopped for good: the stream is handed back and the ticker no longer draws.
    expect(term.stream.write).toBe(term.original);
    const before = term.out();
    vi.advanceTimersByTime(5 * S);
    expect(term.out()).toBe(before);
  });

  it('draws nothing and touches nothing when no event came', () => {
    const term = fakeTerminal();
    const p = createProgress({ stream: term.stream as unknown as NodeJS.WritableStream, tty: true, log: fakeLog().log, now: Date.now });
    term.stream.write('a log line\n');
    p.stop();
    expect(term.out()).toBe('a log line\n');
  });
});

describe('createProgress off a terminal', () => {
  it('logs exactly one line per state change and writes nothing else', () => {
    const term = fakeTerminal();
    const { log, calls } = fakeLog();
    const p = createProgress({ stream: term.stream as unknown as NodeJS.WritableStream, tty: false, log, now: Date.now });
    p.listener({ recipe: 'alpha', state: 'queued', at: T0, expectedMs: 60 * S });
    p.listener({ recipe: 'alpha', state: 'testing', at: T0, tag: '1.1.0', expectedMs: 60 * S });
    p.listener({ recipe: 'alpha', state: 'done', at: T0, tag: '1.1.0', outcome: 'promoted' });
    p.stop();
    expect(calls).toEqual([
      [{ recipe: 'alpha', state: 'queued', tag: undefined, outcome: undefined, expectedMs: 60 * S }, 'recipe queued'],
      [{ recipe: 'alpha', state: 'testing', tag: '1.1.0', outcome: undefined, expectedMs: 60 * S }, 'recipe testing'],
      [{ recipe: 'alpha', state: 'done', tag: '1.1.0', outcome: 'promoted', expectedMs: undefined }, 'recipe done'],
    ]);
    expect(term.out()).toBe('');
  });
});

// ---------------------------------------------------------------------------------------------------------
// The real CLI on a real terminal.

const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const DIST = path.resolve(import.meta.dirname, '../../dist/cli/main.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe.skipIf(!hasTmux)('ccci-sweep run on a terminal (tmux)', () => {
  const socket = `ccci-progress-${process.pid}`;
  // A private server (-L) without the user's config; TMUX unset in case the tests themselves run in tmux.
  const tmux = (...args: string[]) =>
    execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8', env: { ...process.env, TMUX: '' } });
  /** The whole pane, scrollback included, so a block left behind by a bad redraw would show. */
  const pane = () => tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'sweep');

  async function until(what: string, ok: (text: string) => boolean, timeoutMs = 45_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    let text = '';
    while (Date.now() < end) {
      text = pane();
      if (ok(text)) return text;
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}; the screen:\n${text}`);
  }

  beforeAll(() => {
    // `npm test` builds first; a lone `vitest run` of this file builds only when there is nothing built.
    if (!existsSync(DIST)) execFileSync('npm', ['run', 'build'], { cwd: path.resolve(path.dirname(DIST), '../..'), stdio: 'ignore' });
  }, 120_000);

  afterEach(() => {
    try {
      tmux('kill-server');
    } catch {
      // no server left: nothing to clean
    }
  });

  it('shows testing mm:ss ticking with an ETA mid-run, and each outcome at the end, with no stale block', async () => {
    const sb = await sandbox([
      { name: 'alpha', releases: [{ tag: '1.0.0' }] },
      { name: 'beta', releases: [{ tag: '1.0.0' }] },
      { name: 'gamma', releases: [] },
    ]);
    // A first sweep gives alpha and beta a history, so the second one has medians to estimate from.
    control(sb, { alpha: { sleepMs: 3000 }, beta: { sleepMs: 1000 } });
    const first = await cli(sb, ['run']);
    expect(first.exitCode, first.stderr).toBe(0);
    await addRelease(sb, 'alpha', { tag: '1.1.0' });
    await addRelease(sb, 'beta', { tag: '1.1.0' });
    control(sb, { alpha: { sleepMs: 3000 }, beta: { sleepMs: 1000, exit: 1 } });

    const script = path.join(mkdtempSync(path.join(tmpdir(), 'ccci-tty-')), 'run.sh');
    const summary = `${script}.stdout`;
    writeFileSync(script, [
      'unset JOURNAL_STREAM CCCI_LOG_LEVEL',
      ...Object.entries({ ...sb.env, CCCI_LOG_FORMAT: 'pretty' }).map(([k, v]) => `export ${k}=${shq(v)}`),
      `node ${shq(BIN)} run > ${shq(summary)}`,
      'echo "__EXIT $?__"',
      'exec sleep 600',
      '',
    ].join('\n'));
    tmux('new-session', '-d', '-s', 'sweep', '-x', '200', '-y', '50', `bash ${shq(script)}`);

    const mid = await until('alpha testing for a second or more', (s) => /^ {2}alpha +1\.1\.0 +testing 00:0[1-9]/m.test(s));
    const alphaLine = mid.split('\n').find((l) => /^ {2}alpha /.test(l))!;
    expect(alphaLine).toMatch(/testing 00:0\d {2}(ETA 00:0\d|overdue \(usually 00:0\d\))$/);
    expect(mid).toMatch(/^ {2}beta +queued +\(usually 00:0\d\)$/m);
    expect(mid).toMatch(/^ {2}gamma +skipped$/m);
    expect(mid).toMatch(/^sweep 00:\d\d: 1 testing, 1 queued, 1 done {2}ETA 00:0\d$/m);

    const end = await until('the sweep to exit', (s) => /__EXIT \d+__/.test(s));
    expect(end).toMatch(/__EXIT 1__/); // beta went red
    const lines = end.split('\n');
    // Exactly one line per recipe in the whole pane: every redraw erased the block it replaced.
    for (const r of ['alpha', 'beta', 'gamma']) expect(lines.filter((l) => new RegExp(`^ {2}${r} `).test(l)), r).toHaveLength(1);
    expect(lines.filter((l) => /^sweep /.test(l))).toHaveLength(1);
    expect(end).toMatch(/^sweep finished after 00:\d\d: 1 promoted, 1 red, 1 skipped$/m);
    expect(end).toMatch(/^ {2}alpha +1\.1\.0 +promoted after 00:0[3-9]$/m);
    expect(end).toMatch(/^ {2}beta +1\.1\.0 +red after 00:0\d$/m);
    expect(end).toMatch(/^ {2}gamma +skipped$/m);
    // The log still went to the terminal, above the block: the stand-in harness's own output.
    const block = lines.findIndex((l) => /^sweep finished/.test(l));
    expect(lines.slice(0, block).some((l) => /\[alpha\] testing alpha 1\.1\.0/.test(l))).toBe(true);
    expect(readFileSync(summary, 'utf8')).toMatch(/3 recipes: /);
  }, 120_000);
});
