// One sweep at a time per state dir, and one checkout+test+promote at a time per recipe. A lock is a JSON
// file that appears whole or not at all (written under a temp name, then hard-linked into place).
// A lock whose holder is gone is taken over with a warning; a recipe lock also records the checkout to
// restore (so a clone left on a detached tag by a killed sweep is put back by the next one) and the harness
// it launched (so a test still running after its sweep died is never restored under nor started twice).
//
// Taking over a stale lock is race-free: the taker first creates, exclusively, a takeover marker named after
// that very lock instance (its nonce, or a hash of its bytes); only the marker's creator may replace it, and
// only after checking, under the marker, that the file is still that instance. Of any number of sweeps
// racing for one stale lock exactly one wins; the others then see a live holder.
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createExclusive, ensureDir, removeFile, removeStaleTemps, writeFileAtomic } from './atomic-file.js';
import { readRegularFile } from './read-file.js';
import { LockedError, StateError } from '../../core/errors.js';
import type { Checkout } from '../git.js';
import type { Logger } from '../log.js';
import { sleep } from '../timers.js';

/** A process, told from a later one with a reused pid by its start time. */
export interface ProcessId {
  pid: number;
  /** Start time of the process (from /proc), to tell a live holder from a reused pid. */
  pidStart: string | null;
}

export interface HarnessId extends ProcessId {
  /** When the sweep launched it. The harness leads its own process group (pgid = pid). */
  startedAt: string;
}

export interface LockInfo extends ProcessId {
  startedAt: string;
  command: string;
  by: string;
  /** Random id of this lock instance: a takeover names the instance it replaces. */
  nonce?: string;
  /** Recipe locks: the clone and what it had checked out before the sweep detached it. */
  clone?: string;
  saved?: Checkout;
  /** Recipe locks: the harness (its process group) while it runs. */
  harness?: HarnessId | null;
  /** Set when the file is empty or not a lock (a crash, a full disk, an operator): it is stale. */
  unreadable?: boolean;
  /** Why an unreadable lock is damaged, for the takeover warning. */
  damage?: string;
}

export function hostLockPath(stateDir: string): string {
  return path.join(stateDir, '.sweep.lock');
}

export function recipeLockPath(recipeDir: string): string {
  return path.join(recipeDir, '.recipe.lock');
}

interface ProcStat {
  state: string;
  pgrp: number;
  /** Field 22: start time in clock ticks since boot. */
  start: string;
}

/** The fields of /proc/<pid>/stat we need, or null when there is no such process (or no /proc). */
function procStat(pid: number): ProcStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: f[0] ?? '?', pgrp: Number(f[2]), start: f[19] ?? '' };
  } catch {
    return null;
  }
}

/** A zombie has exited; it only waits to be reaped (which can take a while under some init processes). */
const exited = (st: ProcStat | null) => st !== null && (st.state === 'Z' || st.state === 'X');

/** Field 22 of /proc/<pid>/stat: the process's start time in clock ticks since boot. */
export function processStart(pid: number): string | null {
  return procStat(pid)?.start || null;
}

