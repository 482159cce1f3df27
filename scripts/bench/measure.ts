// Timing, memory and statistics helpers of the benchmark. Child processes are timed from spawn to exit
// with the monotonic clock; CPU is read from /proc/self/stat (children's user+system time, which covers the
// measured command *and* the loopback server's git backends, both children of this process).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Timed {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
  /** CPU of all children of this process during the command (ms), or null off Linux. */
  cpuMs: number | null;
  /** Peak RSS in KiB when measured (see peakRss), else null. */
  maxRssKb: number | null;
}

const TICK_MS = 10; // USER_HZ is 100 on every Linux we run on

/** cutime + cstime of this process, in ms (children already waited for). */
export function childCpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the parenthesised command name; cutime and cstime are fields 16 and 17.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[13]) + Number(rest[14])) * TICK_MS;
  } catch {
    return null;
  }
}

export const TIME_BIN = '/usr/bin/time';
export const haveGnuTime = (): boolean => existsSync(TIME_BIN);

export interface RunOpts {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Measure peak RSS: through GNU time when present, else by polling /proc/<pid>/status VmHWM. */
  rss?: boolean;
}

export async function timed(cmd: string, args: string[], o: RunOpts): Promise<Timed> {
  let file = cmd;
  let argv = args;
  let rssFile: string | null = null;
  let tmp: string | null = null;
  if (o.rss && haveGnuTime()) {
    tmp = mkdtempSync(path.join(tmpdir(), 'ccci-bench-time-'));
    rssFile = path.join(tmp, 'rss');
    file = TIME_BIN;
    argv = ['-f', '%M', '-o', rssFile, cmd, ...args];
  }
  const cpu0 = childCpuMs();
  const t0 = performance.now();
  const child = spawn(file, argv, { env: o.env, cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  let polledKb = 0;
  const poll = o.rss && !rssFile
    ? setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) polledKb = Math.max(polledKb, Number(m[1]));
      } catch {
        // exited between two polls
      }
    }, 5)
    : undefined;
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c));
  });
  const ms = performance.now() - t0;
  clearInterval(poll);
  const cpu1 = childCpuMs();
  let maxRssKb: number | null = null;
  if (rssFile) {
    const n = Number(readFileSync(rssFile, 'utf8').trim().split('\n').at(-1));
    maxRssKb = Number.isFinite(n) && n > 0 ? n : null;
    rmSync(tmp!, { recursive: true, force: true });
  } else if (o.rss) maxRssKb = polledKb || null;
  return {
    ms, code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'),
    cpuMs: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null, maxRssKb,
  };
}

export interface Stats {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function stats(samples: number[]): Stats {
  if (samples.length === 0) throw new Error('no samples');
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s.at(-1)!, samples };
}

/** Least squares y = a + b·x, with R². */
export function linearFit(xs: number[], ys: number[]): { intercept: number; slope: number; r2: number } {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { intercept: my - slope * mx, slope, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

/** Median wall time of `fn` in ms: one warm-up, then repeats until `budgetMs` is spent (at least `min` runs). */
export function timeInProcess(fn: () => void, budgetMs = 300, min = 5, max = 200): Stats {
  fn();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < min || (performance.now() - start < budgetMs && samples.length < max)) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  return stats(samples);
}
