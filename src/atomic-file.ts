// Crash-safe file writes: a reader (or the next sweep after a kill -9) sees the old file or the new one,
// never a half-written one. Temp file in the same folder (so rename is atomic), fsync it, rename over the
// target, then fsync the folder so the rename itself survives a power cut.
import { closeSync, fstatSync, fsyncSync, openSync, readdirSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

export function writeFileAtomic(file: string, content: string, beforeRename?: () => void): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  beforeRename?.();
  renameSync(tmp, file);
  fsyncDir(dir);
}

/**
 * Appends one whole line with a single write, then fsyncs; a crash can tear at most this line. A torn last
 * line left by an earlier crash is closed first, so it cannot swallow the line we append.
 */
export function appendLineDurable(file: string, line: string): void {
  const fd = openSync(file, 'a+', 0o644);
  try {
    const size = fstatSync(fd).size;
    const last = Buffer.alloc(1);
    const torn = size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a;
    writeSync(fd, `${torn ? '\n' : ''}${line.endsWith('\n') ? line : `${line}\n`}`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Removes temp files a killed writer left beside `file` (call only while holding the file's lock). */
export function removeStaleTemps(file: string): void {
  const prefix = `.${path.basename(file)}.`;
  for (const name of readdirSync(path.dirname(file))) {
    if (name.startsWith(prefix) && name.endsWith('.tmp')) rmSync(path.join(path.dirname(file), name), { force: true });
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
