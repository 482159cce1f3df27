// Crash-safe, full-disk-safe file writes: a reader (or the next sweep after a kill -9 or a full disk) sees
// the old file or the new one, never a half-written one. The temp file lives in the target's own folder (so
// rename is atomic and nothing leaks elsewhere); every byte is written (writeSync may write fewer bytes than
// asked when the disk fills), the file is fsynced, renamed over the target, and the folder is fsynced so the
// rename itself survives a power cut. On any error the old file is kept and the temp file removed.
import { randomBytes } from 'node:crypto';
import {
  closeSync, constants, fstatSync, fsyncSync, ftruncateSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, writeSync,
} from 'node:fs';
import path from 'node:path';
import { mayAct } from '../effects.js';
import { fileKind } from './read-file.js';
import { WriteError } from '../../core/errors.js';

/** Writes all of `buf` at the fd's position, looping on short writes; a write of 0 bytes is an error. */
export function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) {
    const n = writeSync(fd, buf, off, buf.length - off);
    if (n <= 0) throw Object.assign(new Error('no space left on device (write wrote nothing)'), { code: 'ENOSPC' });
    off += n;
  }
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, '').split('\n')[0]}` : String(e?.message ?? err);
}

/** A fresh temp name beside `file`, in its own folder; removeStaleTemps() recognises it. */
function tempBeside(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Creates a complete, fsynced (unless `sync` is false) temp file beside `file` holding `content`; returns its path. */
function writeTemp(file: string, content: string | Buffer, sync = true): string {
  const tmp = tempBeside(file);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    writeAll(fd, typeof content === 'string' ? Buffer.from(content) : content);
    if (sync) fsyncSync(fd);
    const closing = fd;
    fd = undefined;
    closeSync(closing); // close can report a deferred write error too
    return tmp;
  } catch (err) {
    if (fd !== undefined) closeQuietly(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Replaces `file` with `content` whole. `syncFolder: false` leaves out the folder's fsync: the rename may then
 * be undone by a power cut (the previous version comes back, itself whole: the new content is fsynced before
 * the rename either way, so a cut never leaves an empty file). Only for content whose loss at a power cut
 * costs nothing: what live processes tell each other. `durable: false` leaves out both fsyncs (live readers
 * still see the old file or the new one, whole): only for a file whose readers take an empty or damaged one
 * for "nothing recorded" and lose nothing by it.
 */
export function writeFileAtomic(file: string, content: string, beforeRename?: () => void, o: { syncFolder?: boolean; durable?: boolean } = {}): void {
  mayAct(`write ${file}`);
  // `x/` would put the temp file in the folder above and then fail the rename: refuse it up front.
  if (file.endsWith(path.sep) || isDirectory(file)) throw new WriteError(`cannot write ${file}: the path names a folder, not a file`);
  let tmp: string | undefined;
  try {
    tmp = writeTemp(file, content, o.durable !== false);
    beforeRename?.();
    renameSync(tmp, file);
    tmp = undefined;
  } catch (err) {
    if (tmp !== undefined) rmSync(tmp, { force: true });
    throw new WriteError(`cannot write ${file} (${reason(err)}); the previous version is kept`);
  }
  if (o.syncFolder === false || o.durable === false) return;
  try {
    fsyncDir(path.dirname(file));
  } catch (err) {
    throw new WriteError(`${file} was replaced but its folder could not be synced (${reason(err)}); it may revert after a power cut`);
  }
}

/**
 * Creates `file` holding `content` only if it does not exist yet: the content is written and fsynced under a
 * temp name first and then hard-linked into place, so the file appears whole or not at all (never empty or
 * half-written, as an O_EXCL create followed by a write would be for a moment). Returns false when `file`
 * already exists. `durable: false` leaves out both fsyncs: live processes still see the file whole or not
 * at all, but after a power cut it may be missing or empty; only for a file that then is stale anyway.
 */
export function createExclusive(file: string, content: string, o: { durable?: boolean } = {}): boolean {
  mayAct(`create ${file}`);
  let tmp: string | undefined;
  try {
    tmp = writeTemp(file, content, o.durable !== false);
    try {
      linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
    if (o.durable !== false) fsyncDir(path.dirname(file));
    return true;
  } catch (err) {
    throw new WriteError(`cannot create ${file} (${reason(err)})`);
  } finally {
    if (tmp !== undefined) rmSync(tmp, { force: true });
  }
}

/**
 * Appends one whole line with a single write (looping only on short writes), then fsyncs; a crash can tear
 * at most this line. A torn last line left by an earlier crash is closed first, so it cannot swallow the line
 * we append. On a write error (a full disk) the file is cut back to its previous size: no torn line remains.
 */
export function appendLineDurable(file: string, line: string): void {
  mayAct(`append to ${file}`);
  let fd: number;
  try {
    // Never through a symlink, and never blocking on a FIFO or device someone put there.
    fd = openSync(file, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ELOOP' ? 'it is a symbolic link, not a regular file' : reason(err);
    throw new WriteError(`cannot append to ${file} (${why}); nothing was added`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new WriteError(`cannot append to ${file} (it is ${fileKind(st)}, not a regular file: remove it); nothing was added`);
    const size = st.size;
    const last = Buffer.alloc(1);
    const torn = size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a;
    try {
      writeAll(fd, Buffer.from(`${torn ? '\n' : ''}${line.endsWith('\n') ? line : `${line}\n`}`));
      fsyncSync(fd);
    } catch (err) {
      try {
        ftruncateSync(fd, size);
        fsyncSync(fd);
      } catch {
        // the reader skips a torn last line with a warning; nothing more can be done on this disk
      }
      throw new WriteError(`cannot append to ${file} (${reason(err)}); nothing was added`);
    }
  } finally {
    closeQuietly(fd);
  }
}

/**
 * Removes temp files a killed writer left beside `file`. A temp file names its writer's pid: one of a live
 * process other than this one may be in use (a racer about to link a lock into place) and is kept.
 */
export function removeStaleTemps(file: string): void {
  mayAct(`remove stale temp files beside ${file}`);
  // Exactly `.<name>.<pid>.<hex>.tmp`: not the temp files of other names that merely start alike.
  const prefix = `.${path.basename(file)}.`;
  let names: string[];
  try {
    names = readdirSync(path.dirname(file));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)\.[0-9a-f]+\.tmp$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid > 0 && pid !== process.pid && pidExists(pid)) continue;
    rmSync(path.join(path.dirname(file), name), { force: true });
  }
}

/** Creates `dir` and its parents (nothing when it exists). */
export function ensureDir(dir: string): void {
  mayAct(`create folder ${dir}`);
  mkdirSync(dir, { recursive: true });
}

/** Removes `file` (nothing when it is gone). */
export function removeFile(file: string): void {
  mayAct(`remove ${file}`);
  rmSync(file, { force: true });
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The path itself is a folder (a symlink to one is not: the rename replaces the link, never writes through it). */
function isDirectory(file: string): boolean {
  try {
    return lstatSync(file).isDirectory();
  } catch {
    return false;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already reported by the write or fsync that failed
  }
}
