// The operator's environment and the clones' surroundings, through the built CLI with real git: git config
// variables are honoured, variables that would point git elsewhere never do, and a broken clone inside a
// parent repository is an error for that recipe, never a fetch or checkout in the parent.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addRelease, type Sandbox } from '../support/sandbox.js';
import { cliJson, launches, sandbox, snapshot } from '../support/cli.js';
import { git } from '../support/git.js';

const RELEASES = [{ tag: '1.0.0+1.0' }, { tag: '1.1.0+1.1' }];

/** Everything an operator's git could lose: refs, HEAD, index state and every file of the work tree. */
function repoState(dir: string): unknown {
  return {
    refs: git(dir, 'for-each-ref', '--format=%(refname) %(objectname)'),
    head: readFileSync(path.join(dir, '.git', 'HEAD'), 'utf8'),
    status: git(dir, 'status', '--porcelain', '--untracked-files=no'),
    files: [...snapshot(dir)].filter(([f]) => !f.startsWith('recipes/') && !f.startsWith('.git/')).sort(),
  };
}

/** Makes the folder above the recipe clones a repository of its own, like a dotfiles home or etckeeper. */
function parentRepo(sb: Sandbox): string {
  const parent = path.dirname(sb.recipesDir);
  git(parent, 'init', '-q', '-b', 'main');
  writeFileSync(path.join(parent, 'dotfile'), 'the operator\'s own file\n');
  git(parent, 'add', 'dotfile');
  git(parent, 'commit', '-q', '-m', 'operator');
  git(parent, 'tag', '9.9.9');
  return parent;
}

function cloneInto(sb: Sandbox, recipe: string): string {
  const dir = path.join(sb.recipesDir, recipe);
  git(sb.recipesDir, 'clone', '-q', path.join(sb.upstreamDir, `${recipe}.git`), dir);
  return dir;
}

describe('the operator\'s git environment', () => {
  it('honours git config variables and ignores variables that only git itself should set', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: RELEASES }]);
    try {
      // Upstream is reached only through an insteadOf in the operator's GIT_CONFIG_GLOBAL.
      const global = path.join(sb.root, 'operator.gitconfig');
      writeFileSync(global, `[url "file://${sb.upstreamDir}/"]\n\tinsteadOf = https://forge.example.invalid/recipes/\n`);
      const system = path.join(sb.root, 'system.gitconfig');
      writeFileSync(system, '[core]\n\tautocrlf = false\n');
      const templates = path.join(sb.root, 'templates');
      mkdirSync(templates);
      const env = {
        CCCI_UPSTREAM_URL: 'https://forge.example.invalid/recipes/{recipe}.git',
        GIT_CONFIG_GLOBAL: global,
        GIT_CONFIG_SYSTEM: system,
        GIT_EXEC_PATH: path.join(sb.root, 'no-such-git-core'),
        GIT_TEMPLATE_DIR: templates,
        GIT_PROXY_COMMAND: '/bin/false',
        GIT_EXTERNAL_DIFF: '/bin/false',
        PREFIX: '/usr/local',
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'credential.helper',
        GIT_CONFIG_VALUE_0: '',
        EDITOR: '/bin/false',
        PAGER: '/bin/false',
      };
      const plan = await cliJson(sb, ['plan'], env);
      expect(plan.doc.recipes[0]).toMatchObject({ recipe: 'gitea', latest: '1.1.0+1.1', decision: 'run', reason: 'first-canonical' });
      expect(plan.r.exitCode).toBe(0);

      const explain = await cliJson(sb, ['explain', 'gitea'], env);
      expect(explain.doc.newest.tag).toBe('1.1.0+1.1');

      const run = await cliJson(sb, ['run'], env);
      expect(run.doc.recipes[0]).toMatchObject({ recipe: 'gitea', outcome: 'promoted', tag: '1.1.0+1.1' });
      expect(run.r.exitCode).toBe(0);
      // The harness gets the operator's variables unchanged, EDITOR and PAGER included.
      const seen = launches(sb)[0]!.env;
      for (const k of ['GIT_CONFIG_GLOBAL', 'GIT_CONFIG_SYSTEM', 'GIT_EXEC_PATH', 'GIT_TEMPLATE_DIR', 'PREFIX', 'EDITOR', 'PAGER', 'GIT_CONFIG_KEY_0'] as const) {
        expect(seen[k], k).toBe(env[k]);
      }
    } finally {
      rmSync(sb.root, { recursive: true, force: true });
    }
  });

  it('never lets GIT_DIR, GIT_NAMESPACE and the other location variables redirect the sweep', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: RELEASES }, { name: 'wiki', releases: [{ tag: '2.0.0' }] }]);
    try {
      const parent = parentRepo(sb);
      cloneInto(sb, 'gitea');
      const before = repoState(parent);
      const gitDir = path.join(parent, '.git');
      const env = {
        GIT_DIR: gitDir, GIT_WORK_TREE: parent, GIT_INDEX_FILE: path.join(gitDir, 'index'), GIT_NAMESPACE: 'elsewhere',
        GIT_OBJECT_DIRECTORY: path.join(gitDir, 'objects'), GIT_ALTERNATE_OBJECT_DIRECTORIES: path.join(gitDir, 'objects'),
        GIT_COMMON_DIR: gitDir, GIT_CEILING_DIRECTORIES: '', GIT_DISCOVERY_ACROSS_FILESYSTEM: '1',
      };
      const plan = await cliJson(sb, ['plan'], env);
      expect(plan.doc.recipes.map((r: any) => [r.recipe, r.latest, r.reason])).toEqual([
        ['gitea', '1.1.0+1.1', 'first-canonical'], ['wiki', '2.0.0', 'first-canonical'],
      ]);
      const offline = await cliJson(sb, ['plan', '--offline', '--recipe', 'gitea'], env);
      expect(offline.doc.recipes[0]).toMatchObject({ latest: '1.1.0+1.1' });

      const run = await cliJson(sb, ['run'], env);
      expect(run.doc.recipes.map((r: any) => [r.recipe, r.outcome])).toEqual([['gitea', 'promoted'], ['wiki', 'promoted']]);
      expect(repoState(parent)).toEqual(before);
      // The clone the sweep made for wiki is a clone of its own, back on its branch.
      const wiki = path.join(sb.recipesDir, 'wiki');
      expect(git(wiki, 'rev-parse', '--show-toplevel')).toBe(wiki);
      expect(git(wiki, 'symbolic-ref', '--short', 'HEAD')).toBe('main');
    } finally {
      rmSync(sb.root, { recursive: true, force: true });
    }
  });
});

