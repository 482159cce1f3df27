// The pure parts of the operator controls, in memory: the decision with holds and release ages, the holds
// file, "known since", the disk check, and which health changes are announced.
import { describe, expect, it } from 'vitest';
import { decide, requestedTagProblem } from '../../src/core/decision.js';
import { activeHolds, NO_HOLDS, parseHolds, parseUntil, rollbackTarget, withHold, withoutHold } from '../../src/core/holds.js';
import { seeTags, youngTags } from '../../src/core/release-age.js';
import { checkDisk, diskProblem, parseFreeLimit } from '../../src/core/disk.js';
import { healthOf, noticesFor } from '../../src/core/health.js';
import { resolveOperatorSettings } from '../../src/core/operator-settings.js';
import { parseSpan } from '../../src/core/span.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const tags = ['1.0.0', '1.1.0', '1.2.0', 'latest'];

describe('decide with operator controls', () => {
  it('a held recipe is skipped (held), even when never released or forced', () => {
    expect(decide({ tags, canonicalVersion: null, held: true, force: true })).toMatchObject({ decision: 'skip', reason: 'held', latest: '1.2.0' });
    expect(decide({ tags: [], canonicalVersion: null, held: true })).toMatchObject({ decision: 'skip', reason: 'held' });
  });
  it('a held tag is never a candidate: the newest release not held is', () => {
    expect(decide({ tags, canonicalVersion: '1.0.0', heldTags: new Set(['1.2.0']) })).toMatchObject({ decision: 'run', reason: 'new-release', latest: '1.1.0' });
    expect(decide({ tags, canonicalVersion: '1.1.0', heldTags: new Set(['1.2.0']) })).toMatchObject({ decision: 'skip', reason: 'no-new-version', latest: '1.1.0' });
    expect(decide({ tags, canonicalVersion: '1.1.0', heldTags: new Set(['1.2.0']), force: true })).toMatchObject({ decision: 'run', latest: '1.1.0' });
  });
  it('too young: the newest old enough is used and the young one is pending; none old enough and no canonical: too-new', () => {
    const young = new Map([['1.2.0', '2026-06-02T00:00:00.000Z']]);
    expect(decide({ tags, canonicalVersion: '1.0.0', young })).toEqual({
      decision: 'run', reason: 'new-release', latest: '1.1.0', ignoredTags: ['latest'], pending: { tag: '1.2.0', eligibleAt: '2026-06-02T00:00:00.000Z' },
    });
    const allYoung = new Map(['1.0.0', '1.1.0', '1.2.0'].map((t) => [t, 'x']));
    expect(decide({ tags, canonicalVersion: null, young: allYoung })).toMatchObject({ decision: 'skip', reason: 'too-new', latest: null, pending: { tag: '1.2.0' } });
    expect(decide({ tags, canonicalVersion: '1.0.0', young: allYoung })).toMatchObject({ decision: 'skip', reason: 'no-new-version', latest: null });
    // A held release is not pending: it would never become a candidate by waiting.
    expect(decide({ tags, canonicalVersion: '1.1.0', young, heldTags: new Set(['1.2.0']) }).pending).toBeUndefined();
  });
  it('a requested release is run (requested); requestedTagProblem refuses non-releases, held tags and downgrades without the flag', () => {
    expect(decide({ tags, canonicalVersion: '1.2.0', requested: '1.0.0' })).toMatchObject({ decision: 'run', reason: 'requested', latest: '1.0.0' });
    expect(requestedTagProblem('r', 'latest', tags, null)).toMatch(/not a release of r/);
    expect(requestedTagProblem('r', '1.1.0', tags, '1.1.0')).toMatch(/--allow-downgrade/);
    expect(requestedTagProblem('r', '1.1.0', tags, '1.1.0', { allowDowngrade: true })).toBeNull();
    expect(requestedTagProblem('r', '1.2.0', tags, '1.1.0', { heldTags: new Set(['1.2.0']) })).toMatch(/is held/);
    expect(requestedTagProblem('r', '1.2.0', tags, '1.1.0')).toBeNull();
  });
});

describe('holds', () => {
  const info = { reason: 'r', by: 'operator:a', since: '2026-05-01T00:00:00Z', until: null };
  it('edits and what is in force; expired holds are listed apart', () => {
    let h = withHold(NO_HOLDS, null, { ...info, until: '2026-05-15T00:00:00Z' });
    h = withHold(h, '1.2.0', info);
    expect(activeHolds(h, NOW)).toEqual({ hold: null, heldTags: [{ tag: '1.2.0', ...info }], expired: [{ tag: null, ...info, until: '2026-05-15T00:00:00Z' }] });
    expect(withoutHold(h, '1.2.0')).toMatchObject({ next: { tags: [] }, removed: { reason: 'r' } });
    expect(withoutHold(h, '9.9.9').removed).toBeNull();
    expect(parseHolds(JSON.parse(JSON.stringify(h)), 'f')).toEqual(h);
    expect(() => parseHolds({ recipe: { reason: 'x' } }, 'f')).toThrow(/f "recipe" has no string "by"/);
    expect(() => parseHolds([], 'f')).toThrow(/not a JSON object/);
  });
  it('--until: a span or an ISO date in the future', () => {
    expect(parseUntil('7d', NOW)).toBe('2026-06-08T00:00:00.000Z');
    expect(parseUntil('2026-07-01', NOW)).toBe('2026-07-01T00:00:00.000Z');
    expect(() => parseUntil('2026-01-01', NOW)).toThrow(/not in the future/);
    expect(() => parseUntil('tomorrow', NOW)).toThrow(/neither a span/);
    expect(parseSpan('1d12h')).toBe(36 * 3_600_000);
    // Far-out spans would have no ISO-8601 form (a RangeError, exit 70): refused as usage errors instead.
    expect(parseSpan('99999999w')).toBeNull();
    expect(() => parseUntil('99999999w', NOW)).toThrow(/at most 100 years/);
    expect(() => parseUntil('+275760-09-13', NOW)).toThrow(/neither a span|not a valid date/);
    expect(() => resolveOperatorSettings({ minReleaseAge: '9999999999d' }, {}, {}, 'f')).toThrow(/at most 100 years/);
  });
  it('rollback goes to the newest release below the canonical that is not held', () => {
    expect(rollbackTarget(['1.0.0', '1.1.0', '1.2.0'], 2, new Set())).toBe('1.1.0');
    expect(rollbackTarget(['1.0.0', '1.1.0', '1.2.0'], 2, new Set(['1.1.0']))).toBe('1.0.0');
    expect(rollbackTarget(['1.0.0'], 0, new Set())).toBeNull();
  });
});

