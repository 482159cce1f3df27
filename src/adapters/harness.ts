// The harness adapter. A recipe test is launched ONLY as `<cc-ci-run> <script>`, the same entrypoint Drone
// uses, so the sweep's test environment is the harness's by construction. The sweep adds the contract
// variables and removes the ones that would change what is tested (a stale REF in an operator's shell).
import { spawn } from 'node:child_process';
import { accessSync, appendFileSync, closeSync, constants, createWriteStream, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { mayAct } from './effects.js';
import { timerProblem } from '../core/duration.js';
import { ConfigError, HarnessError, messageOf } from '../core/errors.js';
import { type Logger, secretValues } from './log.js';
import { later, sleep } from './timers.js';

/** Inherited variables that select what the harness tests; the sweep decides that, not the shell. */
export const STRIPPED_ENV = ['REF', 'PR', 'SRC', 'MODE', 'CCCI_QUICK'] as const;

/**
 * The sweep's credentials. The mirror token pushes to every mirror, so recipe test code must not be able
 * to find it: systemd's credentials folder and the token file setting are never passed on, nor is any
 * CCCI_* variable named like a credential (a future CI token file included). CCCI_NOTIFY holds webhook
 * URLs, which carry their secret. Any other variable holding a registered secret (src/adapters/secrets.ts)
 * is dropped by its value.
 */
export const SECRET_ENV = ['CREDENTIALS_DIRECTORY', 'CCCI_MIRROR_TOKEN_FILE', 'CCCI_NOTIFY'] as const;
const SECRET_NAME = /^CCCI_.*(TOKEN|SECRET|PASSWORD|CREDENTIAL)/i;

/**
 * Pure: the one place that decides what of the sweep's own environment a harness, the seed script and
 * doctor's probe see. Everything else passes on unchanged (GIT_CONFIG_GLOBAL, EDITOR, PAGER, ...).
 * A variable whose value contains a registered secret is dropped too, whatever its name.
 */
export function harnessVisibleEnv(base: NodeJS.ProcessEnv, secrets: readonly string[] = secretValues()): Record<string, string> {
  const drop = new Set<string>([...STRIPPED_ENV, 'CCCI_UPGRADE_BASE', ...SECRET_ENV]);
  const env: Record<string, string> = {};
  for (const [k, val] of Object.entries(base)) {
    if (val === undefined || drop.has(k) || SECRET_NAME.test(k)) continue;
    if (secrets.some((s) => val.includes(s))) continue;
    env[k] = val;
  }
  return env;
}

// The harness contract's exit statuses live with the outcome mapping (pure).
export { HARNESS_EXIT } from '../core/outcome.js';

export interface SweepRunVars {
  recipe: string;
  ccciRepo: string;
  recipesDir: string;
  tag: string;
  upgradeBase: string | null;
  runsDir: string;
  extra?: Record<string, string>;
}

/** Pure: the harness's environment from the sweep's own. */
export function harnessEnv(base: NodeJS.ProcessEnv, v: SweepRunVars, secrets?: readonly string[]): Record<string, string> {
  const env = harnessVisibleEnv(base, secrets);
  Object.assign(env, {
    RECIPE: v.recipe,
    CCCI_SKIP_FETCH: '1',
    CCCI_REPO: v.ccciRepo,
    // The harness stages $ABRA_DIR/recipes/<recipe>: point it at this very clone.
    ABRA_DIR: path.dirname(v.recipesDir),
    CCCI_SWEEP: '1',
    CCCI_SWEEP_TAG: v.tag,
    CCCI_RUNS_DIR: v.runsDir,
    ...v.extra,
  });
  if (v.upgradeBase !== null) env.CCCI_UPGRADE_BASE = v.upgradeBase;
  return env;
}

/** Resolves cc-ci-run to an absolute executable path, or throws ConfigError saying how to fix it. */
export function resolveExecutable(cmd: string, env: NodeJS.ProcessEnv): string {
  const candidates = cmd.includes('/')
    ? [path.resolve(cmd)]
    : (env.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, cmd));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // try the next one
    }
  }
  throw new ConfigError(
    cmd.includes('/')
      ? `cc-ci-run ${cmd} is missing or not executable: fix --cc-ci-run / CCCI_RUN`
      : `${cmd} is not on PATH: install the harness wrapper or pass --cc-ci-run PATH`,
  );
}