/** Whether `pid` is still the process that was recorded (not gone, not a zombie, not a reused pid). */
export function processAlive(p: ProcessId): boolean {
  // kill(0) and kill(-1) would signal whole groups: only a real pid can name a holder.
  if (!Number.isInteger(p.pid) || p.pid <= 0) return false;
  try {
    process.kill(p.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const st = procStat(p.pid);
  if (exited(st)) return false;
  return p.pidStart === null || st === null || st.start === p.pidStart;
}

/**
 * Whether any process of the harness's group is left. Linux never hands out a pid that is still some group's
 * id, so a live group with this id whose leader is gone is still the harness's; a leader with another start
 * time means the id was reused after the group ended. Zombies do not count.
 */
export function harnessAlive(h: ProcessId | null | undefined): boolean {
  if (!h || !Number.isInteger(h.pid) || h.pid <= 1) return false;
  try {
    process.kill(-h.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const leader = procStat(h.pid);
  if (leader && !exited(leader) && h.pidStart !== null && leader.start !== h.pidStart) return false;
  if (leader && !exited(leader) && leader.pgrp === h.pid) return true;
  // The leader is gone (or a zombie): look for a live member of its group.
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return true; // no /proc: kill(-pgid, 0) succeeded, so the group exists
  }
  return pids.some((n) => {
    const st = procStat(Number(n));
    return st !== null && st.pgrp === h.pid && !exited(st);
  });
}

/** A lock is held while its sweep lives, or while the harness it launched does. */
export function isAlive(info: LockInfo): boolean {
  if (info.unreadable) return false;
  return processAlive(info) || harnessAlive(info.harness);
}

/** The sweep that took the lock is gone but its harness still runs: a test nobody supervises. */
export function orphanedHarness(info: LockInfo): HarnessId | null {
  return !info.unreadable && !processAlive(info) && info.harness && harnessAlive(info.harness) ? info.harness : null;
}

interface Held {
  info: LockInfo;
  /** Which instance of the lock this is: its nonce, else a hash of its bytes. */
  id: string;
}

/** A lock never needs more; a bigger file is not a lock (and is not read into memory). */
const LOCK_MAX_BYTES = 64 * 1024;

/**
 * Reads a lock (or takeover marker) without ever blocking: a FIFO, socket, device, folder or symlink at the
 * path is damaged, like an empty file, a file that is not JSON, or a record missing a field every sweep
 * writes (pid, pidStart, startedAt, command, by): it names no live holder and is stale.
 */
function readHeld(file: string): Held | null {
  let raw: Buffer;
  try {
    raw = readRegularFile(file, { maxBytes: LOCK_MAX_BYTES });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // Not a regular file, too big, or unreadable (EACCES, EIO). Which instance it is: its inode.
    let id: string;
    try {
      const st = lstatSync(file, { bigint: true });
      id = `i${st.dev}-${st.ino}-${st.ctimeNs}`;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      id = `unreadable-${(err as NodeJS.ErrnoException).code ?? 'err'}`;
    }
    return { info: unreadableLock((err as Error).message), id };
  }
  const id = `h${createHash('sha256').update(raw).digest('hex').slice(0, 16)}`;
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    return { info: unreadableLock(raw.length === 0 ? 'empty' : 'not JSON'), id };
  }
  // A record missing a field every sweep writes was not written by a sweep: damaged, whatever pid it names.
  const problem = lockProblem(v);
  const info = problem ? null : lockInfoOf(v);
  if (!info) return { info: unreadableLock(problem ?? 'no valid pid'), id };
  return { info, id: typeof info.nonce === 'string' && /^[0-9a-f]{8,64}$/.test(info.nonce) ? `n${info.nonce}` : id };
}

/**
 * Pure: a lock file's parsed value as LockInfo, or null when it cannot name a holder (no positive integer
 * pid). What a crashed sweep left to restore (clone, saved checkout) and its harness are taken only when
 * well-formed: a damaged field is dropped, never handed to git or kill().
 */
export function lockInfoOf(v: unknown): LockInfo | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  if (!Number.isInteger(o.pid) || (o.pid as number) <= 0) return null;
  const str = (x: unknown) => (typeof x === 'string' ? x : String(x ?? '?'));
  const info: LockInfo = {
    ...(o as unknown as LockInfo),
    pidStart: typeof o.pidStart === 'string' ? o.pidStart : null,
    startedAt: str(o.startedAt), command: str(o.command), by: str(o.by),
  };
  delete info.clone;
  delete info.saved;
  delete info.harness;
  const saved = o.saved as Record<string, unknown> | null | undefined;
  if (typeof o.clone === 'string' && o.clone !== '' && typeof saved === 'object' && saved !== null
    && typeof saved.commit === 'string' && /^[0-9a-f]{40,64}$/.test(saved.commit)
    && (saved.branch === null || (typeof saved.branch === 'string' && saved.branch !== '' && !saved.branch.startsWith('-')))) {
    info.clone = o.clone;
    info.saved = { branch: saved.branch as string | null, commit: saved.commit };
  }
  const h = o.harness as Record<string, unknown> | null | undefined;
  if (h === null) info.harness = null;
  else if (typeof h === 'object' && Number.isInteger(h.pid) && (h.pid as number) > 1) {
    info.harness = { pid: h.pid as number, pidStart: typeof h.pidStart === 'string' ? h.pidStart : null, startedAt: str(h.startedAt) };
  }
  return info;
}

/** Why a parsed lock is not a record a sweep wrote (every sweep writes all of these), or null. */
function lockProblem(v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const o = v as Record<string, unknown>;
  if (!Number.isInteger(o.pid) || (o.pid as number) <= 0) return 'no valid pid';
  if (!(typeof o.pidStart === 'string' || o.pidStart === null)) return 'no pidStart';
  for (const k of ['startedAt', 'command', 'by'] as const) if (typeof o[k] !== 'string') return `no ${k}`;
  return null;
}

function isFolder(file: string): boolean {
  try {
    return lstatSync(file).isDirectory();
  } catch {
    return false;
  }
}

function unreadableLock(damage?: string): LockInfo {
  return { pid: 0, pidStart: null, startedAt: '?', command: '?', by: '?', unreadable: true, ...(damage ? { damage } : {}) };
}

export function readLock(file: string): LockInfo | null {
  return readHeld(file)?.info ?? null;
}

export interface Lock {
  file: string;
  info: LockInfo;
  /** Rewrites the lock's content (e.g. to record a checkout) without ever removing it; durable (fsynced). */
  update(more: Partial<LockInfo>): void;
  /**
   * update() for what only matters while processes live (the harness a recipe lock names): the content is
   * fsynced, its rename is not. A power cut kills every process the lock could name, so losing the rename
   * then costs nothing, and the version it falls back to is whole and still names what to restore. A
   * kill -9 of the sweep loses nothing either way (the kernel has the file).
   */
  note(more: Partial<LockInfo>): void;
  release(): void;
}

export interface AcquireOptions {
  log: Logger;
  command: string;
  by: string;
  /** The caller's clock: the lock's startedAt, shown to an operator who finds it held. */
  now: () => Date;
  /** Called with a stale lock's content before it is taken over (crash recovery). */
  onStale?: (stale: LockInfo) => Promise<void> | void;
}

/** Takes the lock or returns the live holder's info. */
export async function tryLock(file: string, o: AcquireOptions): Promise<Lock | LockInfo> {
  ensureDir(path.dirname(file));
  const info: LockInfo = {
    pid: process.pid, pidStart: processStart(process.pid), startedAt: o.now().toISOString(), command: o.command, by: o.by,
    nonce: randomBytes(8).toString('hex'),
  };
  const text = () => JSON.stringify(info);
  for (let attempt = 0; attempt < 10; attempt++) {
    // Not fsynced: a lock coordinates live processes, and a power cut ends them all. A fresh lock names no
    // checkout to restore yet (that update() is durable), so if a cut leaves it missing or empty, it is
    // simply stale (taken over, with a warning) and nothing is lost.
    if (createExclusive(file, text(), { durable: false })) return makeLock(file, info);
    const held = readHeld(file);
    if (!held) continue; // released meanwhile
    if (isAlive(held.info)) return held.info;
    if (held.info.unreadable && isFolder(file)) {
      // Never removed recursively: a folder there is an operator's, and may hold something of theirs.
      throw new StateError(`lock file ${file} is a folder, not a lock: remove it (rmdir ${file}) and run again`);
    }
    const took = await takeOver(file, held, info, o);
    if (took === 'won') return makeLock(file, info);
    if (took !== 'lost') return took; // another sweep is taking it over right now
  }
  const holder = readLock(file);
  if (holder && !holder.unreadable) return holder;
  throw new LockedError(`cannot take lock ${file}: it keeps changing hands`);
}

/** Replaces the stale lock `stale` by `mine`, if this process is the one allowed to. */
async function takeOver(file: string, stale: Held, mine: LockInfo, o: AcquireOptions): Promise<'won' | 'lost' | LockInfo> {
  const me = JSON.stringify({ pid: mine.pid, pidStart: mine.pidStart, startedAt: mine.startedAt, command: `taking over ${file}: ${mine.command}`, by: mine.by });
  const markerBase = `${file}.takeover.${stale.id}.`;
  let marker: string | null = null;
  // A marker whose creator died mid-takeover blocks nobody: the next generation is free to create.
  for (let gen = 0; gen < 64 && marker === null; gen++) {
    if (createExclusive(`${markerBase}${gen}`, me)) {
      marker = `${markerBase}${gen}`;
      break;
    }
    const owner = readHeld(`${markerBase}${gen}`);
    if (owner && !owner.info.unreadable && processAlive(owner.info)) return owner.info;
  }
  if (marker === null) throw new LockedError(`cannot take over the stale lock ${file}: too many takeover markers ${markerBase}*`);
  try {
    // Under our marker nobody else replaces this instance; but it may already have been replaced or released.
    const now = readHeld(file);
    if (!now || now.id !== stale.id) return 'lost';
    o.log.warn(
      { lock: file, stalePid: stale.info.pid, staleSince: stale.info.startedAt, ...(stale.info.unreadable ? { unreadable: true, damage: stale.info.damage } : {}) },
      stale.info.unreadable ? 'taking over an empty or unreadable lock file' : 'taking over a lock whose process is gone',
    );
    // Recovery first: if it fails the stale lock stays, so the next attempt still knows what to recover.
    await o.onStale?.(stale.info);
    writeFileAtomic(file, JSON.stringify(mine));
    return 'won';
  } finally {
    removeMarkers(file, markerBase);
  }
}

/** Removes our takeover marker and those of takers of the same instance that died before us. */
function removeMarkers(file: string, markerBase: string): void {
  const dir = path.dirname(file);
  const prefix = path.basename(markerBase);
  try {
    for (const name of readdirSync(dir)) if (name.startsWith(prefix)) removeFile(path.join(dir, name));
  } catch {
    // a marker left behind costs nothing: the lock it names is gone
  }
}

function makeLock(file: string, info: LockInfo): Lock {
  removeStaleTemps(file); // of lock writers killed before linking theirs into place
  let released = false;
  return {
    file,
    info,
    update(more) {
      Object.assign(info, more);
      writeFileAtomic(file, JSON.stringify(info));
    },
    note(more) {
      Object.assign(info, more);
      writeFileAtomic(file, JSON.stringify(info), undefined, { syncFolder: false });
    },
    release() {
      if (released) return;
      released = true;
      // Only our own instance: never remove a lock someone else holds now.
      const held = readHeld(file);
      if (held && held.id !== `n${info.nonce}`) return;
      // Not fsynced: a power cut right after it at worst brings back this lock, stale (its processes are
      // gone), whose recovery puts the clone on the checkout it is on already.
      removeFile(file);
    },
  };
}

export function describeHolder(h: LockInfo): string {
  if (h.unreadable) return 'an unreadable lock file';
  return `pid ${h.pid}, started ${h.startedAt}, command "${h.command}", by ${h.by}`;
}

/** Why a recipe whose lock is held cannot be tested now, in one line. */
export function recipeBusy(recipe: string, holder: LockInfo): string {
  const orphan = orphanedHarness(holder);
  if (orphan) {
    return `a test from an earlier sweep is still running, pid ${orphan.pid} (started ${orphan.startedAt}; its sweep, pid ${holder.pid}, is gone); the clone is left as it is until it ends`;
  }
  return `recipe ${recipe} is being swept by another process (${describeHolder(holder)})`;
}

/** The host lock: waits up to `waitMs` (0 = not at all), then throws LockedError (exit 3). */
export async function acquireHostLock(stateDir: string, o: AcquireOptions & { waitMs: number; signal?: AbortSignal }): Promise<Lock> {
  const file = hostLockPath(stateDir);
  // A wait is a duration: the monotonic clock, so a wall-clock step cannot shorten or stretch it.
  const deadline = performance.now() + o.waitMs;
  let announced = false;
  for (;;) {
    const got = await tryLock(file, o);
    if ('release' in got) return got;
    if (performance.now() >= deadline || o.signal?.aborted) {
      throw new LockedError(`sweep already running (${describeHolder(got)}); wait for it or pass --wait-lock DURATION`);
    }
    if (!announced) {
      o.log.info({ holder: got }, 'another sweep is running: waiting for its lock');
      announced = true;
    }
    await sleep(Math.min(500, Math.max(10, deadline - performance.now())));
  }
}