describe('release age', () => {
  it('a tag is known from when first seen at its commit; a re-pointed or unseen tag counts as just seen', () => {
    const t0 = new Date('2026-05-01T00:00:00Z');
    const { next, changed } = seeTags({}, new Map([['1.0.0', 'a']]), t0);
    expect(changed).toBe(true);
    expect(seeTags(next, new Map([['1.0.0', 'a']]), new Date(NOW)).changed).toBe(false);
    const moved = seeTags(next, new Map([['1.0.0', 'b']]), new Date(NOW)).next;
    expect(moved['1.0.0']).toEqual({ commit: 'b', since: new Date(NOW).toISOString() });
    const day = 86_400_000;
    expect(youngTags(new Map([['1.0.0', 'a'], ['2.0.0', 'c']]), next, 2 * day, NOW)).toEqual(new Map([['2.0.0', new Date(NOW + 2 * day).toISOString()]]));
    expect(youngTags(new Map([['1.0.0', 'b']]), next, 2 * day, NOW).has('1.0.0')).toBe(true);
    expect(youngTags(new Map([['1.0.0', 'b']]), next, 0, NOW).size).toBe(0);
  });
});

describe('disk guard', () => {
  it('sizes and percentages; the problem names path, free and required', () => {
    expect(parseFreeLimit('10%')).toEqual({ kind: 'percent', percent: 10 });
    expect(parseFreeLimit('5G')).toEqual({ kind: 'bytes', bytes: 5 * 1024 ** 3 });
    expect(parseFreeLimit('512MiB')).toEqual({ kind: 'bytes', bytes: 512 * 1024 ** 2 });
    expect(parseFreeLimit('150%')).toBeNull();
    expect(parseFreeLimit('lots')).toBeNull();
    const low = checkDisk({ path: '/srv', freeBytes: 1024 ** 2, totalBytes: 100 * 1024 ** 2 }, { kind: 'percent', percent: 10 });
    expect(low).toMatchObject({ ok: false, requiredBytes: 10 * 1024 ** 2 });
    expect(diskProblem([low])).toBe('/srv has 1M free, 10M required (--min-free): not tested; free some space');
    expect(diskProblem([{ ...low, ok: true }])).toBeNull();
  });
});

describe('notify on change', () => {
  const r = (recipe: string, outcome: string, tag: string | null, reason = 'new-release') => ({ recipe, outcome, tag, reason, log: null });
  it('announces changes of health and a failure on a new tag, never the same failure twice', () => {
    expect(healthOf({ outcome: 'skipped', reason: 'known-red-unchanged' })).toBe('failing');
    expect(healthOf({ outcome: 'interrupted' })).toBeNull();
    const first = noticesFor([r('a', 'red', '1.0.0'), r('b', 'promoted', '2.0.0')], {}, 'h', 't');
    expect(first.notices.map((n) => [n.recipe, n.from, n.to])).toEqual([['a', 'unknown', 'failing']]);
    expect(first.notices[0]!.text).toBe('a 1.0.0 is failing on h (red).');
    const same = noticesFor([r('a', 'skipped', '1.0.0', 'known-red-unchanged')], first.health, 'h', 't');
    expect(same.notices).toEqual([]);
    const newTag = noticesFor([r('a', 'red', '1.1.0')], first.health, 'h', 't');
    expect(newTag.notices.map((n) => n.tag)).toEqual(['1.1.0']);
    const back = noticesFor([r('a', 'promoted', '1.1.0')], newTag.health, 'h', 't');
    expect(back.notices.map((n) => [n.from, n.to, n.text])).toEqual([['failing', 'ok', 'a 1.1.0 is ok again on h (promoted).']]);
  });
});

describe('operator settings', () => {
  it('flag > env > settings; bad values name their origin', () => {
    const s = resolveOperatorSettings({ notify: [] }, { CCCI_MIN_FREE: '2G' }, { 'min-release-age': '2d', notify: ['http://x/'] }, 'f.toml');
    expect(s).toEqual({ minReleaseAgeMs: 2 * 86_400_000, minFree: { kind: 'bytes', bytes: 2 * 1024 ** 3 }, diskPaths: null, notify: ['http://x/'] });
    expect(() => resolveOperatorSettings({ minFree: 'lots' }, {}, {}, 'f')).toThrow(/--min-free "lots" is not a size/);
    expect(() => resolveOperatorSettings({}, {}, { notify: 'ftp://x' }, 'f')).toThrow(/settings file f: \[sweep\] notify: ftp: URLs/);
    expect(() => resolveOperatorSettings({}, {}, { 'min-release-age': 3 }, 'f')).toThrow(/must be a string/);
  });
});