export interface HarnessRun {
  ccciRun: string;
  script: string;
  ccciRepo: string;
  env: Record<string, string>;
  logFile: string;
  log: Logger;
  /** The caller's clock: the run's durationMs is measured on it, like every duration the sweep records. */
  now: () => Date;
  /** Aborting stops the harness: SIGTERM to its process group, then SIGKILL after the grace period. */
  signal?: AbortSignal;
  /** 0 or absent: no timeout. */
  timeoutMs?: number;
  stopGraceMs?: number;
  /** How long to keep reading the harness's output after it exited (a child may still hold its pipes). */
  pipeGraceMs?: number;
  /**
   * Told the harness's pid (= its process group) as soon as it is spawned, e.g. to record it in a lock. If it
   * throws, the harness is stopped at once (SIGTERM to its group, SIGKILL after the grace) and runHarness
   * throws that error once the harness has ended: a harness nobody could account for is not left running.
   */
  onSpawn?: (pid: number) => void;
}

export interface HarnessResult {
  /** The harness's own exit status; null when a signal ended it (see `signal`). */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** What ended it from our side, if anything. */
  stoppedBy: 'timeout' | 'abort' | null;
  durationMs: number;
  /** Why harness.log misses output (a write failed, e.g. the disk is full); absent when it is whole. */
  logIncomplete?: string;
}

/** Seconds to keep reading output after the harness exited, before its leftovers are stopped. */
export const PIPE_GRACE_MS = 3000;
/** Longest output line kept whole in the sweep's log (harness.log keeps every byte). */
export const MAX_LOG_LINE = 16 * 1024;

// Harness process groups still running, so a second SIGINT/SIGTERM can kill them all at once.
const activeGroups = new Set<number>();
let escalated = false;
const reportedSurvivors = new Set<string>();

/** A second stop request: SIGKILL every running harness's process group now, and skip any later grace. */
export function killAllHarnesses(): void {
  escalated = true;
  for (const pid of activeGroups) signalGroup(pid, 'SIGKILL');
}

