// The sweep driven end to end: the built CLI as a subprocess, real git repos, the stand-in cc-ci-run.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addRelease } from '../support/sandbox.js';
import { cli, cliJson, control, launches, readJson, sandbox, snapshot } from '../support/cli.js';
import { git } from '../support/git.js';

const upstreamCommit = (sb: { upstreamDir: string }, recipe: string, ref: string) =>
  git(path.join(sb.upstreamDir, `${recipe}.git`), 'rev-parse', `${ref}^{commit}`);

describe('run', () => {
  it('promotes a new release with the commit of its tag, not the branch head', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0+1.20.0' }, { tag: '1.1.0+1.21.0' }], untaggedAfter: 2 }]);
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.recipes).toEqual([
      expect.objectContaining({ recipe: 'gitea', decision: 'run', reason: 'first-canonical', tag: '1.1.0+1.21.0', outcome: 'promoted', exitCode: 0 }),
    ]);
    const tagCommit = upstreamCommit(sb, 'gitea', '1.1.0+1.21.0');
    expect(tagCommit).not.toBe(upstreamCommit(sb, 'gitea', 'main'));
    const rec = readJson(path.join(sb.stateDir, 'gitea', 'canonical.json'));
    expect(rec).toMatchObject({ recipe: 'gitea', version: '1.1.0+1.21.0', commit: tagCommit, status: 'idle', previous: null });
    expect(rec.ts).toMatch(/^\d{8}T\d{6}Z$/);
    expect(rec.ccciCommit).toBe(git(sb.ccciRepo, 'rev-parse', 'HEAD'));
    expect(new Date(rec.promotedAt).toString()).not.toBe('Invalid Date');

    // The harness saw exactly the tag, through the contract, and the seed script ran after it.
    const [test, seed] = launches(sb);
    expect(test).toMatchObject({ argv: ['runner/run_recipe_ci.py'], cwd: sb.ccciRepo, recipe: 'gitea', head: tagCommit, branch: null });
    expect(test!.env).toMatchObject({
      RECIPE: 'gitea', CCCI_SKIP_FETCH: '1', CCCI_REPO: sb.ccciRepo, ABRA_DIR: path.dirname(sb.recipesDir),
      CCCI_SWEEP: '1', CCCI_SWEEP_TAG: '1.1.0+1.21.0',
    });
    expect(test!.env.CCCI_UPGRADE_BASE).toBeUndefined();
    expect(test!.env.CCCI_RUNS_DIR).toMatch(new RegExp(`^${sb.stateDir}/gitea/runs/\\d{8}T\\d{6}Z$`));
    expect(seed).toMatchObject({ argv: ['runner/seed_canonical.py'], head: tagCommit });
    expect(seed!.env).toMatchObject({ CCCI_CANONICAL_VERSION: '1.1.0+1.21.0', CCCI_CANONICAL_COMMIT: tagCommit });
    expect(readFileSync(path.join(test!.env.CCCI_RUNS_DIR!, 'harness.log'), 'utf8')).toContain('testing gitea 1.1.0+1.21.0');

    // The clone is back on its branch, and the history has the attempt and the promotion.
    expect(git(path.join(sb.recipesDir, 'gitea'), 'symbolic-ref', '--short', 'HEAD')).toBe('main');
    const history = readFileSync(path.join(sb.stateDir, 'gitea', 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(history.map((h) => [h.type, h.outcome])).toEqual([['attempt', 'promoted'], ['promotion', undefined]]);
  });

  it('upgrades from the canonical on a newer release, then a second run launches nothing', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0+1.31.9' }] }]);
    expect((await cli(sb, ['run'])).exitCode).toBe(0);
    await addRelease(sb, 'gitea', { tag: '1.0.0+1.31.10' });
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.recipes[0]).toMatchObject({ reason: 'new-release', tag: '1.0.0+1.31.10', outcome: 'promoted' });
    expect(launches(sb).at(-2)!.env.CCCI_UPGRADE_BASE).toBe('1.0.0+1.31.9');
    const rec = readJson(path.join(sb.stateDir, 'gitea', 'canonical.json'));
    expect(rec).toMatchObject({ version: '1.0.0+1.31.10', previous: { version: '1.0.0+1.31.9' } });

    const before = launches(sb).length;
    const again = await cliJson(sb, ['run']);
    expect(again.r.exitCode).toBe(0);
    expect(again.doc.recipes[0]).toMatchObject({ outcome: 'skipped', reason: 'no-new-version' });
    expect(launches(sb).length).toBe(before);
  });

  it('skips equal, never-released and untagged-commits-after-release recipes without launching anything', async () => {
    const sb = await sandbox([
      { name: 'equal', releases: [{ tag: '2.0.0+3.0' }] },
      { name: 'never', releases: [], otherTags: ['latest'] },
      { name: 'moved', releases: [{ tag: '1.0.0+1' }], untaggedAfter: 3 },
    ]);
    expect((await cli(sb, ['run', '--recipe', 'equal', '--recipe', 'moved'])).exitCode).toBe(0);
    const first = launches(sb).length;
    await addUntagged(sb, 'equal');
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode, r.stderr).toBe(0);
    const by = Object.fromEntries(doc.recipes.map((x: any) => [x.recipe, x]));
    expect(by.equal).toMatchObject({ outcome: 'skipped', reason: 'no-new-version' });
    expect(by.moved).toMatchObject({ outcome: 'skipped', reason: 'no-new-version', tag: '1.0.0+1' });
    expect(by.never).toMatchObject({ outcome: 'skipped', reason: 'never-released', tag: null });
    expect(launches(sb).length).toBe(first);
  });

  it('does not promote a green run whose compose label does not match the tag', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0+1.2', label: '0.9.0+1.1' }] }]);
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode).toBe(1);
    expect(doc.recipes[0]).toMatchObject({ outcome: 'not-promoted', exitCode: 0 });
    expect(doc.recipes[0].detail).toMatch(/label 0\.9\.0\+1\.1 does not match tag 1\.0\.0\+1\.2/);
    expect(existsSync(path.join(sb.stateDir, 'gitea', 'canonical.json'))).toBe(false);
    expect(launches(sb).filter((l) => l.script.includes('seed'))).toEqual([]);
  });

  it.each([
    ['does not parse', 'services: [unclosed\n', /compose\.yml does not parse/],
    ['has no version label', 'services:\n  app:\n    image: x\n', /no coop-cloud\.\$\{STACK_NAME\}\.version label/],
  ])('does not promote a release whose compose file %s', async (_what, compose, reason) => {
    const sb = await sandbox([{ name: 'gitea', releases: [] }]);
    const work = path.join(sb.root, 'work', 'gitea');
    writeFileSync(path.join(work, 'compose.yml'), compose);
    const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' };
    execFileSync('git', ['commit', '-qam', 'broken compose'], { cwd: work, env });
    execFileSync('git', ['tag', '-a', '-m', 'r', '1.0.0'], { cwd: work, env });
    execFileSync('git', ['push', '-q', '--follow-tags', path.join(sb.upstreamDir, 'gitea.git'), 'main'], { cwd: work });
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode).toBe(1);
    expect(doc.recipes[0]).toMatchObject({ outcome: 'not-promoted', exitCode: 0 });
    expect(doc.recipes[0].detail).toMatch(reason);
    expect(existsSync(path.join(sb.stateDir, 'gitea', 'canonical.json'))).toBe(false);
  });

  it('leaves the canonical unchanged when the harness is red', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0+1' }] }]);
    expect((await cli(sb, ['run'])).exitCode).toBe(0);
    const canonicalFile = path.join(sb.stateDir, 'gitea', 'canonical.json');
    const before = readFileSync(canonicalFile, 'utf8');
    await addRelease(sb, 'gitea', { tag: '1.1.0+1' });
    control(sb, { gitea: { exit: 1 } });
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode).toBe(1);
    expect(doc.recipes[0]).toMatchObject({ outcome: 'red', exitCode: 1, tag: '1.1.0+1' });
    expect(readFileSync(canonicalFile, 'utf8')).toBe(before);
    expect(git(path.join(sb.recipesDir, 'gitea'), 'symbolic-ref', '--short', 'HEAD')).toBe('main');
  });

  it('maps the harness deadline (142) to timeout and promote failure to promote-failed', async () => {
    const sb = await sandbox([
      { name: 'slow', releases: [{ tag: '1.0.0' }] },
      { name: 'seedless', releases: [{ tag: '1.0.0' }] },
    ]);
    control(sb, { slow: { exit: 142 }, seedless: { seedExit: 3 } });
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode).toBe(1);
    const by = Object.fromEntries(doc.recipes.map((x: any) => [x.recipe, x]));
    expect(by.slow).toMatchObject({ outcome: 'timeout', exitCode: 142 });
    expect(by.seedless).toMatchObject({ outcome: 'promote-failed' });
    expect(existsSync(path.join(sb.stateDir, 'seedless', 'canonical.json'))).toBe(false);
    expect(r.stdout).not.toMatch(/"outcome": "promoted"/);
  });

  it('reads a legacy canonical.json as is and keeps its fields on promotion', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0+1' }, { tag: '1.1.0+1' }] }]);
    const legacy = {
      recipe: 'gitea', version: '1.0.0+1', commit: upstreamCommit(sb, 'gitea', '1.0.0+1'), status: 'idle',
      ts: '20250101T010203Z', domain: 'gitea.ci.example',
    };
    mkdirSync(path.join(sb.stateDir, 'gitea'), { recursive: true });
    writeFileSync(path.join(sb.stateDir, 'gitea', 'canonical.json'), JSON.stringify(legacy));
    const plan = await cliJson(sb, ['plan']);
    expect(plan.doc.recipes[0]).toMatchObject({ canonical: { version: '1.0.0+1', commit: legacy.commit }, decision: 'run', reason: 'new-release' });
    const status = await cliJson(sb, ['status']);
    expect(status.doc.recipes[0].canonical).toMatchObject({ version: '1.0.0+1', commit: legacy.commit, promotedAt: null });

    expect((await cli(sb, ['run'])).exitCode).toBe(0);
    const rec = readJson(path.join(sb.stateDir, 'gitea', 'canonical.json'));
    const { domain: _d, ...known } = legacy;
    expect(rec).toMatchObject({ version: '1.1.0+1', domain: 'gitea.ci.example', previous: known });
    expect(rec.previous).not.toHaveProperty('domain');
    expect(launches(sb)[0]!.env.CCCI_UPGRADE_BASE).toBe('1.0.0+1');
  });

  it('does not pass a stale REF, PR, SRC, MODE or CCCI_QUICK from the shell to the harness', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    const r = await cli(sb, ['run'], { REF: 'refs/pull/9/head', PR: '9', SRC: '/tmp/x', MODE: 'quick', CCCI_QUICK: '1', KEEP_ME: 'yes' });
    expect(r.exitCode, r.stderr).toBe(0);
    const env = launches(sb)[0]!.env;
    for (const k of ['REF', 'PR', 'SRC', 'MODE', 'CCCI_QUICK']) expect(env[k]).toBeUndefined();
    expect(env.KEEP_ME).toBe('yes');
  });

  it('does not promote when the harness reports a quick run', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    control(sb, { gitea: { results: { mode: 'quick', level: 2 } } });
    const { doc } = await cliJson(sb, ['run']);
    expect(doc.recipes[0]).toMatchObject({ outcome: 'not-promoted' });
    expect(doc.recipes[0].detail).toMatch(/quick/);
  });

  it('runs the newest release again with --force', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    expect((await cli(sb, ['run'])).exitCode).toBe(0);
    const { r, doc } = await cliJson(sb, ['run', '--force']);
    expect(r.exitCode).toBe(0);
    expect(doc.recipes[0]).toMatchObject({ reason: 'forced', outcome: 'promoted' });
    expect(launches(sb).filter((l) => !l.script.includes('seed'))).toHaveLength(2);
  });
});

