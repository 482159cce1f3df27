// The canonical record and history entries as data (pure): their types, validation of what was read from
// disk, and the record a promotion writes. The harness reads canonical.json too, so the fields it knows
// (recipe, version, commit, status, ts) keep their names and meaning; unknown fields are carried forward.
import { StateError } from './errors.js';

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

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Pure: validates a parsed canonical.json; throws StateError naming the file and what is wrong. Fields a
 * legacy record may lack (status, ts) get their defaults; a field we know that is present with the wrong
 * type makes the whole record invalid, so no kind of invalid record is ever silently overwritten.
 */
export function validateCanonical(recipe: string, value: unknown, file: string): CanonicalRecord {
  const bad = (what: string) =>
    new StateError(`${file} ${what}; it is left untouched: fix or remove it to let the sweep promote again`);
  if (!isObject(value)) throw bad('is not a JSON object');
  const rec = value;
  for (const key of ['version', 'commit'] as const) {
    if (typeof rec[key] !== 'string' || rec[key] === '') throw bad(`has no string "${key}"`);
  }
  if (rec.recipe !== undefined && rec.recipe !== recipe) {
    throw bad(`names recipe ${JSON.stringify(rec.recipe)}, not ${recipe}`);
  }
  if (!/^[0-9a-f]{7,64}$/.test(rec.commit as string)) throw bad('has a "commit" that is not a hex commit hash');
  for (const key of ['status', 'ts', 'promotedAt'] as const) {
    if (rec[key] !== undefined && typeof rec[key] !== 'string') throw bad(`has a "${key}" that is not a string`);
  }
  if (rec.ccciCommit !== undefined && rec.ccciCommit !== null && typeof rec.ccciCommit !== 'string') {
    throw bad('has a "ccciCommit" that is not a string or null');
  }
  if (rec.previous !== undefined && rec.previous !== null && !isObject(rec.previous)) {
    throw bad('has a "previous" that is not an object or null');
  }
  return {
    ...rec,
    recipe,
    version: rec.version as string,
    commit: rec.commit as string,
    status: typeof rec.status === 'string' ? rec.status : 'idle',
    ts: typeof rec.ts === 'string' ? rec.ts : '',
  };
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

/** The fields `previous` keeps: the ones the harness and the sweep know, never unknown (possibly huge) ones. */
const PREVIOUS_FIELDS = ['recipe', 'version', 'commit', 'status', 'ts', 'promotedAt', 'ccciCommit'] as const;

/** Pure: the record that replaces `old` after a promotion. */
export function promotedRecord(old: CanonicalRecord | null, p: Promotion): CanonicalRecord & { promotedAt: string } {
  // Keep one level of history in the record itself, known fields only: a record carrying a large unknown
  // field must not double in size on every promotion. The full story is in history.jsonl.
  let previous: CanonicalRecord['previous'] = null;
  if (old) {
    const kept: Record<string, unknown> = {};
    for (const k of PREVIOUS_FIELDS) if (old[k] !== undefined) kept[k] = old[k];
    previous = kept as Omit<CanonicalRecord, 'previous'>;
  }
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

/** What every history line of one launched test records, whatever its outcome. */
export interface AttemptFacts {
  type: 'attempt';
  recipe: string;
  tag: string;
  tagCommit: string;
  ccciCommit: string | null;
  ccciRun: string;
  exitCode: number | null;
  durationMs: number;
  log: string;
  startedAt: string;
  endedAt: string;
  by: string;
  level?: unknown;
  /** The test timeout the harness ran under (ms; null: none). Absent in attempts recorded before it was. */
  testTimeoutMs?: number | null;
  [other: string]: unknown;
}

/** One harness run, as history.jsonl records it. Fields added later are carried as they are. */
export interface AttemptEntry extends AttemptFacts {
  outcome: string;
  detail?: string;
}

export interface PromotionEntry {
  type: 'promotion';
  recipe: string;
  version: string;
  commit: string;
  promotedAt: string;
  previousVersion?: string | null;
  ccciCommit?: string | null;
  [other: string]: unknown;
}

/** An operator's `hold` (tag null: the whole recipe) or `release`, as history.jsonl records it. */
export interface HoldEntry {
  type: 'hold' | 'release';
  recipe: string;
  tag: string | null;
  reason: string;
  by: string;
  at: string;
  /** hold only: when it runs out (null: until released). */
  until?: string | null;
  [other: string]: unknown;
}

/** A quick re-check of the canonical (`verify`): outcome `verified` or `verify-failed`. */
export interface VerifyEntry {
  type: 'verify';
  recipe: string;
  tag: string;
  tagCommit: string;
  outcome: string;
  exitCode: number | null;
  durationMs: number;
  log: string;
  startedAt: string;
  endedAt: string;
  by: string;
  detail?: string;
  [other: string]: unknown;
}

export type HistoryEntry = AttemptEntry | PromotionEntry | HoldEntry | VerifyEntry;

type FieldType = 'string' | 'string|null' | 'number' | 'number|null';
const ATTEMPT_FIELDS: Record<string, FieldType> = {
  tag: 'string', tagCommit: 'string', ccciCommit: 'string|null', ccciRun: 'string', outcome: 'string',
  exitCode: 'number|null', durationMs: 'number', log: 'string', startedAt: 'string', endedAt: 'string', by: 'string',
};
const PROMOTION_FIELDS: Record<string, FieldType> = { version: 'string', commit: 'string', promotedAt: 'string' };
const HOLD_FIELDS: Record<string, FieldType> = { tag: 'string|null', reason: 'string', by: 'string', at: 'string' };
const VERIFY_FIELDS: Record<string, FieldType> = {
  tag: 'string', tagCommit: 'string', outcome: 'string', exitCode: 'number|null', durationMs: 'number', log: 'string',
  startedAt: 'string', endedAt: 'string', by: 'string',
};
const FIELDS_OF: Record<string, Record<string, FieldType>> = {
  attempt: ATTEMPT_FIELDS, promotion: PROMOTION_FIELDS, hold: HOLD_FIELDS, release: HOLD_FIELDS, verify: VERIFY_FIELDS,
};
const OPTIONAL_FIELDS: Record<string, FieldType> = {
  detail: 'string', previousVersion: 'string|null', ccciCommit: 'string|null', testTimeoutMs: 'number|null', until: 'string|null',
};

function fits(v: unknown, t: FieldType): boolean {
  if (v === null) return t.endsWith('|null');
  if (t.startsWith('number')) return typeof v === 'number' && Number.isFinite(v);
  return typeof v === 'string';
}

/** Pure: a history line's parsed value as an entry of `recipe`'s history, or why it is not one. */
export function validateHistoryEntry(recipe: string, value: unknown): { entry: HistoryEntry } | { problem: string } {
  if (!isObject(value)) return { problem: `is ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}, not an entry` };
  const fields = typeof value.type === 'string' && Object.hasOwn(FIELDS_OF, value.type) ? FIELDS_OF[value.type]! : null;
  if (!fields) return { problem: `has type ${JSON.stringify(value.type)}, not one of ${Object.keys(FIELDS_OF).map((t) => `"${t}"`).join(', ')}` };
  if (value.recipe !== recipe) return { problem: `names recipe ${JSON.stringify(value.recipe)}, not ${recipe}` };
  for (const [key, t] of Object.entries(fields)) {
    if (!fits(value[key], t)) return { problem: `has no ${t.replace('|', ' or ')} "${key}"` };
  }
  for (const [key, t] of Object.entries(OPTIONAL_FIELDS)) {
    if (value[key] !== undefined && !(key in fields) && !fits(value[key], t)) return { problem: `has a "${key}" that is not a ${t.replace('|', ' or ')}` };
  }
  return { entry: value as unknown as HistoryEntry };
}
