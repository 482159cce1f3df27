// What is promoted is what was tested: a dirty clone is never tested as a release, a harness that checks out
// another tag or changes the tree does not promote, the label comes from the tag's commit, and a
// results.json that cannot be read does not promote. Built CLI, real git, the stand-in cc-ci-run.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMPOSE_FILES } from '../../src/core/compose.js';
import { filesAtCommit } from '../../src/adapters/git.js';
import { addRelease, type Sandbox } from '../support/sandbox.js';
import { cli, cliJson, control, launches, readJson, sandbox } from '../support/cli.js';
import { git } from '../support/git.js';


const tests = (sb: Sandbox) => launches(sb).filter((l) => !l.script.includes('seed'));
const canonical = (sb: Sandbox, recipe = 'gitea') => path.join(sb.stateDir, recipe, 'canonical.json');

describe('a dirty clone is not tested as a release', () => {
  it("refuses with error, launches nothing, and keeps the operator's edits and untracked files", async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }, { tag: '1.1.0' }] }, { name: 'other', releases: [{ tag: '1.0.0' }] }]);
    const clone = path.join(sb.recipesDir, 'gitea');
    git(sb.root, 'clone', '-q', path.join(sb.upstreamDir, 'gitea.git'), clone);
    writeFileSync(path.join(clone, 'compose.yml'), 'operator edit\n');
    writeFileSync(path.join(clone, 'notes.txt'), 'operator notes\n');

    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode).toBe(1);
    const by = Object.fromEntries(doc.recipes.map((x: any) => [x.recipe, x]));
    expect(by.gitea).toMatchObject({ decision: 'run', tag: '1.1.0', outcome: 'error' });
    expect(by.gitea.detail).toMatch(new RegExp(`clone ${clone} has local changes \\(M compose\\.yml, \\?\\? notes\\.txt\\): only a clean tree is tested`));
    expect(by.other.outcome).toBe('promoted');
    expect(tests(sb).map((l) => l.recipe)).toEqual(['other']);
    expect(existsSync(canonical(sb))).toBe(false);
    // Nothing of the operator's is lost, and the clone is still on its branch.
    expect(readFileSync(path.join(clone, 'compose.yml'), 'utf8')).toBe('operator edit\n');
    expect(readFileSync(path.join(clone, 'notes.txt'), 'utf8')).toBe('operator notes\n');
    expect(git(clone, 'symbolic-ref', '--short', 'HEAD')).toBe('main');
  });

  it('counts files hidden from status (assume-unchanged, skip-worktree) as changes', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    const clone = path.join(sb.recipesDir, 'gitea');
    git(sb.root, 'clone', '-q', path.join(sb.upstreamDir, 'gitea.git'), clone);
    git(clone, 'update-index', '--skip-worktree', 'compose.yml');
    git(clone, 'update-index', '--assume-unchanged', 'README.md');
    writeFileSync(path.join(clone, 'compose.yml'), 'operator override\n');
    expect(git(clone, 'status', '--porcelain')).toBe('');
    const { doc } = await cliJson(sb, ['run']);
    expect(doc.recipes[0]).toMatchObject({ outcome: 'error', detail: expect.stringMatching(/has local changes \(assume-unchanged README\.md, skip-worktree compose\.yml\)/) });
    expect(readFileSync(path.join(clone, 'compose.yml'), 'utf8')).toBe('operator override\n');
    expect(launches(sb)).toEqual([]);
  });

  it('does not count ignored files as changes', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    const clone = path.join(sb.recipesDir, 'gitea');
    git(sb.root, 'clone', '-q', path.join(sb.upstreamDir, 'gitea.git'), clone);
    writeFileSync(path.join(clone, '.git', 'info', 'exclude'), '*.local\n');
    writeFileSync(path.join(clone, 'deploy.local'), 'ignored by the operator\n');
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.recipes[0].outcome).toBe('promoted');
    expect(readFileSync(path.join(clone, 'deploy.local'), 'utf8')).toBe('ignored by the operator\n');
  });
});

describe('the tree under test after the harness', () => {
  it('does not promote when the harness checked out another tag (abra app deploy <version>)', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }, { tag: '1.1.0' }] }]);
    control(sb, { gitea: { checkout: '1.0.0' } });
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode).toBe(1);
    expect(doc.recipes[0]).toMatchObject({ tag: '1.1.0', outcome: 'not-promoted' });
    expect(doc.recipes[0].detail).toMatch(/no longer 1\.1\.0 .*checked out something else/);
    expect(existsSync(canonical(sb))).toBe(false);
    // The seed script never ran, and the clone is back on its branch.
    expect(launches(sb).map((l) => l.script)).toEqual(['runner/run_recipe_ci.py']);
    expect(git(path.join(sb.recipesDir, 'gitea'), 'symbolic-ref', '--short', 'HEAD')).toBe('main');
    const history = readFileSync(path.join(sb.stateDir, 'gitea', 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(history.at(-1)).toMatchObject({ type: 'attempt', tag: '1.1.0', outcome: 'not-promoted', detail: expect.stringMatching(/no longer/) });
  });

  it('does not promote when the tree was changed during the test', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    control(sb, { gitea: { dirty: 'compose.yml' } });
    const { doc } = await cliJson(sb, ['run']);
    expect(doc.recipes[0]).toMatchObject({ outcome: 'not-promoted', detail: expect.stringMatching(/changed during the test \(M compose\.yml\)/) });
    expect(existsSync(canonical(sb))).toBe(false);
  });
});

