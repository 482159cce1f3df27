// A clone is the repository it names and a commit is the commit it names: a `.git` that is a gitfile or a
// symlink into another repository, or that carries a `commondir`, is "not a git repository", never a fetch
// or tag in the other repository; replace refs and grafts (planted before the run or by the harness during
// it) never make the sweep test one tree and record another commit. Built CLI, real git, stand-in harness.
import { existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../support/sandbox.js';
import { cliJson, control, launches, sandbox, startCli, until } from '../support/cli.js';
import { git } from '../support/git.js';

const RELEASES = [{ tag: '1.0.0' }, { tag: '1.1.0' }];
const ID = ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid'];

/** Refs and HEAD of a repository: what the sweep must never change in one it was not given. */
const refsOf = (dir: string) => ({ refs: git(dir, 'for-each-ref', '--format=%(refname) %(objectname)'), head: git(dir, 'rev-parse', 'HEAD') });

function cloneInto(sb: Sandbox, recipe: string, dir = path.join(sb.recipesDir, recipe)): string {
  git(sb.root, 'clone', '-q', path.join(sb.upstreamDir, `${recipe}.git`), dir);
  return dir;
}

describe('a clone whose .git leads into another repository', () => {
  it('is not a git repository: the other repository gets no fetch and no tag, the other recipes proceed', async () => {
    const sb = await sandbox([
      { name: 'gitfile', releases: RELEASES }, { name: 'linked', releases: RELEASES }, { name: 'common', releases: RELEASES }, { name: 'good', releases: RELEASES },
    ]);
    try {
      // The operator's other repository: an old clone of the same recipe, lacking the newest release.
      const other = path.join(sb.root, 'other');
      git(sb.root, 'init', '-q', '-b', 'main', other);
      git(other, ...ID, 'commit', '-q', '--allow-empty', '-m', 'operator');
      const otherGit = path.join(other, '.git');
      const before = refsOf(other);
      const mk = (recipe: string, how: (gitDir: string) => void) => {
        const dir = cloneInto(sb, recipe);
        rmSync(path.join(dir, '.git'), { recursive: true, force: true });
        how(path.join(dir, '.git'));
        return dir;
      };
      const gitfile = mk('gitfile', (g) => writeFileSync(g, `gitdir: ${otherGit}\n`));
      const linked = mk('linked', (g) => symlinkSync(otherGit, g));
      // A real .git directory whose commondir sends refs and objects to the other repository.
      const common = cloneInto(sb, 'common');
      writeFileSync(path.join(common, '.git', 'commondir'), `${otherGit}\n`);
      cloneInto(sb, 'good');

      const run = await cliJson(sb, ['run']);
      expect(run.r.exitCode).toBe(1);
      const by = Object.fromEntries(run.doc.recipes.map((r: any) => [r.recipe, r]));
      expect(by.good).toMatchObject({ outcome: 'promoted' });
      for (const [name, dir] of [['gitfile', gitfile], ['linked', linked], ['common', common]] as const) {
        expect(by[name], name).toMatchObject({ outcome: 'error', detail: `clone is not a git repository (or is corrupt): ${dir}` });
      }
      expect(launches(sb).filter((l) => !l.script.includes('seed')).map((l) => l.recipe)).toEqual(['good']);
      expect(refsOf(other)).toEqual(before);
      expect(git(other, 'tag', '-l')).toBe('');

      const plan = await cliJson(sb, ['plan', '--offline']);
      const off = Object.fromEntries(plan.doc.recipes.map((r: any) => [r.recipe, r]));
      for (const [name, dir] of [['gitfile', gitfile], ['linked', linked], ['common', common]] as const) {
        expect(off[name], name).toMatchObject({ decision: 'error', error: `clone is not a git repository (or is corrupt): ${dir}` });
      }
    } finally {
      rmSync(sb.root, { recursive: true, force: true });
    }
  });

  it('mirror-sync does not push from, or fetch into, the other repository', async () => {
    const sb = await sandbox([{ name: 'gitfile', releases: RELEASES }]);
    try {
      const other = path.join(sb.root, 'other');
      git(sb.root, 'init', '-q', '-b', 'main', other);
      git(other, ...ID, 'commit', '-q', '--allow-empty', '-m', 'operator');
      const before = refsOf(other);
      const dir = cloneInto(sb, 'gitfile');
      rmSync(path.join(dir, '.git'), { recursive: true, force: true });
      writeFileSync(path.join(dir, '.git'), `gitdir: ${path.join(other, '.git')}\n`);
      const mirrors = path.join(sb.root, 'maintainers');
      git(sb.root, 'init', '-q', '--bare', path.join(mirrors, 'gitfile.git'));
      const sync = await cliJson(sb, ['sync'], { CCCI_MIRROR_URL: `file://${mirrors}/{recipe}.git`, CCCI_GITEA_API: 'http://127.0.0.1:9/api/v1' });
      expect(sync.doc.recipes[0]).toMatchObject({ outcome: 'error', error: { message: `clone is not a git repository (or is corrupt): ${dir}` } });
      expect(refsOf(other)).toEqual(before);
      expect(git(path.join(mirrors, 'gitfile.git'), 'for-each-ref')).toBe('');
    } finally {
      rmSync(sb.root, { recursive: true, force: true });
    }
  });
});

/** A commit R in the clone: the tree of `tag` plus planted.txt ("harness leftovers\n", what `dirty` writes). */
function plantedCommit(clone: string, tag: string): { tagCommit: string; planted: string } {
  const tagCommit = git(clone, 'rev-parse', `${tag}^{commit}`);
  git(clone, '-c', 'advice.detachedHead=false', 'checkout', '-q', '--detach', tagCommit);
  writeFileSync(path.join(clone, 'planted.txt'), 'harness leftovers\n');
  git(clone, 'add', 'planted.txt');
  git(clone, ...ID, 'commit', '-q', '-m', 'planted');
  const planted = git(clone, 'rev-parse', 'HEAD');
  git(clone, 'checkout', '-q', 'main');
  expect(existsSync(path.join(clone, 'planted.txt'))).toBe(false);
  return { tagCommit, planted };
}

describe('replace refs and grafts', () => {
  it("planted before the run: the harness gets the tag's own tree", async () => {
    const sb = await sandbox([{ name: 'gitea', releases: RELEASES }]);
    try {
      const clone = cloneInto(sb, 'gitea');
      const { tagCommit, planted } = plantedCommit(clone, '1.1.0');
      git(clone, 'replace', tagCommit, planted);
      // A graft too, and the operator's config asking for replace refs: none of it counts.
      writeFileSync(path.join(clone, '.git', 'info', 'grafts'), `${tagCommit}\n`);
      git(clone, 'config', 'core.useReplaceRefs', 'true');
      const release = path.join(sb.root, 'release');
      control(sb, { gitea: { waitFor: release } });
      const run = startCli(sb, ['run', '--json']);
      await until('the test of gitea starts', () => launches(sb).some((l) => l.recipe === 'gitea' && !l.script.includes('seed')));
      const sawPlanted = existsSync(path.join(clone, 'planted.txt'));
      writeFileSync(release, '');
      const r = await run;
      expect(sawPlanted).toBe(false);
      const doc = JSON.parse(String(r.stdout));
      expect(doc.recipes[0]).toMatchObject({ tag: '1.1.0', outcome: 'promoted' });
      expect(JSON.parse(readFileSync(path.join(sb.stateDir, 'gitea', 'canonical.json'), 'utf8'))).toMatchObject({ commit: tagCommit });
    } finally {
      rmSync(sb.root, { recursive: true, force: true });
    }
  });

  it('planted by the harness during the run to hide its changes: not promoted', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: RELEASES }]);
    try {
      const clone = cloneInto(sb, 'gitea');
      const { tagCommit, planted } = plantedCommit(clone, '1.1.0');
      // The harness makes the tag's commit look like a commit with planted.txt and checks that out: HEAD is
      // still the tag's commit and, through the replace ref, the tree looks clean.
      control(sb, { gitea: { git: [['replace', tagCommit, planted], ['reset', '-q', '--hard', tagCommit]] } });
      const { doc } = await cliJson(sb, ['run']);
      expect(doc.recipes[0]).toMatchObject({ tag: '1.1.0', outcome: 'not-promoted', detail: expect.stringMatching(/planted\.txt/) });
      expect(existsSync(path.join(sb.stateDir, 'gitea', 'canonical.json'))).toBe(false);
    } finally {
      rmSync(sb.root, { recursive: true, force: true });
    }
  });
});
