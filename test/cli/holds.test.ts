// Operator control end to end through the built CLI: holds, a chosen release, rollback, release ages.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addRelease } from '../support/sandbox.js';
import { cli, cliJson, launches, readJson, sandbox, snapshot } from '../support/cli.js';

const history = (sb: { stateDir: string }, recipe: string) =>
  readFileSync(path.join(sb.stateDir, recipe, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const tests = (sb: Parameters<typeof launches>[0]) => launches(sb).filter((l) => !l.script.includes('seed'));

describe('hold and release', () => {
  it('a held recipe is skipped (held); a held tag is never a candidate; plan, explain and status show them; history records each', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }, { tag: '1.1.0' }] }, { name: 'other', releases: [{ tag: '2.0.0' }] }]);
    const held = await cliJson(sb, ['hold', 'gitea', '--tag', '1.1.0', '--reason', 'breaks SSO']);
    expect(held.r.exitCode, held.r.stderr).toBe(0);
    const recipeHold = await cli(sb, ['hold', 'other', '--reason', 'migrating', '--until', '7d']);
    expect(recipeHold.exitCode, recipeHold.stderr).toBe(0);

    const before = snapshot(sb.root);
    const { r, doc } = await cliJson(sb, ['plan']);
    expect(snapshot(sb.root)).toEqual(before);
    expect(r.exitCode, r.stderr).toBe(0);
    const [gitea, other] = doc.recipes;
    expect(gitea).toMatchObject({ latest: '1.0.0', decision: 'run', reason: 'first-canonical' });
    expect(gitea.heldTags).toEqual([{ tag: '1.1.0', reason: 'breaks SSO', by: expect.stringMatching(/^operator:/), since: expect.any(String), until: null }]);
    expect(gitea.hold).toBeUndefined();
    expect(other).toMatchObject({ decision: 'skip', reason: 'held', hold: { reason: 'migrating', until: expect.any(String) } });
    expect(Date.parse(other.hold.until) - Date.parse(other.hold.since)).toBe(7 * 86_400_000);

    const ran = await cliJson(sb, ['run']);
    expect(ran.r.exitCode, ran.r.stderr).toBe(0);
    expect(ran.doc.recipes.map((x: any) => [x.recipe, x.outcome, x.tag, x.reason])).toEqual([
      ['gitea', 'promoted', '1.0.0', 'first-canonical'], ['other', 'skipped', '2.0.0', 'held'],
    ]);
    expect(tests(sb).map((l) => l.env.CCCI_SWEEP_TAG)).toEqual(['1.0.0']);

    const ex = await cliJson(sb, ['explain', 'gitea']);
    expect(ex.doc.heldTags[0]).toMatchObject({ tag: '1.1.0', reason: 'breaks SSO' });
    const st = await cliJson(sb, ['status']);
    expect(st.doc.recipes[1].hold).toMatchObject({ reason: 'migrating' });
    expect(st.doc.recipes[0].heldTags[0]).toMatchObject({ tag: '1.1.0' });

    const rel = await cli(sb, ['release', 'gitea', '--tag', '1.1.0']);
    expect(rel.exitCode, rel.stderr).toBe(0);
    const again = await cliJson(sb, ['plan', '--recipe', 'gitea']);
    expect(again.doc.recipes[0]).toMatchObject({ latest: '1.1.0', decision: 'run', reason: 'new-release' });
    expect(again.doc.recipes[0].heldTags).toBeUndefined();
    expect(history(sb, 'gitea').filter((h) => h.type !== 'attempt' && h.type !== 'promotion').map((h) => [h.type, h.tag, h.reason])).toEqual([
      ['hold', '1.1.0', 'breaks SSO'], ['release', '1.1.0', 'released'],
    ]);
    expect(history(sb, 'other').map((h) => h.type)).toEqual(['hold']);
  });

  it('an expired hold no longer applies: plan says nothing of it, status lists it as expired', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    const file = path.join(sb.stateDir, 'gitea', 'holds.json');
    expect((await cli(sb, ['hold', 'gitea', '--reason', 'x', '--until', '1h'])).exitCode).toBe(0);
    const holds = readJson(file);
    holds.recipe.until = '2020-01-01T00:00:00.000Z';
    writeFileSync(file, JSON.stringify(holds));
    const { doc } = await cliJson(sb, ['plan']);
    expect(doc.recipes[0]).toMatchObject({ decision: 'run', reason: 'first-canonical' });
    expect(doc.recipes[0].hold).toBeUndefined();
    const st = await cliJson(sb, ['status']);
    expect(st.doc.recipes[0].hold).toBeUndefined();
    expect(st.doc.recipes[0].expiredHolds).toEqual([expect.objectContaining({ tag: null, reason: 'x', until: '2020-01-01T00:00:00.000Z' })]);
  });

  it('refuses bad input with exit 2 and writes nothing; a damaged holds.json is an error, never ignored', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    const before = snapshot(sb.root);
    for (const args of [
      ['hold', 'nope', '--reason', 'x'], ['hold', 'gitea'], ['hold', 'gitea', '--reason', ' '], ['hold', 'gitea', '--reason', 'x', '--until', 'soon'],
      ['hold', 'gitea', '--reason', 'x', '--until', '2001-01-01'], ['hold', 'gitea', '--reason', 'x', '--tag', 'latest'],
      ['hold', 'gitea', '--reason', 'x', '--until', '99999999w'], ['hold', 'gitea', '--reason', 'two\nlines'],
      ['plan', '--min-release-age', '99999999w'],
    ]) {
      const r = await cli(sb, args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(snapshot(sb.root)).toEqual(before);
    mkdirSync(path.join(sb.stateDir, 'gitea'), { recursive: true });
    writeFileSync(path.join(sb.stateDir, 'gitea', 'holds.json'), '{"recipe": {"reason": 1}}');
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode).toBe(1);
    expect(doc.recipes[0]).toMatchObject({ outcome: 'error', reason: 'holds-unreadable' });
    expect(launches(sb)).toEqual([]);
  });
});