describe('results.json', () => {
  it('that exists but cannot be parsed does not promote; a merge-request ref does not either', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }, { name: 'mr', releases: [{ tag: '1.0.0' }] }]);
    control(sb, { gitea: { resultsText: '{"mode": "co' }, mr: { results: { ref: 'refs/merge-requests/5/head' } } });
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode).toBe(1);
    expect(doc.recipes.map((x: any) => [x.recipe, x.outcome, x.detail])).toEqual([
      ['gitea', 'not-promoted', 'results.json unreadable (not valid JSON)'],
      ['mr', 'not-promoted', 'run tested ref ("ref": "refs/merge-requests/5/head"), not tag 1.0.0'],
    ]);
    expect(existsSync(canonical(sb))).toBe(false);
    expect(existsSync(canonical(sb, 'mr'))).toBe(false);
  });
});

describe('results.json read two ways or with padded values', () => {
  it('a marker given twice, a padded mode and a null mode do not promote', async () => {
    const sb = await sandbox([{ name: 'dup', releases: [{ tag: '1.0.0' }] }, { name: 'pad', releases: [{ tag: '1.0.0' }] }, { name: 'nul', releases: [{ tag: '1.0.0' }] }]);
    control(sb, { dup: { resultsText: '{"quick": true, "quick": false}' }, pad: { resultsText: '{"mode": "COLD "}' }, nul: { resultsText: '{"mode": null}' } });
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode).toBe(1);
    expect(doc.recipes.map((x: any) => [x.recipe, x.outcome, x.detail])).toEqual([
      ['dup', 'not-promoted', 'results.json unreadable (marker "quick" given more than once)'],
      ['nul', 'not-promoted', 'quick or unknown run mode ("mode": null): only a cold run (cold or full) can promote'],
      ['pad', 'not-promoted', 'quick or unknown run mode ("mode": "COLD "): only a cold run (cold or full) can promote'],
    ]);
    for (const recipe of ['dup', 'pad', 'nul']) expect(existsSync(canonical(sb, recipe))).toBe(false);
  });
});

describe('a huge results.json', () => {
  it('is not read into memory and does not promote', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    control(sb, { gitea: { resultsText: `{"mode": "cold", "pad": "${'x'.repeat(1_100_000)}"}` } });
    const { doc } = await cliJson(sb, ['run']);
    expect(doc.recipes[0]).toMatchObject({ outcome: 'not-promoted', detail: 'results.json unreadable (larger than 1048576 bytes)' });
  });
});

describe('the version label', () => {
  it("is read from the tag's commit, not from the files on disk", async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    const clone = path.join(sb.recipesDir, 'gitea');
    git(sb.root, 'clone', '-q', path.join(sb.upstreamDir, 'gitea.git'), clone);
    const commit = git(clone, 'rev-parse', '1.0.0^{commit}');
    writeFileSync(path.join(clone, 'compose.yml'), 'not the tag\n');
    mkdirSync(path.join(clone, 'compose.yaml'));
    const files = await filesAtCommit(clone, commit, COMPOSE_FILES, { env: process.env });
    expect([...files.keys()]).toEqual(['compose.yml']);
    expect(files.get('compose.yml')).toContain('coop-cloud.${STACK_NAME}.version=1.0.0');
  });

  it('of a release whose compose file says another version blocks promotion', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0', label: '0.9.0' }] }]);
    const { doc } = await cliJson(sb, ['run']);
    expect(doc.recipes[0]).toMatchObject({ outcome: 'not-promoted', detail: 'compose version label 0.9.0 does not match tag 1.0.0' });
  });
});

describe('promotion still works on a clean tree', () => {
  it('promotes when the harness leaves the tag checked out and the tree clean', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    await cli(sb, ['run']);
    await addRelease(sb, 'gitea', { tag: '1.1.0' });
    control(sb, { gitea: { results: { mode: 'cold', quick: false, ref: 'refs/tags/1.1.0' } } });
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.recipes[0]).toMatchObject({ outcome: 'promoted', tag: '1.1.0' });
    expect(readJson(canonical(sb)).version).toBe('1.1.0');
  });
});