describe('plan', () => {
  it('changes no file, ref or remote, and reports every decision', async () => {
    const sb = await sandbox([
      { name: 'gitea', cadence: 'nightly', releases: [{ tag: '1.0.0+1.2' }], otherTags: ['latest', 'v2.4.8-d7d63b0d'] },
      { name: 'never', releases: [] },
    ]);
    expect((await cli(sb, ['run', '--recipe', 'gitea'])).exitCode).toBe(0);
    await addRelease(sb, 'gitea', { tag: '1.1.0+1.3' });
    // Holds and release ages are read, never written, by plan: a hold and a settling release in the state.
    expect((await cli(sb, ['hold', 'never', '--reason', 'not yet', '--until', '30d'])).exitCode).toBe(0);
    expect((await cli(sb, ['hold', 'gitea', '--tag', '9.9.9', '--reason', 'future'])).exitCode).toBe(0);
    const before = snapshot(sb.root);
    const { r, doc } = await cliJson(sb, ['plan']);
    const dry = await cliJson(sb, ['run', '--dry-run']);
    const table = await cli(sb, ['plan']);
    const offline = await cliJson(sb, ['plan', '--offline']);
    const aged = await cliJson(sb, ['plan', '--min-release-age', '3d']);
    const agedDry = await cliJson(sb, ['run', '--dry-run', '--min-release-age', '3d']);
    const explained = await cliJson(sb, ['explain', 'gitea', '--min-release-age', '3d']);
    expect(snapshot(sb.root)).toEqual(before);
    // 1.1.0 was never seen by a run: it counts as just seen; 1.0.0 was seen by the first run, seconds ago: both settle.
    expect(aged.doc.recipes[0]).toMatchObject({ latest: null, decision: 'skip', reason: 'no-new-version', pending: { tag: '1.1.0+1.3' } });
    // A tag no run has seen counts as seen now, so only its eligibleAt differs between the two reads.
    const settled = (d: any) => d.recipes.map((e: any) => ({ ...e, pending: e.pending?.tag }));
    expect(settled(agedDry.doc)).toEqual(settled(aged.doc));
    expect(explained.doc.pending).toMatchObject({ tag: '1.1.0+1.3' });
    expect(aged.doc.recipes[1]).toMatchObject({ decision: 'skip', reason: 'held', hold: { reason: 'not yet' } });

    expect(r.exitCode).toBe(0);
    expect(doc).toEqual({
      recipes: [
        {
          recipe: 'gitea', cadence: 'nightly',
          canonical: { version: '1.0.0+1.2', commit: upstreamCommit(sb, 'gitea', '1.0.0+1.2') },
          latest: '1.1.0+1.3', decision: 'run', reason: 'new-release', ignoredTags: ['latest', 'v2.4.8-d7d63b0d'],
          mirror: { state: 'not-configured', detail: 'no --mirror-url: mirror-sync is skipped' },
          heldTags: [{ tag: '9.9.9', reason: 'future', by: expect.stringMatching(/^operator:/), since: expect.any(String), until: null }],
        },
        {
          recipe: 'never', cadence: 'weekly', canonical: null, latest: null, decision: 'skip', reason: 'held', ignoredTags: [],
          mirror: { state: 'not-configured', detail: 'no --mirror-url: mirror-sync is skipped' },
          hold: { reason: 'not yet', by: expect.stringMatching(/^operator:/), since: expect.any(String), until: expect.any(String) },
        },
      ],
    });
    expect(dry.doc).toEqual(doc);
    expect(table.stdout).toMatch(/gitea\s+nightly\s+1\.0\.0\+1\.2\s+1\.1\.0\+1\.3\s+run\s+new-release/);
    // The local clone has not seen 1.1.0 yet: offline plans from what is on disk.
    expect(offline.doc.recipes[0]).toMatchObject({ latest: '1.0.0+1.2', decision: 'skip', reason: 'no-new-version' });
    expect(offline.doc.recipes[0].mirror).toBeUndefined();
    expect(launches(sb).length).toBe(2);
  });

  it('selects by cadence', async () => {
    const sb = await sandbox([
      { name: 'a', cadence: 'nightly', releases: [] },
      { name: 'b', cadence: 'weekly', releases: [] },
    ]);
    const nightly = await cliJson(sb, ['plan', '--cadence', 'nightly']);
    expect(nightly.doc.recipes.map((x: any) => x.recipe)).toEqual(['a']);
    const weekly = await cliJson(sb, ['plan', '--cadence', 'weekly']);
    expect(weekly.doc.recipes.map((x: any) => x.recipe)).toEqual(['b']);
  });
});

async function addUntagged(sb: { root: string; upstreamDir: string }, recipe: string): Promise<void> {
  const work = path.join(sb.root, 'work', recipe);
  writeFileSync(path.join(work, 'NOTES.md'), 'untagged work\n');
  const env = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' };
  const { execFileSync } = await import('node:child_process');
  execFileSync('git', ['add', '-A'], { cwd: work });
  execFileSync('git', ['commit', '-qm', 'untagged'], { cwd: work, env: { ...process.env, ...env } });
  execFileSync('git', ['push', '-q', path.join(sb.upstreamDir, `${recipe}.git`), 'main'], { cwd: work });
}
