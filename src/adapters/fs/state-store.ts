// The state dir on disk: `<state-dir>/<recipe>/canonical.json` (the last release that passed a full cold
// test), `history.jsonl` beside it and the run folders. Records written by the old Python sweep are read as
// they are; what is read is validated in src/core/canonical-record.ts.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { appendLineDurable, ensureDir, removeStaleTemps, writeFileAtomic } from './atomic-file.js';
import { readRegularText } from './read-file.js';
import { StateError } from '../../core/errors.js';
import { assertRecipeName } from '../../core/enrolment.js';
import { type CanonicalRecord, type HistoryEntry, stamp, validateCanonical, validateHistoryEntry } from '../../core/canonical-record.js';

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

/** Reads the canonical; null when there is none yet. Corrupt files throw StateError and are not touched. */
export function readCanonical(stateDir: string, recipe: string): CanonicalRecord | null {
  const file = canonicalPath(stateDir, recipe);
  let text: string;
  try {
    text = readRegularText(file);
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

/**
 * Creates this run's own folder `<state-dir>/<recipe>/runs/<stamp>` (then `<stamp>-2`, `-3`, … when a run of
 * the same second has it): created exclusively, so two runs never share one, nor read each other's results.
 */
export function createRunDir(stateDir: string, recipe: string, at: Date): string {
  const runs = path.join(recipeStateDir(stateDir, recipe), 'runs');
  ensureDir(runs);
  const base = stamp(at);
  for (let n = 1; ; n++) {
    const dir = path.join(runs, n === 1 ? base : `${base}-${n}`);
    try {
      mkdirSync(dir);
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n >= 10_000) throw err;
    }
  }
}

export function writeCanonical(stateDir: string, record: CanonicalRecord, beforeRename?: () => void): void {
  const dir = recipeStateDir(stateDir, record.recipe);
  ensureDir(dir);
  const file = canonicalPath(stateDir, record.recipe);
  removeStaleTemps(file);
  writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`, beforeRename);
}

/** Appends the entries (of one recipe) to its history.jsonl as one durable write: all of them or none. */
export function appendHistory(stateDir: string, ...entries: HistoryEntry[]): void {
  const recipe = entries[0]?.recipe;
  if (recipe === undefined) return;
  if (entries.some((e) => e.recipe !== recipe)) throw new Error('appendHistory: entries of more than one recipe');
  ensureDir(recipeStateDir(stateDir, recipe));
  appendLineDurable(historyPath(stateDir, recipe), entries.map((e) => JSON.stringify(e)).join('\n'));
}

export interface HistoryRead {
  entries: HistoryEntry[];
  /** A torn last line from a crash mid-append; ignored but worth a warning. */
  tornLine: boolean;
  /** Lines that are JSON but not a valid entry (`null`, an entry missing fields): 1-based line and why. */
  invalid: { line: number; problem: string }[];
  /** One line for the operator naming the file and what was skipped; null when nothing was. */
  warning: string | null;
}

/**
 * The recipe's history, valid entries only. A bad line (torn, `null`, incomplete) is skipped and named in
 * `warning`, so one damaged file never stops plan, status, run or explain for this recipe or any other.
 */
export function readHistory(stateDir: string, recipe: string): HistoryRead {
  const file = historyPath(stateDir, recipe);
  let text: string;
  try {
    text = readRegularText(file);
  } catch (err) {
    const gone = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return { entries: [], tornLine: false, invalid: [], warning: gone ? null : `cannot read ${file} (${(err as Error).message}); its history is ignored` };
  }
  const entries: HistoryEntry[] = [];
  const invalid: HistoryRead['invalid'] = [];
  let tornLine = false;
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      tornLine = true;
      return;
    }
    const checked = validateHistoryEntry(recipe, value);
    if ('entry' in checked) entries.push(checked.entry);
    else invalid.push({ line: i + 1, problem: checked.problem });
  });
  const parts: string[] = [];
  if (tornLine) parts.push('a torn line from an earlier crash');
  if (invalid.length > 0) {
    const shown = invalid.slice(0, 3).map((x) => `line ${x.line} ${x.problem}`).join('; ');
    parts.push(`${invalid.length} invalid line${invalid.length > 1 ? 's' : ''} (${shown}${invalid.length > 3 ? '; ...' : ''})`);
  }
  const warning = parts.length ? `${file} has ${parts.join(' and ')}; skipped` : null;
  return { entries, tornLine, invalid, warning };
}
