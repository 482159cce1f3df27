// Tags that are not commits are not releases, a tag of a tag is peeled to its commit everywhere, and a
// canonical version upstream no longer has is a warning. Through the built CLI with real git.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLsRemote, tagObjects, tagTargets } from '../../src/core/refs.js';
import { UPSTREAM_TAGS } from '../../src/adapters/git.js';
import { addRelease } from '../support/sandbox.js';
import { cli, cliJson, launches, sandbox } from '../support/cli.js';
import { git } from '../support/git.js';

const tests = (sb: { harnessLog: string }) => launches(sb as never).filter((l) => !l.script.includes('seed')).map((l) => l.recipe);

describe('tags that do not point to a commit', () => {
  it('are ignored by plan, explain and run, with or without a clone', async () => {
    const sb = await sandbox([{ name: 'app', releases: [{ tag: '1.0.0+1.0' }] }]);
    try {
      const bare = path.join(sb.upstreamDir, 'app.git');
      git(bare, 'tag', '2.0.0+2.0', 'HEAD^{tree}'); // lightweight, to a tree
      git(bare, 'tag', '-a', '-m', 'a blob', '3.0.0+3.0', 'HEAD:compose.yml'); // annotated, to a blob

      // No clone yet: ls-remote cannot tell what the objects are, the run finds out when it fetches.
      const run = await cliJson(sb, ['run']);
      expect(run.doc.recipes[0]).toMatchObject({ recipe: 'app', tag: '1.0.0+1.0', outcome: 'promoted' });
      expect(run.r.exitCode).toBe(0);
      expect(tests(sb)).toEqual(['app']);

      // With the clone holding the objects, plan and explain know them as not releases.
      const plan = await cliJson(sb, ['plan']);
      expect(plan.doc.recipes[0]).toMatchObject({ latest: '1.0.0+1.0', decision: 'skip', reason: 'no-new-version' });
      expect(plan.doc.recipes[0].ignoredTags).toEqual(expect.arrayContaining(['2.0.0+2.0', '3.0.0+3.0']));
      const offline = await cliJson(sb, ['plan', '--offline']);
      expect(offline.doc.recipes[0]).toMatchObject({ latest: '1.0.0+1.0', decision: 'skip' });
      const explain = await cli(sb, ['explain', 'app']);
      expect(explain.stdout).toMatch(/ignored\s+2\.0\.0\+2\.0 .*points to a tree or blob, not a commit/);
      expect(explain.stdout).toContain('newest release: 1.0.0+1.0');

      const again = await cliJson(sb, ['run']);
      expect(again.doc.recipes[0]).toMatchObject({ outcome: 'skipped', reason: 'no-new-version' });
      expect(tests(sb)).toEqual(['app']);
    } finally {
      rmSync(sb.root, { recursive: true, force: true });
    }
  });
});

describe('tags of a tree or blob and the operator\'s clone', () => {
  it('are never created as tags in an existing clone, by a run or by mirror-sync', async () => {
    const sb = await sandbox([{ name: 'app', releases: [{ tag: '1.0.0+1.0' }] }]);
    try {
      const bare = path.join(sb.upstreamDir, 'app.git');
      const clone = path.join(sb.recipesDir, 'app');
      git(sb.root, 'clone', '-q', bare, clone);
      git(bare, 'tag', '2.0.0+2.0', 'HEAD^{tree}');
      git(bare, 'tag', '-a', '-m', 'a blob', '3.0.0+3.0', 'HEAD:compose.yml');
      const run = await cliJson(sb, ['run']);
      expect(run.doc.recipes[0]).toMatchObject({ tag: '1.0.0+1.0', outcome: 'promoted' });
      expect(git(clone, 'tag', '-l')).toBe('1.0.0+1.0');

      const mirrors = path.join(sb.root, 'maintainers');
      git(sb.root, 'init', '-q', '--bare', path.join(mirrors, 'app.git'));
      const sync = await cliJson(sb, ['sync'], { CCCI_MIRROR_URL: `file://${mirrors}/{recipe}.git`, CCCI_GITEA_API: 'http://127.0.0.1:9/api/v1' });
      expect(sync.r.exitCode, sync.r.stderr).not.toBe(2);
      expect(git(clone, 'tag', '-l')).toBe('1.0.0+1.0');
    } finally {
      rmSync(sb.root, { recursive: true, force: true });
    }
  });
});

