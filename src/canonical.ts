// The canonical registry: `<state-dir>/<recipe>/canonical.json`, the last release that passed a full cold
// test, and `history.jsonl` beside it. The harness reads canonical.json too, so the fields it knows
// (recipe, version, commit, status, ts) keep their names and meaning; records written by the old Python
// sweep are read as they are, and fields we do not know (e.g. domain) are carried forward.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { appendLineDurable, removeStaleTemps, writeFileAtomic } from './atomic-file.js';
import { StateError } from './errors.js';
import { assertRecipeName } from './enrolment.js';

export interface CanonicalRecord {
  recipe: string;
  version: string;
  commit: string;
  status: string;
  ts: string;
  promotedAt?: string;
  previous?: Omit<CanonicalRecord, 'previous'> | null;
  ccciCommit?: string | null;
  [other: string]: unknown;
}

export function recipeStateDir(stateDir: string, recipe: string): string {
  // Recipe names are validated before they become paths: nothing can escape the state dir.
  assertRecipeName(recipe);
  return path.join(stateDir, recipe);
}

export function canonicalPath(stateDir: string, recipe: string): string {
  return path.join(recipeStateDir(stateDir, recipe), 'canonical.json');
}

export function historyPath(stateDir: string, recipe: string): string {
  return path.join(recipeStateDir(stateDir, recipe), 'history.jsonl');
}

/** Pure: validates a parsed canonical.json; throws StateError naming the file and what is wrong. */
export function validateCanonical(recipe: string, value: unknown, file: string): CanonicalRecord {
  const bad = (what: string) =>
    new StateError(`${file} ${what}; it is left untouched: fix or remove it to let the sweep promote again`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('is not a JSON object');
  const rec = value as Record<string, unknown>;
  for (const key of ['version', 'commit'] as const) {
    if (typeof rec[key] !== 'string' || rec[key] === '') throw bad(`has no string "${key}"`);
  }
  if (rec.recipe !== undefined && rec.recipe !== recipe) {
    throw bad(`names recipe ${JSON.stringify(rec.recipe)}, not ${recipe}`);
  }
  if (!/^[0-9a-f]{7,64}$/.test(rec.commit as string)) throw bad('has a "commit" that is not a hex commit hash');
  return {
    ...rec,
    recipe,
    version: rec.version as string,
    commit: rec.commit as string,
    status: typeof rec.status === 'string' ? rec.status : 'idle',
    ts: typeof rec.ts === 'string' ? rec.ts : '',
  };
}

/** Reads the canonical; null when there is none yet. Corrupt files throw StateError and are not touched. */
export function readCanonical(stateDir: string, recipe: string): CanonicalRecord | null {
  const file = canonicalPath(stateDir, recipe);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StateError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StateError(`${file} is not valid JSON; it is left untouched: fix or remove it to let the sweep promote again`);
  }
  return validateCanonical(recipe, value, file);
}

/** `YYYYMMDDTHHMMSSZ`, the stamp format the harness already uses. */
export function stamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** When a canonical became canonical: `promotedAt`, else the legacy `ts` stamp; null when neither parses. */
export function canonicalSince(rec: CanonicalRecord): number | null {
  if (typeof rec.promotedAt === 'string' && !Number.isNaN(Date.parse(rec.promotedAt))) return Date.parse(rec.promotedAt);
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(rec.ts);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : null;
}

export interface Promotion {
  recipe: string;
  tag: string;
  commit: string;
  ccciCommit: string | null;
  at: Date;
}

/** Pure: the record that replaces `old` after a promotion. */
export function promotedRecord(old: CanonicalRecord | null, p: Promotion): CanonicalRecord {
  // Keep one level of history in the record itself; the full story is in history.jsonl.
  const previous = old ? (({ previous: _p, ...rest }) => rest)(old) : null;
  return {
    ...(old ?? {}),
    recipe: p.recipe,
    version: p.tag,
    commit: p.commit,
    status: 'idle',
    ts: stamp(p.at),
    promotedAt: p.at.toISOString(),
    previous,
    ccciCommit: p.ccciCommit,
  };
}

export function writeCanonical(stateDir: string, record: CanonicalRecord, beforeRename?: () => void): void {
  const dir = recipeStateDir(stateDir, record.recipe);
  mkdirSync(dir, { recursive: true });
  const file = canonicalPath(stateDir, record.recipe);
  removeStaleTemps(file);
  writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`, beforeRename);
}

export type HistoryEntry = { type: 'attempt' | 'promotion'; recipe: string } & Record<string, unknown>;

export function appendHistory(stateDir: string, entry: HistoryEntry): void {
  mkdirSync(recipeStateDir(stateDir, entry.recipe), { recursive: true });
  appendLineDurable(historyPath(stateDir, entry.recipe), JSON.stringify(entry));
}

export interface HistoryRead {
  entries: HistoryEntry[];
  /** A torn last line from a crash mid-append; ignored but worth a warning. */
  tornLine: boolean;
}

export function readHistory(stateDir: string, recipe: string): HistoryRead {
  let text: string;
  try {
    text = readFileSync(historyPath(stateDir, recipe), 'utf8');
  } catch {
    return { entries: [], tornLine: false };
  }
  const entries: HistoryEntry[] = [];
  let tornLine = false;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      entries.push(JSON.parse(line) as HistoryEntry);
    } catch {
      tornLine = true;
    }
  }
  return { entries, tornLine };
}