export async function runHarness(h: HarnessRun): Promise<HarnessResult> {
  for (const [what, ms] of [['test timeout', h.timeoutMs], ['stop grace', h.stopGraceMs]] as const) {
    const problem = ms === undefined ? null : timerProblem(ms);
    if (problem) throw new ConfigError(`${what} ${ms} ms ${problem}`);
  }
  // Launching a harness is never read-only: in dry-run it is refused here, whoever asked.
  mayAct(`run ${h.ccciRun} ${h.script}`);
  mkdirSync(path.dirname(h.logFile), { recursive: true });
  const out = new HarnessOutput(h.logFile, h.log);
  const started = h.now().getTime();
  // detached: the harness gets its own process group, so a stop reaches every process it started.
  const child = spawn(h.ccciRun, [h.script], { cwd: h.ccciRepo, env: h.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  const launchError = await new Promise<Error | null>((resolve) => {
    child.once('spawn', () => resolve(null));
    child.once('error', resolve);
  });
  if (launchError || child.pid === undefined) {
    await out.close();
    throw new HarnessError(`cannot launch ${h.ccciRun}: ${messageOf(launchError)}`);
  }
  child.on('error', () => {}); // a failed kill(2) of an exited child is not news
  const pid = child.pid;
  activeGroups.add(pid);
  let unrecorded: unknown = null;
  try {
    h.onSpawn?.(pid);
  } catch (err) {
    unrecorded = err;
    h.log.error({ pid, err: messageOf(err) }, 'the harness could not be recorded: stopping it at once');
  }
  const streams = [['stdout', child.stdout!], ['stderr', child.stderr!]] as const;
  for (const [name, stream] of streams) out.attach(name, stream);

  let exited = false;
  let stoppedBy: HarnessResult['stoppedBy'] = null;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (why: 'timeout' | 'abort') => {
    if (stoppedBy || exited) return;
    stoppedBy = why;
    if (escalated) {
      h.log.warn({ pid, why }, 'stopping harness: SIGKILL to its process group (second stop request)');
      signalGroup(pid, 'SIGKILL');
      return;
    }
    h.log.warn({ pid, why }, 'stopping harness: SIGTERM to its process group');
    signalGroup(pid, 'SIGTERM');
    killTimer = later(() => {
      h.log.warn({ pid }, 'harness still running after the grace period: SIGKILL');
      signalGroup(pid, 'SIGKILL');
    }, h.stopGraceMs ?? 120_000);
  };
  const timeout = h.timeoutMs ? later(() => stop('timeout'), h.timeoutMs) : undefined;
  const onAbort = () => stop('abort');
  if (h.signal?.aborted || unrecorded) onAbort();
  h.signal?.addEventListener('abort', onAbort, { once: true });

  // The outcome is the harness's own exit status, known when IT exits, whoever still holds its pipes.
  const [code, signal] = await exit;
  exited = true;
  const durationMs = h.now().getTime() - started;
  clearTimeout(timeout);
  clearTimeout(killTimer);
  h.signal?.removeEventListener('abort', onAbort);
  try {
    await afterExit(h, pid, out, streams.map(([, s]) => s));
  } finally {
    activeGroups.delete(pid);
  }
  await out.close();
  if (unrecorded) throw unrecorded instanceof Error ? unrecorded : new HarnessError(String(unrecorded));
  return { exitCode: code, signal, stoppedBy, durationMs, ...(out.incomplete ? { logIncomplete: out.incomplete } : {}) };
}

/**
 * The harness has exited. Read what is left of its output for a few seconds; then stop whatever it left
 * in its process group, and name any process that escaped the group (setsid) but still holds its output
 * or carries its run's environment. Such an escapee is only logged: it is no longer ours to stop.
 */
async function afterExit(h: HarnessRun, pid: number, out: HarnessOutput, streams: Readable[]): Promise<void> {
  const pipesClosed = Promise.all(streams.map((s) => new Promise<void>((resolve) => {
    if (s.destroyed || s.readableEnded) return resolve();
    s.once('close', resolve);
  })));
  let graceTimer: NodeJS.Timeout | undefined;
  await Promise.race([pipesClosed, new Promise<void>((resolve) => { graceTimer = later(resolve, h.pipeGraceMs ?? PIPE_GRACE_MS); })]);
  clearTimeout(graceTimer);
  if (groupAlive(pid)) {
    h.log.warn({ pid }, 'the harness exited but left processes in its process group: stopping them');
    await stopGroup(pid, escalated ? 0 : (h.stopGraceMs ?? 120_000), h.log);
  }
  // A pipe that reached its end has no writer left anywhere: only the others can be held by a survivor.
  const inodes = streams.filter((s) => !s.readableEnded).map(pipeInode).filter((x): x is string => x !== null);
  const marker = h.env.CCCI_RUNS_DIR ? `CCCI_RUNS_DIR=${h.env.CCCI_RUNS_DIR}` : null;
  for (const s of findSurvivors(inodes, marker)) {
    // Once per sweep: the seed script runs with the same run marker and would find it again.
    const key = `${s.pid}:${s.command}`;
    if (reportedSurvivors.has(key)) continue;
    reportedSurvivors.add(key);
    h.log.warn({ survivor: s.pid, command: s.command }, 'a process the harness started escaped its process group and is still running; it was not stopped');
  }
  // Whoever still holds the pipes, the sweep stops reading them now.
  for (const s of streams) s.destroy();
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // the group is already gone
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGTERM to the group, SIGKILL after `graceMs`, and wait (briefly) until it is gone. */
async function stopGroup(pid: number, graceMs: number, log: Logger): Promise<void> {
  signalGroup(pid, graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
  // A grace period is a duration never recorded: the monotonic clock, immune to wall-clock steps.
  const deadline = performance.now() + graceMs;
  let killed = graceMs === 0;
  // Polled: a process group has no event to wait on that is not our own child's.
  for (let i = 0; groupAlive(pid); i++) {
    if (!killed && (performance.now() >= deadline || escalated)) {
      log.warn({ pid }, 'processes left by the harness still running after the grace period: SIGKILL');
      signalGroup(pid, 'SIGKILL');
      killed = true;
    }
    if (killed && i > 200) break; // unkillable (uninterruptible sleep): do not hang the sweep on it
    await sleep(50);
  }
}

/** The kernel's name of our end of a pipe (`pipe:[123]`); the other end carries the same name. */
function pipeInode(s: Readable): string | null {
  const fd = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return null;
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return null;
  }
}

/** Processes (other than us) holding one of the pipes, or whose environment carries this run's marker. */
function findSurvivors(inodes: string[], marker: string | null): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  // Compared as bytes: the run folder's path is UTF-8 in the environment, whatever its characters.
  const markerBytes = marker ? Buffer.from(marker, 'utf8') : null;
  const scratch = { buf: Buffer.allocUnsafe(64 * 1024) };
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid);
  } catch {
    return found; // no /proc: nothing to say
  }
  for (const p of pids) {
    let holds = false;
    try {
      if (inodes.length) holds = readdirSync(`/proc/${p}/fd`).some((fd) => {
        try {
          return inodes.includes(readlinkSync(`/proc/${p}/fd/${fd}`));
        } catch {
          return false;
        }
      });
      if (!holds && marker) holds = environHas(p, markerBytes!, scratch);
    } catch {
      continue; // gone, or not ours to read
    }
    if (!holds) continue;
    let command = '?';
    try {
      command = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 200);
    } catch {
      // gone meanwhile
    }
    found.push({ pid: Number(p), command });
  }
  return found;
}

