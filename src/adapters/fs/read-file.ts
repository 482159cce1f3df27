// The one way the sweep reads a file it keeps state in (locks, canonical.json, history, holds, reports) or is
// told to read (settings, token files, results.json). A FIFO at such a path would block readFileSync with no
// writer, freezing the event loop so that not even SIGTERM is handled; a device could be read forever. So a
// file is opened non-blocking (and, for the sweep's own state, without following a symlink), fstat'ed, and
// read only when it is a regular file.
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';

/** A path that exists but is not a regular file (a FIFO, socket, device, folder, or a symlink not followed). */
export class NotRegularFileError extends Error {
  readonly code = 'ENOTREG';
  constructor(readonly file: string, readonly kind: string) {
    super(`${file} is ${kind}, not a regular file`);
  }
}

export interface ReadOptions {
  /** Follow a symlink at the path itself (settings and token files may be links, e.g. into /etc/static). */
  follow?: boolean;
  /** Refuse a file larger than this many bytes (an error with code EFBIG) instead of reading it all. */
  maxBytes?: number;
  /** Told the open file's stat (e.g. to check its mode), before anything is read. */
  onStat?: (st: Stats) => void;
}

/** What kind of thing a stat describes, in words for an error line. */
export function fileKind(st: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isDirectory()) return 'a folder';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a plain file';
}

/**
 * Reads a regular file whole. Errors keep their errno code (ENOENT for a missing file, so callers can tell
 * "none yet"); a path that is not a regular file throws NotRegularFileError; nothing ever blocks.
 */
export function readRegularFile(file: string, o: ReadOptions = {}): Buffer {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (o.follow ? 0 : constants.O_NOFOLLOW);
  let fd: number;
  try {
    fd = openSync(file, flags);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ELOOP: the path itself is a symlink (O_NOFOLLOW); ENXIO: a socket, or a FIFO... opened for writing only.
    if (code === 'ELOOP' || code === 'ENXIO' || code === 'EISDIR') {
      throw new NotRegularFileError(file, kindAt(file, o.follow === true));
    }
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new NotRegularFileError(file, fileKind(st));
    o.onStat?.(st);
    if (o.maxBytes !== undefined && st.size > o.maxBytes) {
      throw Object.assign(new Error(`${file} is larger than ${o.maxBytes} bytes`), { code: 'EFBIG' });
    }
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.max(64 * 1024, Math.min(st.size - total + 1, 16 * 1024 * 1024)));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      total += n;
      // A file that grows while read is still bounded by maxBytes.
      if (o.maxBytes !== undefined && total > o.maxBytes) {
        throw Object.assign(new Error(`${file} is larger than ${o.maxBytes} bytes`), { code: 'EFBIG' });
      }
      parts.push(n === buf.length ? buf : buf.subarray(0, n));
    }
    return Buffer.concat(parts, total);
  } finally {
    closeSync(fd);
  }
}

/** readRegularFile as UTF-8 text. */
export function readRegularText(file: string, o: ReadOptions = {}): string {
  return readRegularFile(file, o).toString('utf8');
}

/** Whether anything is at `file` (a dangling symlink, a FIFO included), without following or opening it. */
export function pathPresent(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

function kindAt(file: string, follow: boolean): string {
  try {
    return fileKind(follow ? statSync(file) : lstatSync(file));
  } catch {
    return 'not a plain file';
  }
}