describe('run --tag and rollback', () => {
  it('tests a chosen release (requested); a downgrade needs --allow-downgrade; rollback holds the bad release and promotes the one below', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }, { tag: '1.1.0' }, { tag: '1.2.0' }] }]);
    const chosen = await cliJson(sb, ['run', '--recipe', 'gitea', '--tag', '1.1.0']);
    expect(chosen.r.exitCode, chosen.r.stderr).toBe(0);
    expect(chosen.doc.recipes[0]).toMatchObject({ reason: 'requested', tag: '1.1.0', outcome: 'promoted' });
    expect((await cli(sb, ['run'])).exitCode).toBe(0);
    expect(readJson(path.join(sb.stateDir, 'gitea', 'canonical.json'))).toMatchObject({ version: '1.2.0' });

    const notRelease = await cli(sb, ['run', '--recipe', 'gitea', '--tag', '9.9.9']);
    expect(notRelease.exitCode).toBe(2);
    expect(notRelease.stderr).toMatch(/9\.9\.9 is not a release of gitea/);
    const down = await cli(sb, ['run', '--recipe', 'gitea', '--tag', '1.0.0']);
    expect(down.exitCode).toBe(2);
    expect(down.stderr).toMatch(/--allow-downgrade/);
    expect((await cli(sb, ['run', '--tag', '1.0.0'])).exitCode).toBe(2);
    const launched = launches(sb).length;

    const allowed = await cliJson(sb, ['run', '--recipe', 'gitea', '--tag', '1.0.0', '--allow-downgrade']);
    expect(allowed.r.exitCode, allowed.r.stderr).toBe(0);
    expect(allowed.doc.recipes[0]).toMatchObject({ reason: 'requested', tag: '1.0.0', outcome: 'promoted' });
    expect(launches(sb).length).toBeGreaterThan(launched);
    // A chosen older release is tested cold: no upgrade from the newer canonical.
    expect(tests(sb).at(-1)!.env.CCCI_UPGRADE_BASE).toBeUndefined();
    expect(readJson(path.join(sb.stateDir, 'gitea', 'canonical.json'))).toMatchObject({ version: '1.0.0', previous: { version: '1.2.0' } });

    // Back to 1.2.0 the normal way, then roll back from it.
    expect((await cli(sb, ['run'])).exitCode).toBe(0);
    const rb = await cliJson(sb, ['rollback', 'gitea', '--reason', 'data loss in 1.2.0']);
    expect(rb.r.exitCode, rb.r.stderr).toBe(0);
    expect(rb.doc).toMatchObject({ target: '1.1.0', held: { tag: '1.2.0', hold: { reason: 'data loss in 1.2.0' } } });
    expect(rb.doc.recipes[0]).toMatchObject({ reason: 'requested', tag: '1.1.0', outcome: 'promoted' });
    expect(readJson(path.join(sb.stateDir, 'gitea', 'canonical.json'))).toMatchObject({ version: '1.1.0', previous: { version: '1.2.0' } });
    // The next night does not promote the bad release again.
    const night = await cliJson(sb, ['run']);
    expect(night.doc.recipes[0]).toMatchObject({ outcome: 'skipped', reason: 'no-new-version', tag: '1.1.0' });
    expect(history(sb, 'gitea').filter((h) => h.type === 'hold')).toEqual([expect.objectContaining({ tag: '1.2.0', reason: 'data loss in 1.2.0' })]);

    // A held recipe is not tested around its hold, neither by --tag nor by rollback: exit 2, nothing written.
    expect((await cli(sb, ['hold', 'gitea', '--reason', 'freeze'])).exitCode).toBe(0);
    const frozen = snapshot(sb.root);
    const tagged = await cli(sb, ['run', '--recipe', 'gitea', '--tag', '1.0.0', '--allow-downgrade']);
    expect(tagged.exitCode).toBe(2);
    expect(tagged.stderr).toMatch(/gitea is held \(freeze\): release it first/);
    expect((await cli(sb, ['rollback', 'gitea', '--reason', 'x'])).exitCode).toBe(2);
    expect(snapshot(sb.root)).toEqual(frozen);

    const noCanonical = await sandbox([{ name: 'x', releases: [{ tag: '1.0.0' }] }]);
    expect((await cli(noCanonical, ['rollback', 'x', '--reason', 'r'])).exitCode).toBe(2);
    expect((await cli(sb, ['rollback', 'gitea'])).exitCode).toBe(2);
  });
});

