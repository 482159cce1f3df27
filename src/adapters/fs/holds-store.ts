// `<state-dir>/<recipe>/holds.json`, written whole or not at all like canonical.json; and the "known since"
// record of each recipe's tags, `<state-dir>/<recipe>/known-tags.json`, which only run and sync write.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { removeStaleTemps, writeFileAtomic } from './atomic-file.js';
import { readRegularText } from './read-file.js';
import { recipeStateDir } from './state-store.js';
import { StateError } from '../../core/errors.js';
import { type HoldsFile, NO_HOLDS, parseHolds } from '../../core/holds.js';
import { type KnownTags, parseKnownTags, seeTags } from '../../core/release-age.js';

export function holdsPath(stateDir: string, recipe: string): string {
  return path.join(recipeStateDir(stateDir, recipe), 'holds.json');
}

/** The recipe's holds; none when the file does not exist. A damaged file throws StateError (never ignored). */
export function readHolds(stateDir: string, recipe: string): HoldsFile {
  const file = holdsPath(stateDir, recipe);
  let text: string;
  try {
    text = readRegularText(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return NO_HOLDS;
    throw new StateError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StateError(`${file} is not valid JSON; it is left untouched: fix or remove it (holds in it are then gone)`);
  }
  return parseHolds(value, file);
}

export function writeHolds(stateDir: string, recipe: string, holds: HoldsFile): void {
  const file = holdsPath(stateDir, recipe);
  mkdirSync(path.dirname(file), { recursive: true });
  removeStaleTemps(file);
  writeFileAtomic(file, `${JSON.stringify(holds, null, 2)}\n`);
}

export function knownTagsPath(stateDir: string, recipe: string): string {
  return path.join(recipeStateDir(stateDir, recipe), 'known-tags.json');
}

/** When each tag was first seen; a missing or damaged file means none were (they all count as just seen). */
export function readKnownTags(stateDir: string, recipe: string): KnownTags {
  try {
    return parseKnownTags(JSON.parse(readRegularText(knownTagsPath(stateDir, recipe))));
  } catch {
    return {};
  }
}

/**
 * run and sync (never plan): records the tags seen upstream now. Returns the record to decide with. Writing
 * is best effort: a record that cannot be written only makes new tags wait longer, never shorter.
 */
export function recordSeenTags(stateDir: string, recipe: string, tags: ReadonlyMap<string, string>, now: Date, warn: (msg: string) => void): KnownTags {
  const { next, changed } = seeTags(readKnownTags(stateDir, recipe), tags, now);
  if (!changed) return next;
  const file = knownTagsPath(stateDir, recipe);
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    removeStaleTemps(file);
    // Not fsynced: a record lost or emptied by a power cut reads as "nothing seen yet" (readKnownTags), so
    // new tags only wait longer, never shorter; a run with many new tags saves two fsyncs per recipe.
    writeFileAtomic(file, `${JSON.stringify(next, null, 2)}\n`, undefined, { durable: false });
  } catch (err) {
    warn(`${(err as Error).message}; new tags count as just seen until it can be written`);
  }
  return next;
}
