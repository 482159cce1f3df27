// Notify on change: a recipe's health after a run, and which changes are worth one message. Pure.
export type Health = 'ok' | 'failing';

const FAILING = new Set(['red', 'timeout', 'not-promoted', 'promote-failed', 'error']);

/**
 * `ok`: promoted, or skipped with nothing failing. `failing`: red, timeout, not-promoted, promote-failed,
 * error, and a skip because the newest release is known red (it still fails; it is just not re-run).
 * null: the run says nothing about the recipe (it was interrupted).
 */
export function healthOf(r: { outcome: string; reason?: string }): Health | null {
  if (FAILING.has(r.outcome)) return 'failing';
  if (r.outcome === 'skipped') return r.reason === 'known-red-unchanged' ? 'failing' : 'ok';
  if (r.outcome === 'promoted') return 'ok';
  return null;
}

/** `<state-dir>/notify-state.json`: what each recipe's last notification said (or, before any, its health). */
export type NotifiedState = Record<string, { health: Health; tag: string | null; outcome: string; at: string }>;

export interface Notice {
  recipe: string;
  from: Health | 'unknown';
  to: Health;
  outcome: string;
  tag: string | null;
  detail: string | null;
  log: string | null;
  host: string;
  text: string;
}

export interface RunOutcome {
  recipe: string;
  outcome: string;
  reason?: string;
  tag: string | null;
  detail?: string;
  log: string | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A damaged state file is read as no state: at worst one failing recipe is announced again. */
export function parseNotifiedState(value: unknown): NotifiedState {
  const out: NotifiedState = {};
  if (!isObject(value)) return out;
  for (const [recipe, v] of Object.entries(value)) {
    if (isObject(v) && (v.health === 'ok' || v.health === 'failing') && (typeof v.tag === 'string' || v.tag === null)) {
      out[recipe] = { health: v.health, tag: v.tag, outcome: String(v.outcome ?? ''), at: String(v.at ?? '') };
    }
  }
  return out;
}

export function noticeText(n: Omit<Notice, 'text'>): string {
  const tag = n.tag ? ` ${n.tag}` : '';
  if (n.to === 'ok') return `${n.recipe}${tag} is ok again on ${n.host} (${n.outcome}).`;
  const why = n.detail ? `: ${n.detail}` : '';
  return `${n.recipe}${tag} is failing on ${n.host} (${n.outcome}${why})${n.log ? `; log ${n.log}` : ''}.`;
}

/**
 * What to announce after a run: a change of health, or a failure on another tag than the one already
 * announced. A recipe that keeps failing on the same tag is not announced again; a first failure is (a
 * recipe with no state counts as ok), a first success is not. `health` is each recipe's new state, to be
 * recorded once its notice (if any) was delivered.
 */
export function noticesFor(results: RunOutcome[], state: NotifiedState, host: string, at: string): { notices: Notice[]; health: NotifiedState } {
  const notices: Notice[] = [];
  const health: NotifiedState = {};
  for (const r of results) {
    const to = healthOf(r);
    if (to === null) continue;
    const prev = state[r.recipe];
    health[r.recipe] = { health: to, tag: r.tag, outcome: r.outcome, at };
    const changed = to === 'failing' ? !prev || prev.health === 'ok' || prev.tag !== r.tag : prev?.health === 'failing';
    if (!changed) continue;
    const n = { recipe: r.recipe, from: prev?.health ?? ('unknown' as const), to, outcome: r.outcome, tag: r.tag, detail: r.detail ?? null, log: r.log, host };
    notices.push({ ...n, text: noticeText(n) });
  }
  return { notices, health };
}