describe('--min-release-age', () => {
  it('a release is a candidate once run or sync has known it long enough; plan shows the young one as pending and writes nothing', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }, { name: 'fresh', releases: [{ tag: '0.1.0' }] }]);
    // Never seen: no canonical, nothing old enough: too-new.
    const before = snapshot(sb.root);
    const young = await cliJson(sb, ['plan', '--min-release-age', '2d']);
    expect(snapshot(sb.root)).toEqual(before);
    expect(young.doc.recipes[1]).toMatchObject({ recipe: 'gitea', decision: 'skip', reason: 'too-new', latest: null, pending: { tag: '1.0.0', eligibleAt: expect.any(String) } });
    // run records when each tag was first seen; back-date it as if seen three days ago.
    const first = await cliJson(sb, ['run', '--min-release-age', '2d']);
    expect(first.r.exitCode, first.r.stderr).toBe(0);
    expect(first.doc.recipes.map((x: any) => x.reason)).toEqual(['too-new', 'too-new']);
    const knownFile = path.join(sb.stateDir, 'gitea', 'known-tags.json');
    const known = readJson(knownFile);
    known['1.0.0'].since = new Date(Date.now() - 3 * 86_400_000).toISOString();
    writeFileSync(knownFile, JSON.stringify(known));
    expect((await cli(sb, ['run', '--recipe', 'gitea'], { CCCI_MIN_RELEASE_AGE: '2d' })).exitCode).toBe(0);
    await addRelease(sb, 'gitea', { tag: '1.1.0' });
    const snap = snapshot(sb.root);
    const p = await cliJson(sb, ['plan', '--recipe', 'gitea', '--min-release-age', '2d']);
    expect(snapshot(sb.root)).toEqual(snap);
    expect(p.doc.recipes[0]).toMatchObject({ latest: '1.0.0', decision: 'skip', reason: 'no-new-version', pending: { tag: '1.1.0' } });
    // Without the minimum, the new release is the candidate at once.
    expect((await cliJson(sb, ['plan', '--recipe', 'gitea'])).doc.recipes[0]).toMatchObject({ latest: '1.1.0', decision: 'run' });
    expect((await cli(sb, ['plan', '--min-release-age', 'soon'])).exitCode).toBe(2);
  });
});
