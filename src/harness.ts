// The harness adapter. A recipe test is launched ONLY as `<cc-ci-run> <script>`, the same entrypoint Drone
// uses, so the sweep's test environment is the harness's by construction. The sweep adds the contract
// variables and removes the ones that would change what is tested (a stale REF in an operator's shell).
import { accessSync, constants, createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ConfigError, HarnessError } from './errors.js';
import type { Logger } from './log.js';

/** Inherited variables that select what the harness tests; the sweep decides that, not the shell. */
export const STRIPPED_ENV = ['REF', 'PR', 'SRC', 'MODE', 'CCCI_QUICK'] as const;

/** Exit codes of the harness contract. */
export const HARNESS_EXIT = { green: 0, deadline: 142, sigterm: 143 } as const;

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
export function harnessEnv(base: NodeJS.ProcessEnv, v: SweepRunVars): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, val] of Object.entries(base)) if (val !== undefined) env[k] = val;
  for (const k of [...STRIPPED_ENV, 'CCCI_UPGRADE_BASE']) delete env[k];
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
export function resolveExecutable(cmd: string, env: NodeJS.ProcessEnv = process.env): string {
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
  /** Aborting stops the harness: SIGTERM to its process group, then SIGKILL after the grace period. */
  signal?: AbortSignal;
  timeoutMs?: number;
  stopGraceMs?: number;
}

export interface HarnessResult {
  exitCode: number | null;
  /** What ended it from our side, if anything. */
  stoppedBy: 'timeout' | 'abort' | null;
  durationMs: number;
}

export async function runHarness(h: HarnessRun): Promise<HarnessResult> {
  mkdirSync(path.dirname(h.logFile), { recursive: true });
  const logStream = createWriteStream(h.logFile, { flags: 'a' });
  const started = Date.now();
  // Loaded here, not at start-up: plan and status never launch anything.
  const { execa } = await import('execa');
  // detached: the harness gets its own process group, so a stop reaches every process it started.
  const child = execa(h.ccciRun, [h.script], {
    cwd: h.ccciRepo,
    env: h.env,
    extendEnv: false,
    detached: true,
    stdin: 'ignore',
    buffer: false,
    reject: false,
  });
  let stoppedBy: HarnessResult['stoppedBy'] = null;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (why: 'timeout' | 'abort') => {
    if (stoppedBy || child.pid === undefined) return;
    stoppedBy = why;
    h.log.warn({ pid: child.pid, why }, 'stopping harness: SIGTERM to its process group');
    signalGroup(child.pid, 'SIGTERM');
    killTimer = setTimeout(() => {
      h.log.warn({ pid: child.pid }, 'harness still running after the grace period: SIGKILL');
      signalGroup(child.pid!, 'SIGKILL');
    }, h.stopGraceMs ?? 120_000);
  };
  const timeout = h.timeoutMs ? setTimeout(() => stop('timeout'), h.timeoutMs) : undefined;
  const onAbort = () => stop('abort');
  if (h.signal?.aborted) onAbort();
  h.signal?.addEventListener('abort', onAbort, { once: true });

  for (const [name, stream] of [['stdout', child.stdout], ['stderr', child.stderr]] as const) {
    if (!stream) continue;
    stream.pipe(logStream, { end: false });
    createInterface({ input: stream }).on('line', (line) => h.log.info({ harness: name }, line));
  }
  const result = await child;
  clearTimeout(timeout);
  clearTimeout(killTimer);
  h.signal?.removeEventListener('abort', onAbort);
  await new Promise<void>((resolve) => logStream.end(resolve));
  if (result.failed && result.exitCode === undefined && result.signal === undefined) {
    throw new HarnessError(`cannot launch ${h.ccciRun}: ${result.shortMessage ?? result.message}`);
  }
  return { exitCode: result.exitCode ?? null, stoppedBy, durationMs: Date.now() - started };
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // the group is already gone
  }
}
