// Pure: what a CI executor reads back from a build. The worker prints one `CCCI-SWEEP-RESULT <json>` line;
// the coordinator finds it in the build's log, checks it is the answer to its own question (recipe, sweep
// id), and maps the engines' build statuses to "still waiting", "running" or "ended". No I/O here.

import { topLevelKeys } from './promote-gate.js';

export const RESULT_MARK = 'CCCI-SWEEP-RESULT';

const OUTCOMES = new Set(['skipped', 'promoted', 'not-promoted', 'promote-failed', 'red', 'timeout', 'interrupted', 'error']);

/** The worker's answer: its `run --json` entry plus the sweep it belongs to and what it ran with. */
export interface WorkerResult {
  recipe: string;
  sweepId: string;
  tag: string | null;
  outcome: string;
  exitCode: number | null;
  durationMs: number;
  log: string | null;
  detail?: string;
  commit?: string;
  restoreError?: string;
  logIncomplete?: true;
  ccciCommit?: string | null;
  ccciRun?: string;
  startedAt?: string;
  [other: string]: unknown;
}

/** The one line the worker prints on stdout. */
export function resultLine(result: WorkerResult): string {
  return `${RESULT_MARK} ${JSON.stringify(result)}`;
}

export type FoundResult =
  | { kind: 'found'; result: WorkerResult }
  | { kind: 'none' }
  | { kind: 'invalid'; why: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The worker's result among a build's log lines. The LAST marked line counts: the worker prints it as its
 * very last act, so a harness that printed a look-alike earlier cannot decide the outcome. A line for
 * another recipe or sweep is not an answer (a re-run build, a copied log); a malformed one is reported.
 */
export function findResult(lines: readonly string[], expect: { recipe: string; sweepId: string }): FoundResult {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.replace(/\r$/, '');
    if (!line.startsWith(`${RESULT_MARK} `)) continue;
    let value: unknown;
    try {
      value = JSON.parse(line.slice(RESULT_MARK.length + 1));
    } catch {
      return { kind: 'invalid', why: 'its result line is not JSON' };
    }
    // Written by JSON.stringify, so a key given twice is not ours (JSON.parse would keep the last one).
    const keys = isObject(value) ? topLevelKeys(line.slice(RESULT_MARK.length + 1)) : [];
    if (new Set(keys).size !== keys.length) return { kind: 'invalid', why: 'its result line gives a key more than once' };
    const why = resultProblem(value, expect);
    return why ? { kind: 'invalid', why } : { kind: 'found', result: value as WorkerResult };
  }
  return { kind: 'none' };
}

function resultProblem(v: unknown, expect: { recipe: string; sweepId: string }): string | null {
  if (!isObject(v)) return 'its result line is not a JSON object';
  if (v.recipe !== expect.recipe) return `its result names recipe ${JSON.stringify(v.recipe)}, not ${expect.recipe}`;
  if (v.sweepId !== expect.sweepId) return `its result belongs to sweep ${JSON.stringify(v.sweepId)}, not ${expect.sweepId}`;
  if (typeof v.outcome !== 'string' || !OUTCOMES.has(v.outcome)) return `its result has an unknown outcome ${JSON.stringify(v.outcome)}`;
  if (v.tag !== null && typeof v.tag !== 'string') return 'its result has no tag';
  if (v.exitCode !== null && typeof v.exitCode !== 'number') return 'its result has an exitCode that is not a number';
  if (typeof v.durationMs !== 'number' || !Number.isFinite(v.durationMs) || v.durationMs < 0) return 'its result has no durationMs';
  for (const key of ['detail', 'commit', 'restoreError', 'log']) {
    if (v[key] !== undefined && v[key] !== null && typeof v[key] !== 'string') return `its result has a "${key}" that is not a string`;
  }
  return null;
}

/** Where a build is: not started yet (queued for a runner), running, or ended (whatever the verdict). */
export type BuildPhase = 'waiting' | 'running' | 'ended';

const DRONE_WAITING = new Set(['pending', 'blocked', 'waiting_on_dependencies']);
const DRONE_ENDED = new Set(['success', 'failure', 'killed', 'error', 'skipped', 'declined']);
const WOODPECKER_WAITING = new Set(['created', 'pending', 'blocked']);
const WOODPECKER_ENDED = new Set(['success', 'failure', 'killed', 'canceled', 'error', 'declined', 'skipped']);

/** An unknown status is treated as running: the build is followed until it ends or the timeout cancels it. */
export function buildPhase(engine: 'drone' | 'woodpecker', status: string): BuildPhase {
  const [waiting, ended] = engine === 'drone' ? [DRONE_WAITING, DRONE_ENDED] : [WOODPECKER_WAITING, WOODPECKER_ENDED];
  if (waiting.has(status)) return 'waiting';
  return ended.has(status) ? 'ended' : 'running';
}

/** Drone's step log: a JSON array of `{ pos, out, time }`; `out` holds one or more lines. */
export function droneLogLines(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const text = value.map((e) => (isObject(e) && typeof e.out === 'string' ? e.out : '')).join('');
  return text.split('\n');
}

/** Woodpecker's step log: a JSON array of `{ id, step_id, time, line, data, type }`, `data` base64. */
export function woodpeckerLogLines(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const out: string[] = [];
  const decoder = new TextDecoder();
  for (const e of value) {
    if (!isObject(e) || typeof e.data !== 'string') continue;
    let text: string;
    try {
      text = decoder.decode(Uint8Array.from(atob(e.data), (c) => c.charCodeAt(0)));
    } catch {
      continue;
    }
    out.push(...text.replace(/\n$/, '').split('\n'));
  }
  return out;
}

/** The sweep parameters a build was created with, when it is a sweep build (for adopting it later). */
export interface SweepBuildVars {
  recipe: string;
  tag: string;
  commit: string;
  sweepId: string;
}

export function sweepVarsOf(vars: unknown): SweepBuildVars | null {
  if (!isObject(vars) || vars.CCCI_SWEEP !== '1') return null;
  const { RECIPE: recipe, CCCI_SWEEP_TAG: tag, CCCI_SWEEP_COMMIT: commit, CCCI_SWEEP_ID: sweepId } = vars;
  if (typeof recipe !== 'string' || typeof tag !== 'string' || typeof commit !== 'string' || typeof sweepId !== 'string') return null;
  return { recipe, tag, commit, sweepId };
}

/** The poll interval with ±20 % jitter (`random` in [0, 1)), so builds of one sweep are not polled in step. */
export function jittered(ms: number, random: number): number {
  return Math.max(1, Math.round(ms * (0.8 + 0.4 * random)));
}

/** Why a build that ended has no usable result, in one line with where to look. */
export function noResultDetail(b: { number: number; status: string; url: string }, why?: string): string {
  return `build ${b.number} ended ${b.status} without a result${why ? ` (${why})` : ''}: ${b.url}`;
}