/**
 * Whether `/proc/<pid>/environ` holds exactly the entry `marker` (entries end in NUL). Read into one reused
 * buffer and searched as bytes: the sweep reads every process's environment after each test, and on a busy
 * host decoding and splitting each one costs more than the search. Throws as readFileSync would.
 */
function environHas(pid: string, marker: Buffer, scratch: { buf: Buffer }): boolean {
  const fd = openSync(`/proc/${pid}/environ`, 'r');
  let len = 0;
  try {
    for (;;) {
      if (len === scratch.buf.length) {
        const bigger = Buffer.allocUnsafe(scratch.buf.length * 2);
        scratch.buf.copy(bigger, 0, 0, len);
        scratch.buf = bigger;
      }
      const n = readSync(fd, scratch.buf, len, scratch.buf.length - len, null);
      if (n === 0) break;
      len += n;
    }
  } finally {
    closeSync(fd);
  }
  const env = scratch.buf.subarray(0, len);
  for (let at = env.indexOf(marker); at >= 0; at = env.indexOf(marker, at + 1)) {
    const end = at + marker.length;
    if ((at === 0 || env[at - 1] === 0) && (end === len || env[end] === 0)) return true;
  }
  return false;
}

/**
 * The harness's output: every byte into harness.log with registered secrets scrubbed, and each line into
 * the sweep's log, at most MAX_LOG_LINE long (a "line" of hundreds of MB without a newline must neither
 * exhaust memory nor crash). A failing harness.log (disk full) never stops the reading: the harness is
 * supervised to its end either way, and the result says the log is incomplete.
 */
class HarnessOutput {
  incomplete: string | null = null;
  private readonly file;
  private readonly sources: Readable[] = [];
  private readonly scrubber = streamScrubber(secretValues());
  private paused = false;

  constructor(private readonly logFile: string, private readonly log: Logger) {
    this.file = createWriteStream(logFile, { flags: 'a' });
    this.file.on('error', (err: NodeJS.ErrnoException) => this.fail(err));
    this.file.on('drain', () => this.resume());
  }

  attach(name: 'stdout' | 'stderr', stream: Readable): void {
    this.sources.push(stream);
    // Room for a secret beyond the cut, so the log's own scrub sees it whole before the line is cut.
    const lines = new LineSplitter(MAX_LOG_LINE + this.scrubber.holdBack, (line, dropped) => {
      const text = dropped > 0 || line.length > MAX_LOG_LINE ? line.slice(0, MAX_LOG_LINE) : line;
      if (dropped > 0 || text.length < line.length) {
        this.log.info({ harness: name, truncatedBytes: dropped + Buffer.byteLength(line) - Buffer.byteLength(text) }, `${text} [line truncated; whole in harness.log]`);
      } else this.log.info({ harness: name }, text);
    });
    stream.on('data', (chunk: Buffer) => {
      lines.push(chunk);
      this.write(chunk);
    });
    stream.on('end', () => lines.end());
    stream.on('close', () => lines.end());
    stream.on('error', () => {}); // our end of a pipe; destroyed on purpose after the harness exits
  }

