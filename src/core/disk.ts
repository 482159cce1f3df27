// The disk guard: free space below the limit means a harness is not launched (a full disk mid-test fails
// the test for the host's sake, not the release's). Pure: the limit's syntax and the check of figures.

/** `--min-free`: bytes, or a percentage of the file system's size. */
export type FreeLimit = { kind: 'bytes'; bytes: number } | { kind: 'percent'; percent: number };

export const DEFAULT_MIN_FREE: FreeLimit = { kind: 'percent', percent: 10 };

const UNITS: Record<string, number> = { '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** `10%`, `5G`, `500M`, `1.5T`, `1048576` (bytes; K/M/G/T are powers of 1024, an `i` or `B` after them is fine). */
export function parseFreeLimit(text: string): FreeLimit | null {
  const t = text.trim();
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(t);
  if (pct) {
    const percent = Number(pct[1]);
    return percent <= 100 ? { kind: 'percent', percent } : null;
  }
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(t);
  if (!m) return null;
  return { kind: 'bytes', bytes: Math.round(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!) };
}

export function limitWords(l: FreeLimit): string {
  return l.kind === 'percent' ? `${l.percent}%` : bytesWords(l.bytes);
}

export function bytesWords(n: number): string {
  for (const [u, size] of [['T', 1024 ** 4], ['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) {
    if (n >= size) return `${(n / size).toFixed(1).replace(/\.0$/, '')}${u}`;
  }
  return `${n}B`;
}

/** One file system as statfs sees it (bytes available to an unprivileged writer, and its size). */
export interface DiskFigures {
  path: string;
  freeBytes: number;
  totalBytes: number;
}

export interface DiskCheck extends DiskFigures {
  requiredBytes: number;
  ok: boolean;
}

export function checkDisk(f: DiskFigures, limit: FreeLimit): DiskCheck {
  const requiredBytes = limit.kind === 'bytes' ? limit.bytes : Math.ceil((f.totalBytes * limit.percent) / 100);
  return { ...f, requiredBytes, ok: f.freeBytes >= requiredBytes };
}

/** Why no harness may start, naming the path, free and required; null when every file system has room. */
export function diskProblem(checks: DiskCheck[]): string | null {
  const low = checks.filter((c) => !c.ok);
  if (low.length === 0) return null;
  return low
    .map((c) => `${c.path} has ${bytesWords(c.freeBytes)} free, ${bytesWords(c.requiredBytes)} required (--min-free)`)
    .join('; ') + ': not tested; free some space';
}
