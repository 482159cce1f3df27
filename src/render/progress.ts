// Progress of a run as text (pure): per-recipe state from the sweep's events, ETAs, and the lines of the
// live block. Drawing it on a terminal is src/adapters/terminal/progress.ts.
import type { RecipeState, SweepEvent } from '../core/events.js';

/** What the display knows about one recipe. */
export interface RecipeProgress {
  recipe: string;
  state: RecipeState;
  tag: string | null;
  outcome: string | null;
  /** Median of past harness durations; null when there is no history. */
  expectedMs: number | null;
  /** When the current state began, ms since the epoch. */
  since: number;
  /** When the harness started, once it has. */
  testingSince: number | null;
}

/** Folds one event into the recipe's progress (a new record; the old one is left alone). */
export function applyEvent(prev: RecipeProgress | undefined, e: SweepEvent): RecipeProgress {
  return {
    recipe: e.recipe,
    state: e.state,
    tag: e.tag !== undefined ? e.tag : (prev?.tag ?? null),
    outcome: e.state === 'done' ? (e.outcome ?? 'done') : null,
    expectedMs: e.expectedMs !== undefined ? e.expectedMs : (prev?.expectedMs ?? null),
    since: e.at,
    testingSince: e.state === 'testing' ? e.at : (prev?.testingSince ?? null),
  };
}

/** `mm:ss`, or `h:mm:ss` from an hour on; negative durations count as zero. */
export function formatClock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
}

export interface Eta {
  /** Time until the known work is done. */
  ms: number;
  /** Recipes still to test (or testing) without a history, not counted in `ms`. */
  unknown: number;
}

/**
 * Overall ETA: `jobs` slots, each busy with a testing recipe's remaining expected time (never below zero),
 * then every queued or syncing recipe placed, longest first, on the slot that frees up first. A queued
 * recipe may still turn out to be skipped; until its `done` arrives it is counted as if it will test.
 * Null when nothing is left to do.
 */
export function overallEta(states: RecipeProgress[], now: number, jobs: number): Eta | null {
  const testing = states.filter((s) => s.state === 'testing');
  const waiting = states.filter((s) => s.state === 'queued' || s.state === 'syncing');
  if (testing.length === 0 && waiting.length === 0) return null;
  let unknown = 0;
  const slots: number[] = [];
  for (const s of testing) {
    if (s.expectedMs === null) unknown++;
    slots.push(s.expectedMs === null ? 0 : Math.max(0, s.expectedMs - (now - (s.testingSince ?? s.since))));
  }
  while (slots.length < Math.max(1, jobs)) slots.push(0);
  const pending: number[] = [];
  for (const s of waiting) {
    if (s.expectedMs === null) unknown++;
    else pending.push(s.expectedMs);
  }
  pending.sort((a, b) => b - a);
  for (const d of pending) {
    let i = 0;
    for (let j = 1; j < slots.length; j++) if (slots[j]! < slots[i]!) i = j;
    slots[i] = slots[i]! + d;
  }
  return { ms: Math.max(...slots), unknown };
}

function etaText(eta: Eta): string {
  const known = eta.ms > 0 || eta.unknown === 0;
  if (!known) return `ETA unknown (${eta.unknown} without history)`;
  return eta.unknown === 0 ? `ETA ${formatClock(eta.ms)}` : `ETA ${formatClock(eta.ms)}+ (${eta.unknown} without history)`;
}

function statusText(s: RecipeProgress, now: number): string {
  switch (s.state) {
    case 'queued':
      return s.expectedMs === null ? 'queued' : `queued   (usually ${formatClock(s.expectedMs)})`;
    case 'syncing':
      return `syncing ${formatClock(now - s.since)}`;
    case 'testing': {
      const elapsed = now - (s.testingSince ?? s.since);
      const clock = `testing ${formatClock(elapsed)}`;
      if (s.expectedMs === null) return clock;
      const left = s.expectedMs - elapsed;
      return left > 0 ? `${clock}  ETA ${formatClock(left)}` : `${clock}  overdue (usually ${formatClock(s.expectedMs)})`;
    }
    case 'done': {
      const outcome = s.outcome ?? 'done';
      return s.testingSince === null ? outcome : `${outcome} after ${formatClock(s.since - s.testingSince)}`;
    }
  }
}

function counts(states: RecipeProgress[], key: (s: RecipeProgress) => string): string {
  const n = new Map<string, number>();
  for (const s of states) n.set(key(s), (n.get(key(s)) ?? 0) + 1);
  return [...n].map(([k, v]) => `${v} ${k}`).join(', ');
}

export interface RenderOptions {
  /** When the sweep started, for the elapsed time in the header. */
  startedAt: number;
  /** For the overall ETA (see overallEta). */
  jobs?: number;
  /** Terminal width: lines are cut to width - 1 so they never wrap (a wrapped line breaks the redraw). */
  width?: number;
  /** Most lines the block may take; beyond it the active recipes are shown and the rest summarised. */
  maxLines?: number;
  /** The last frame: no ETA, and the outcome counts when everything is done. */
  final?: boolean;
}

/** The block as lines (no ANSI, no newlines): a header, then one line per recipe in the given order. */
export function renderProgress(states: RecipeProgress[], now: number, o: RenderOptions): string[] {
  const allDone = states.length > 0 && states.every((s) => s.state === 'done');
  let header: string;
  if (o.final && allDone) {
    header = `sweep finished after ${formatClock(now - o.startedAt)}: ${counts(states, (s) => s.outcome ?? 'done')}`;
  } else {
    header = `sweep ${formatClock(now - o.startedAt)}: ${counts(states, (s) => s.state)}`;
    const eta = o.final ? null : overallEta(states, now, o.jobs ?? 1);
    if (eta) header += `  ${etaText(eta)}`;
  }
  const nameW = Math.max(0, ...states.map((s) => s.recipe.length));
  const tagW = Math.max(0, ...states.map((s) => (s.tag ?? '').length));
  const row = (s: RecipeProgress) =>
    `  ${s.recipe.padEnd(nameW)}  ${tagW > 0 ? `${(s.tag ?? '').padEnd(tagW)}  ` : ''}${statusText(s, now)}`.trimEnd();

  let shown = states;
  let rest: RecipeProgress[] = [];
  const room = o.maxLines === undefined ? Infinity : Math.max(1, o.maxLines - 1);
  if (states.length > room) {
    // Keep the recipes that move (testing, syncing) in view, then queued, then done; summarise the rest.
    const rank: Record<RecipeState, number> = { testing: 0, syncing: 1, queued: 2, done: 3 };
    const keep = new Set(
      [...states].sort((a, b) => rank[a.state] - rank[b.state]).slice(0, Math.max(0, room - 1)).map((s) => s.recipe),
    );
    shown = states.filter((s) => keep.has(s.recipe));
    rest = states.filter((s) => !keep.has(s.recipe));
  }
  const lines = [header, ...shown.map(row)];
  if (rest.length > 0) lines.push(`  ... and ${rest.length} more: ${counts(rest, (s) => (s.state === 'done' ? (s.outcome ?? 'done') : s.state))}`);
  return o.width !== undefined && o.width > 1 ? lines.map((l) => (l.length >= o.width! ? l.slice(0, o.width! - 1) : l)) : lines;
}