describe('a broken clone inside a repository', () => {
  it('is an error for that recipe; the parent repository is untouched and the others proceed', async () => {
    const sb = await sandbox([
      { name: 'nogit', releases: RELEASES }, { name: 'emptyhead', releases: RELEASES }, { name: 'good', releases: RELEASES },
    ]);
    try {
      const parent = parentRepo(sb);
      const nogit = cloneInto(sb, 'nogit');
      rmSync(path.join(nogit, '.git'), { recursive: true, force: true });
      const emptyhead = cloneInto(sb, 'emptyhead');
      writeFileSync(path.join(emptyhead, '.git', 'HEAD'), ''); // a power cut mid-write
      cloneInto(sb, 'good');
      const before = repoState(parent);
      const nogitFiles = snapshot(nogit);

      const run = await cliJson(sb, ['run']);
      expect(run.r.exitCode).toBe(1);
      const byRecipe = Object.fromEntries(run.doc.recipes.map((r: any) => [r.recipe, r]));
      expect(byRecipe.good).toMatchObject({ outcome: 'promoted' });
      for (const [name, dir] of [['nogit', nogit], ['emptyhead', emptyhead]] as const) {
        expect(byRecipe[name]).toMatchObject({ outcome: 'error' });
        expect(byRecipe[name].detail).toBe(`clone is not a git repository (or is corrupt): ${dir}`);
      }
      expect(launches(sb).filter((l) => !l.script.includes('seed')).map((l) => l.recipe)).toEqual(['good']);
      expect(repoState(parent)).toEqual(before);
      expect(snapshot(nogit)).toEqual(nogitFiles);

      const offline = await cliJson(sb, ['plan', '--offline']);
      const off = Object.fromEntries(offline.doc.recipes.map((r: any) => [r.recipe, r]));
      expect(off.nogit).toMatchObject({ decision: 'error', reason: 'tags-unavailable', error: `clone is not a git repository (or is corrupt): ${nogit}` });
      expect(off.emptyhead).toMatchObject({ decision: 'error', reason: 'tags-unavailable' });
    } finally {
      rmSync(sb.root, { recursive: true, force: true });
    }
  });

  it('mirror-sync leaves the parent repository alone too', async () => {
    const sb = await sandbox([{ name: 'nogit', releases: RELEASES }, { name: 'emptyhead', releases: RELEASES }, { name: 'good', releases: RELEASES }]);
    try {
      const parent = parentRepo(sb);
      const mirrors = path.join(sb.root, 'maintainers');
      for (const r of ['nogit', 'emptyhead', 'good']) {
        git(sb.root, 'clone', '-q', '--mirror', path.join(sb.upstreamDir, `${r}.git`), path.join(mirrors, `${r}.git`));
      }
      await addRelease(sb, 'nogit', { tag: '1.2.0+1.2' });
      await addRelease(sb, 'emptyhead', { tag: '1.2.0+1.2' });
      await addRelease(sb, 'good', { tag: '1.2.0+1.2' });
      rmSync(path.join(cloneInto(sb, 'nogit'), '.git'), { recursive: true, force: true });
      writeFileSync(path.join(cloneInto(sb, 'emptyhead'), '.git', 'HEAD'), '');
      cloneInto(sb, 'good');
      const before = repoState(parent);

      const sync = await cliJson(sb, ['sync'], { CCCI_MIRROR_URL: `file://${mirrors}/{recipe}.git`, CCCI_GITEA_API: 'http://127.0.0.1:9/api/v1' });
      const by = Object.fromEntries(sync.doc.recipes.map((r: any) => [r.recipe, r]));
      expect(by.good).toMatchObject({ outcome: 'updated', tagsAdded: ['1.2.0+1.2'] });
      expect(git(path.join(mirrors, 'good.git'), 'rev-parse', '1.2.0+1.2^{commit}')).toBe(git(path.join(sb.upstreamDir, 'good.git'), 'rev-parse', '1.2.0+1.2^{commit}'));
      expect(by.nogit).toMatchObject({ outcome: 'error', error: { step: 'fetch' } });
      expect(by.emptyhead).toMatchObject({ outcome: 'error', error: { step: 'fetch', message: `clone is not a git repository (or is corrupt): ${path.join(sb.recipesDir, 'emptyhead')}` } });
      expect(repoState(parent)).toEqual(before);
    } finally {
      rmSync(sb.root, { recursive: true, force: true });
    }
  });

  it('a TMPDIR that does not exist is named as the problem', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: RELEASES }]);
    try {
      const missing = path.join(sb.root, 'no-such-tmp');
      const plan = await cliJson(sb, ['plan'], { TMPDIR: missing });
      expect(plan.r.exitCode).not.toBe(0);
      expect(plan.doc.recipes[0].error).toContain(`TMPDIR=${missing} does not exist`);
    } finally {
      rmSync(sb.root, { recursive: true, force: true });
    }
  });
});
