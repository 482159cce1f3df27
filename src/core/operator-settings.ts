// The operator-control settings: each a flag, an environment variable and a `[sweep]` key, flag > env >
// settings > default like the global options (src/adapters/fs/settings.ts), but typed: spans, sizes and lists.
import { ConfigError } from './errors.js';
import { DEFAULT_MIN_FREE, type FreeLimit, parseFreeLimit } from './disk.js';
import { BELOW_1MS } from './duration.js';
import { readSpan } from './span.js';

export interface OperatorSettings {
  /** A release is a candidate once known this long (ms; 0: at once). */
  minReleaseAgeMs: number;
  minFree: FreeLimit;
  /** File systems checked besides the state dir's; null: the default (the docker data root when it exists). */
  diskPaths: string[] | null;
  /** Webhook URLs told of health changes after a run. */
  notify: string[];
}

export interface OperatorFlags {
  minReleaseAge?: string;
  minFree?: string;
  diskPath?: string[];
  notify?: string[];
}

/** The `[sweep]` keys, and their environment variables (lists in the environment are space-separated). */
export const OPERATOR_KEYS = {
  'min-release-age': 'CCCI_MIN_RELEASE_AGE',
  'min-free': 'CCCI_MIN_FREE',
  'disk-path': 'CCCI_DISK_PATH',
  notify: 'CCCI_NOTIFY',
} as const;

type Key = keyof typeof OPERATOR_KEYS;

function pick(key: Key, flag: string | string[] | undefined, env: NodeJS.ProcessEnv, table: Record<string, unknown>, file: string) {
  if (flag !== undefined && (!Array.isArray(flag) || flag.length > 0)) return { value: flag, origin: `--${key}` };
  const e = env[OPERATOR_KEYS[key]];
  if (e !== undefined && e.trim() !== '') return { value: Array.isArray(flag) ? e.trim().split(/\s+/) : e, origin: OPERATOR_KEYS[key] };
  const snake = key.replaceAll('-', '_');
  const raw = table[key] ?? table[snake];
  if (raw === undefined) return null;
  const origin = `settings file ${file}: [sweep] ${key}`;
  if (Array.isArray(flag) ? !(typeof raw === 'string' || (Array.isArray(raw) && raw.every((x) => typeof x === 'string'))) : typeof raw !== 'string') {
    throw new ConfigError(`${origin} must be ${Array.isArray(flag) ? 'a string or a list of strings' : 'a string'}`);
  }
  return { value: Array.isArray(flag) && typeof raw === 'string' ? [raw] : (raw as string | string[]), origin };
}

/** Pure. Bad values are ConfigError (exit 2) naming where they came from. */
export function resolveOperatorSettings(flags: OperatorFlags, env: NodeJS.ProcessEnv, table: Record<string, unknown>, file: string): OperatorSettings {
  const out: OperatorSettings = { minReleaseAgeMs: 0, minFree: DEFAULT_MIN_FREE, diskPaths: null, notify: [] };
  const age = pick('min-release-age', flags.minReleaseAge, env, table, file);
  if (age) {
    const ms = readSpan(age.value as string);
    if (ms === 'below-1ms') throw new ConfigError(`${age.origin} ${JSON.stringify(age.value)} ${BELOW_1MS}`);
    if (ms === 'malformed') throw new ConfigError(`${age.origin} ${JSON.stringify(age.value)} is not a span like 36h, 2d or 90m (at most 100 years)`);
    out.minReleaseAgeMs = ms;
  }
  const free = pick('min-free', flags.minFree, env, table, file);
  if (free) {
    const limit = parseFreeLimit(free.value as string);
    if (!limit) throw new ConfigError(`${free.origin} ${JSON.stringify(free.value)} is not a size (5G, 500M) or a percentage (10%)`);
    out.minFree = limit;
  }
  const disks = pick('disk-path', flags.diskPath ?? [], env, table, file);
  if (disks) {
    const list = disks.value as string[];
    if (list.some((p) => p.trim() === '')) throw new ConfigError(`${disks.origin} has an empty path`);
    out.diskPaths = list;
  }
  const notify = pick('notify', flags.notify ?? [], env, table, file);
  if (notify) {
    for (const url of notify.value as string[]) {
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        // Not echoed: a webhook URL carries its secret, and this one is not registered yet.
        throw new ConfigError(`${notify.origin}: entry ${(notify.value as string[]).indexOf(url) + 1} is not a URL`);
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(`${notify.origin}: ${u.protocol} URLs cannot be notified; use http or https`);
    }
    out.notify = notify.value as string[];
  }
  return out;
}