  private write(chunk: Buffer): void {
    if (this.incomplete) return;
    if (!this.file.write(this.scrubber.push(chunk))) this.pause();
  }

  // The file cannot keep up: stop reading (the harness blocks on its pipe) until it has written.
  private pause(): void {
    if (this.paused || this.incomplete) return;
    this.paused = true;
    for (const s of this.sources) s.pause();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const s of this.sources) s.resume();
  }

  private fail(err: NodeJS.ErrnoException): void {
    if (this.incomplete) return;
    this.incomplete = `harness.log is incomplete: writing it failed (${err.code ?? messageOf(err)})`;
    this.log.error({ log: this.logFile, err: messageOf(err) }, `${this.incomplete}; the harness is still supervised to its end`);
    this.resume();
  }

  async close(): Promise<void> {
    const rest = this.scrubber.end();
    if (!this.incomplete && rest.length) this.file.write(rest);
    await new Promise<void>((resolve) => {
      if (this.file.destroyed) return resolve();
      this.file.once('close', resolve);
      this.file.end();
    });
    if (this.incomplete) {
      try {
        appendFileSync(this.logFile, `\n[ccci-sweep] ${this.incomplete}\n`);
      } catch {
        // still full: the sweep's log and the result say it
      }
    }
  }
}

/**
 * Pure: removes secrets from a byte stream cut into arbitrary chunks (`***` in their place). It holds back
 * the last `holdBack` bytes of each chunk, which could be the start of a secret the next chunk completes.
 */
export function streamScrubber(secrets: readonly string[]): { push: (chunk: Buffer) => Buffer; end: () => Buffer; holdBack: number } {
  // latin1 maps bytes 1:1 to characters, so any bytes (not only UTF-8) pass through unchanged.
  const needles = secrets.filter((s) => s.length > 0).map((s) => Buffer.from(s, 'utf8').toString('latin1'));
  const holdBack = Math.max(0, ...needles.map((s) => s.length - 1));
  let tail = '';
  const scrub = (text: string) => needles.reduce((t, s) => t.split(s).join('***'), text);
  return {
    holdBack,
    push(chunk) {
      if (needles.length === 0) return chunk; // nothing to scrub: no copies of a chatty harness's output
      const text = scrub(tail + chunk.toString('latin1'));
      const cut = Math.max(0, text.length - holdBack);
      tail = text.slice(cut);
      return Buffer.from(text.slice(0, cut), 'latin1');
    },
    end() {
      const rest = Buffer.from(tail, 'latin1');
      tail = '';
      return rest;
    },
  };
}

/** Splits a byte stream into lines, keeping at most `limit` bytes of each; counts the bytes dropped. */
class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private dropped = 0;
  private ended = false;

  constructor(private readonly limit: number, private readonly emit: (line: string, dropped: number) => void) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      this.take(chunk.subarray(start, nl === -1 ? chunk.length : nl));
      if (nl === -1) return;
      this.flush();
      start = nl + 1;
    }
  }

  private take(piece: Buffer): void {
    const room = this.limit - this.size;
    if (piece.length > room) this.dropped += piece.length - room;
    const kept = piece.length > room ? piece.subarray(0, room) : piece;
    if (kept.length) {
      this.parts.push(Buffer.from(kept)); // a copy: the chunk itself is not retained
      this.size += kept.length;
    }
  }

  private flush(): void {
    const line = Buffer.concat(this.parts).toString('utf8').replace(/\r$/, '');
    const dropped = this.dropped;
    this.parts = [];
    this.size = 0;
    this.dropped = 0;
    this.emit(line, dropped);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.size > 0 || this.dropped > 0) this.flush();
  }
}
