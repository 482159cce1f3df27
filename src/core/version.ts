// Release tags and their order. A release tag is `<recipe-semver>[+<app-version>]`, e.g. `1.13.0+1.31.1`.
// Plain semver comparison is wrong here: semver ignores everything after `+`, so `1.0.0+1.31.10` and
// `1.0.0+1.31.9` would tie. We order by the recipe semver, then by the app version segment by segment,
// then by the tag string, so every tag set has exactly one newest release.
// The five functions used, not semver's index (which loads every range and function: start-up time).
import SemVer from 'semver/classes/semver.js';
import coerce from 'semver/functions/coerce.js';
import compare from 'semver/functions/compare.js';
import eq from 'semver/functions/eq.js';
import valid from 'semver/functions/valid.js';

export interface Release {
  tag: string;
  recipe: SemVer;
  /** The part after `+`, or null when the tag has none. */
  app: string | null;
  /** App version split into comparable segments; a leading `v` is dropped. */
  appSegments: (number | string)[];
}

// What may follow the `+`: the characters Co-op Cloud app versions use (`v1.6.870-0`, `1.24.2-rootless`).
const APP_VERSION = /^[0-9A-Za-z][0-9A-Za-z._-]*$/;

/** Parses a tag; null when it is not a release tag (`latest`, `v2.4.8-d7d63b0d`, `1.14.1-rootless_1`). */
export function parseRelease(tag: string): Release | null {
  const plus = tag.indexOf('+');
  const recipePart = plus === -1 ? tag : tag.slice(0, plus);
  const app = plus === -1 ? null : tag.slice(plus + 1);
  // valid() would accept `v1.2.3` and `=1.2.3` and normalise them; a release tag must be exact.
  if (valid(recipePart) !== recipePart) return null;
  if (app !== null && !APP_VERSION.test(app)) return null;
  const recipe = new SemVer(recipePart);
  return { tag, recipe, app, appSegments: app === null ? [] : splitApp(app) };
}

function splitApp(app: string): (number | string)[] {
  const bare = /^v\d/i.test(app) ? app.slice(1) : app;
  return bare.split(/[._-]/).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** Numbers compare numerically and sort below words; a missing segment sorts below any present one. */
function compareSegments(a: (number | string)[], b: (number | string)[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (typeof x === 'number' && typeof y === 'number') return x < y ? -1 : 1;
    if (typeof x === 'number') return -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/** Total order on releases: recipe semver, then app version, then tag string. */
export function compareReleases(a: Release, b: Release): number {
  return (
    compare(a.recipe, b.recipe) ||
    compareSegments(a.appSegments, b.appSegments) ||
    (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0)
  );
}

export interface TagSet {
  /** Release tags, oldest first. */
  releases: Release[];
  /** Tags that are not releases, in input order. */
  ignored: string[];
}

/** Splits tags into ordered releases and ignored tags. Each tag is parsed once: O(T log T). */
export function classifyTags(tags: Iterable<string>): TagSet {
  const releases: Release[] = [];
  const ignored: string[] = [];
  for (const tag of new Set(tags)) {
    const r = parseRelease(tag);
    if (r) releases.push(r);
    else ignored.push(tag);
  }
  releases.sort(compareReleases);
  return { releases, ignored };
}

export function newestRelease(set: TagSet): Release | null {
  return set.releases.at(-1) ?? null;
}

/** Pure: why release `a` ranks above `b`, in words (for `explain`). */
export function whyNewer(a: Release, b: Release): string {
  const byRecipe = compare(a.recipe, b.recipe);
  if (byRecipe !== 0) {
    const pre = a.recipe.prerelease.length || b.recipe.prerelease.length;
    return `recipe version ${a.recipe.version} > ${b.recipe.version}${pre && eq(coerce(a.recipe)!, coerce(b.recipe)!) ? ' (a prerelease ranks below its release)' : ''}`;
  }
  const n = Math.max(a.appSegments.length, b.appSegments.length);
  for (let i = 0; i < n; i++) {
    const x = a.appSegments[i];
    const y = b.appSegments[i];
    if (x === y) continue;
    const what = y === undefined ? `has segment ${i + 1} (${String(x)}) where ${b.app ?? 'none'} ends` : `segment ${i + 1}: ${String(x)} > ${String(y)}`;
    return `same recipe version ${a.recipe.version}; app version ${a.app ?? '-'} > ${b.app ?? '-'} (${what})`;
  }
  return `same recipe and app version; tag string ${a.tag} sorts after ${b.tag}`;
}