describe('a tag of a tag', () => {
  it('is tested and promoted at its commit, and is not "moved upstream" on the next run', async () => {
    const sb = await sandbox([{ name: 'app', releases: [{ tag: '1.0.0+1.0' }, { tag: 'rc-1.2', label: '1.2.0+1.1' }] }]);
    try {
      const bare = path.join(sb.upstreamDir, 'app.git');
      const commit = git(bare, 'rev-parse', 'rc-1.2^{commit}');
      // 1.2.0 is an annotated tag whose object is the annotated tag rc-1.2, not a commit.
      git(bare, 'tag', '-a', '-m', 'released', '1.2.0+1.1', 'rc-1.2');
      expect(git(bare, 'cat-file', '-t', git(bare, 'rev-parse', '1.2.0+1.1^{tag}') + '^{object}')).toBe('tag');

      const first = await cliJson(sb, ['run']);
      expect(first.doc.recipes[0]).toMatchObject({ tag: '1.2.0+1.1', outcome: 'promoted', commit });
      const second = await cliJson(sb, ['run']);
      expect(second.doc.recipes[0]).toMatchObject({ outcome: 'skipped', reason: 'no-new-version' });
      const forced = await cliJson(sb, ['run', '--force']);
      expect(forced.doc.recipes[0]).toMatchObject({ tag: '1.2.0+1.1', outcome: 'promoted', commit });
      const offline = await cliJson(sb, ['plan', '--offline']);
      expect(offline.doc.recipes[0]).toMatchObject({ latest: '1.2.0+1.1', decision: 'skip' });
    } finally {
      rmSync(sb.root, { recursive: true, force: true });
    }
  });

  it('ls-remote output: the peeled line wins for the target, the advertised object for comparisons', () => {
    const l = parseLsRemote('ref: refs/heads/main\tHEAD\nc1\tHEAD\nc1\trefs/heads/main\nt2\trefs/tags/1.2.0\nc1\trefs/tags/1.2.0^{}\nc0\trefs/tags/light\n');
    expect(l.defaultBranch).toBe('main');
    expect(Object.fromEntries(tagTargets(l))).toEqual({ '1.2.0': 'c1', light: 'c0' });
    expect(Object.fromEntries(tagObjects(l))).toEqual({ '1.2.0': 't2', light: 'c0' });
  });
});

describe('a canonical version upstream no longer has', () => {
  it('is a warning in plan and explain, not an error', async () => {
    const sb = await sandbox([{ name: 'app', releases: [{ tag: '1.0.0+1.0' }, { tag: '1.1.0+1.1' }] }]);
    try {
      expect((await cliJson(sb, ['run'])).doc.recipes[0]).toMatchObject({ tag: '1.1.0+1.1', outcome: 'promoted' });
      git(path.join(sb.upstreamDir, 'app.git'), 'tag', '-d', '1.1.0+1.1');

      const plan = await cliJson(sb, ['plan']);
      expect(plan.r.exitCode).toBe(0);
      expect(plan.doc.recipes[0]).toMatchObject({
        decision: 'skip', reason: 'no-new-version', warnings: ['canonical version 1.1.0+1.1 is no longer a tag upstream'],
      });
      const table = await cli(sb, ['plan']);
      expect(table.stdout).toContain('warning: canonical version 1.1.0+1.1 is no longer a tag upstream');
      const explain = await cli(sb, ['explain', 'app']);
      expect(explain.stdout).toContain('warning: canonical version 1.1.0+1.1 is no longer a tag upstream');
      expect(explain.exitCode).toBe(0);
    } finally {
      rmSync(sb.root, { recursive: true, force: true });
    }
  });
});

describe('an existing clone lacking thousands of upstream tags', () => {
  it('fetches the branch and the one tag under test, not every tag', async () => {
    const sb = await sandbox([{ name: 'app', releases: [{ tag: '1.0.0+1.0' }] }]);
    try {
      const clone = path.join(sb.recipesDir, 'app');
      git(sb.recipesDir, 'clone', '-q', path.join(sb.upstreamDir, 'app.git'), clone);
      const bare = path.join(sb.upstreamDir, 'app.git');
      const head = git(bare, 'rev-parse', 'refs/heads/main');
      let script = '';
      for (let i = 0; i < 3000; i++) {
        const msg = `bulk ${i}\n`;
        script += `commit refs/tags/nightly-${i}\ncommitter t <t@example.invalid> 0 +0000\ndata ${msg.length}\n${msg}from ${head}\n\n`;
      }
      execFileSync('git', ['fast-import', '--quiet'], { cwd: bare, input: script });
      await addRelease(sb, 'app', { tag: '1.1.0+1.1' });

      const run = await cliJson(sb, ['run', '--no-sync']);
      expect(run.doc.recipes[0]).toMatchObject({ tag: '1.1.0+1.1', outcome: 'promoted' });
      const refs = git(clone, 'for-each-ref', '--format=%(refname)', 'refs/tags', UPSTREAM_TAGS).split('\n');
      expect(refs.sort()).toEqual([`${UPSTREAM_TAGS}/1.1.0+1.1`, 'refs/tags/1.0.0+1.0', 'refs/tags/1.1.0+1.1']);
    } finally {
      rmSync(sb.root, { recursive: true, force: true });
    }
  });
});
