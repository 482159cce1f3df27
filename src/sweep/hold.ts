// `hold` and `release`: edit the recipe's holds.json (whole or not at all) under its own small lock, so two
// operators never lose each other's hold, and a sweep running meanwhile is not waited for. Each edit is a
// line in the recipe's history.jsonl.
import path from 'node:path';
import { appendHistory, recipeStateDir } from '../adapters/fs/state-store.js';
import { LockedError, UsageError } from '../core/errors.js';
import { describeHolder, type Lock, tryLock } from '../adapters/fs/lock.js';
import type { Logger } from '../adapters/log.js';
import { parseRelease } from '../core/version.js';
import { type HoldInfo, withHold, withoutHold } from '../core/holds.js';
import { readHolds, writeHolds } from '../adapters/fs/holds-store.js';
import { sleep } from '../adapters/timers.js';

export interface HoldContext {
  stateDir: string;
  log: Logger;
  by: string;
  now: () => Date;
}

async function holdsLock(c: HoldContext, recipe: string, command: string): Promise<Lock> {
  const file = path.join(recipeStateDir(c.stateDir, recipe), 'holds.lock');
  // Held only for a read and a rename: a few tries are plenty.
  for (let i = 0; ; i++) {
    const got = await tryLock(file, { log: c.log, command, by: c.by, now: c.now });
    if ('release' in got) return got;
    if (i >= 40) throw new LockedError(`the holds of ${recipe} are being changed by another process (${describeHolder(got)}); try again`);
    await sleep(50);
  }
}

export interface HoldResult {
  recipe: string;
  tag: string | null;
  hold: HoldInfo;
}

export async function holdRecipe(c: HoldContext, recipe: string, o: { tag?: string; reason: string; until: string | null }): Promise<HoldResult> {
  if (o.reason.trim() === '') throw new UsageError('--reason is empty: say why, so whoever finds the hold knows whether to release it');
  // One line: the reason is shown in tables, logs and chat messages.
  if ([...o.reason].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) throw new UsageError('--reason has a line break or control character: give it as one line');
  if (o.tag !== undefined && !parseRelease(o.tag)) {
    throw new UsageError(`--tag ${JSON.stringify(o.tag)} is not a release tag (<semver>[+<app version>]); only releases can be held`);
  }
  const tag = o.tag ?? null;
  const info: HoldInfo = { reason: o.reason.trim(), by: c.by, since: c.now().toISOString(), until: o.until };
  const lock = await holdsLock(c, recipe, `ccci-sweep hold ${recipe}`);
  try {
    writeHolds(c.stateDir, recipe, withHold(readHolds(c.stateDir, recipe), tag, info));
  } finally {
    lock.release();
  }
  appendHistory(c.stateDir, { type: 'hold', recipe, tag, reason: info.reason, by: info.by, at: info.since, until: info.until });
  return { recipe, tag, hold: info };
}

export interface ReleaseResult {
  recipe: string;
  tag: string | null;
  /** The hold that was lifted; null when there was none (nothing written). */
  released: HoldInfo | null;
}

export async function releaseRecipe(c: HoldContext, recipe: string, o: { tag?: string; reason?: string }): Promise<ReleaseResult> {
  const tag = o.tag ?? null;
  const lock = await holdsLock(c, recipe, `ccci-sweep release ${recipe}`);
  let removed: HoldInfo | null;
  try {
    const edit = withoutHold(readHolds(c.stateDir, recipe), tag);
    removed = edit.removed;
    if (removed) writeHolds(c.stateDir, recipe, edit.next);
  } finally {
    lock.release();
  }
  if (removed) {
    appendHistory(c.stateDir, { type: 'release', recipe, tag, reason: o.reason?.trim() || 'released', by: c.by, at: c.now().toISOString() });
  }
  return { recipe, tag, released: removed };
}
