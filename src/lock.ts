// One sweep at a time per state dir, and one checkout+test+promote at a time per recipe. A lock is a JSON
// file created atomically with link(2) (it either appears whole or not at all). A lock whose process is
// gone is taken over with a warning; a recipe lock also records the checkout to restore, so a clone left
// on a detached tag by a killed sweep is put back by the next one.
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { LockedError } from './errors.js';
import type { Checkout } from './git.js';
import type { Logger } from './log.js';

export interface LockInfo {
  pid: number;
  /** Start time of the process (from /proc), to tell a live holder from a reused pid. */
  pidStart: string | null;
  startedAt: string;
  command: string;
  by: string;
  /** Recipe locks: the clone and what it had checked out before the sweep detached it. */
  clone?: string;
  saved?: Checkout;
}

export function hostLockPath(stateDir: string): string {
  return path.join(stateDir, '.sweep.lock');
}

export function recipeLockPath(recipeDir: string): string {
  return path.join(recipeDir, '.recipe.lock');
}

/** Field 22 of /proc/<pid>/stat: the process's start time in clock ticks since boot. */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

export function isAlive(info: Pick<LockInfo, 'pid' | 'pidStart'>): boolean {
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = processStart(info.pid);
  return info.pidStart === null || start === null || start === info.pidStart;
}

export function readLock(file: string): LockInfo | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // An unreadable lock cannot name a live holder; treat it as stale.
    return { pid: -1, pidStart: null, startedAt: '?', command: '?', by: '?' };
  }
}

export interface Lock {
  file: string;
  info: LockInfo;
  /** Rewrites the lock's content (e.g. to record a checkout) without ever removing it. */
  update(more: Partial<LockInfo>): void;
  release(): void;
}

export interface AcquireOptions {
  log: Logger;
  command: string;
  by: string;
  /** Called with a stale lock's content before it is taken over (crash recovery). */
  onStale?: (stale: LockInfo) => Promise<void> | void;
}

/** Takes the lock or returns the live holder's info. */
export async function tryLock(file: string, o: AcquireOptions): Promise<Lock | LockInfo> {
  mkdirSync(path.dirname(file), { recursive: true });
  const info: LockInfo = {
    pid: process.pid, pidStart: processStart(process.pid), startedAt: new Date().toISOString(), command: o.command, by: o.by,
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(info));
    try {
      linkSync(tmp, file);
      rmSync(tmp, { force: true });
      return makeLock(file, info);
    } catch (err) {
      rmSync(tmp, { force: true });
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readLock(file);
    if (!holder) continue; // released meanwhile
    if (isAlive(holder)) return holder;
    o.log.warn({ lock: file, stalePid: holder.pid, staleSince: holder.startedAt }, 'taking over a lock whose process is gone');
    // Move it aside first: of two sweeps racing for a stale lock, only one rename succeeds.
    const aside = `${file}.stale.${process.pid}`;
    try {
      renameSync(file, aside);
    } catch {
      continue;
    }
    try {
      await o.onStale?.(readLock(aside) ?? holder);
    } catch (err) {
      // Recovery failed: put the stale lock back (unless someone took the lock meanwhile) so the next
      // attempt still knows what to recover.
      try {
        linkSync(aside, file);
      } catch {
        // another sweep holds the lock now; it found nothing to recover
      }
      rmSync(aside, { force: true });
      throw err;
    }
    rmSync(aside, { force: true });
  }
  const holder = readLock(file);
  if (holder) return holder;
  throw new LockedError(`cannot take lock ${file}: it keeps changing hands`);
}

function makeLock(file: string, info: LockInfo): Lock {
  let released = false;
  return {
    file,
    info,
    update(more) {
      Object.assign(info, more);
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(info));
      renameSync(tmp, file);
    },
    release() {
      if (released) return;
      released = true;
      rmSync(file, { force: true });
    },
  };
}

export function describeHolder(h: LockInfo): string {
  return `pid ${h.pid}, started ${h.startedAt}, by ${h.by}`;
}

/** The host lock: waits up to `waitMs` (0 = not at all), then throws LockedError (exit 3). */
export async function acquireHostLock(stateDir: string, o: AcquireOptions & { waitMs: number; signal?: AbortSignal }): Promise<Lock> {
  const file = hostLockPath(stateDir);
  const deadline = Date.now() + o.waitMs;
  let announced = false;
  for (;;) {
    const got = await tryLock(file, o);
    if ('release' in got) return got;
    if (Date.now() >= deadline || o.signal?.aborted) {
      throw new LockedError(`sweep already running (${describeHolder(got)}); wait for it or pass --wait-lock DURATION`);
    }
    if (!announced) {
      o.log.info({ holder: got }, 'another sweep is running: waiting for its lock');
      announced = true;
    }
    await new Promise((r) => setTimeout(r, Math.min(500, Math.max(10, deadline - Date.now()))));
  }
}
