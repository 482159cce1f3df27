// A run reads what each test first asks of its clone (the tag's commit, upstream's and the clone's own tag,
// the compose files) in one `git cat-file --batch` over every clone, and each ref again from the clone's
// files right before its test. Real git, real repos: the answers must be exactly what the clone alone gives.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fetchRelease, prefetchReleases, refValue, runGit, UPSTREAM_TAGS } from '../../src/adapters/git.js';
import { COMPOSE_FILES } from '../../src/core/compose.js';
import { git } from '../support/git.js';

let root: string;
const env = () => ({ PATH: process.env.PATH, HOME: root, GIT_CONFIG_NOSYSTEM: '1' });
const IDENT = ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid'];

/** An upstream repo `<name>` with annotated release 1.0.0 (compose label = `label`), and a clone of it in `recipes/<name>`. */
function recipe(name: string, label: string): { upstream: string; clone: string; commit: string } {
  const upstream = path.join(root, 'up', name);
  git(root, 'init', '-q', '-b', 'main', upstream);
  writeFileSync(path.join(upstream, 'compose.yml'), `services:\n  app:\n    deploy:\n      labels:\n        - "coop-cloud.\${STACK_NAME}.version=${label}"\n`);
  git(upstream, 'add', '-A');
  git(upstream, ...IDENT, 'commit', '-q', '-m', 'release');
  git(upstream, ...IDENT, 'tag', '-a', '-m', 'release', '1.0.0');
  const clone = path.join(root, 'recipes', name);
  git(root, 'clone', '-q', upstream, clone);
  return { upstream, clone, commit: git(upstream, 'rev-parse', '1.0.0^{commit}') };
}

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'ccci-prefetch-'));
  mkdirSync(path.join(root, 'recipes'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('refValue', () => {
  it('reads a loose ref, a packed one, a loose one over a packed one, and says null for none', () => {
    const { clone } = recipe('a', '1.0.0');
    const gitDir = path.join(clone, '.git');
    const tagObject = git(clone, 'rev-parse', 'refs/tags/1.0.0');
    git(clone, 'pack-refs', '--all');
    expect(refValue(gitDir, 'refs/tags/1.0.0')).toBe(tagObject);
    const head = git(clone, 'rev-parse', 'HEAD');
    writeFileSync(path.join(gitDir, 'refs', 'tags', '1.0.0'), `${head}\n`);
    expect(refValue(gitDir, 'refs/tags/1.0.0')).toBe(head);
    expect(refValue(gitDir, 'refs/tags/2.0.0')).toBeNull();
    expect(refValue(gitDir, `${UPSTREAM_TAGS}/1.0.0`)).toBeNull();
  });

  it('leaves to git what only git can say: a symbolic ref, a symlink, reftable, an odd name', () => {
    const { clone } = recipe('a', '1.0.0');
    const gitDir = path.join(clone, '.git');
    writeFileSync(path.join(gitDir, 'refs', 'tags', 'sym'), 'ref: refs/heads/main\n');
    expect(refValue(gitDir, 'refs/tags/sym')).toBeUndefined();
    symlinkSync('1.0.0', path.join(gitDir, 'refs', 'tags', 'link'));
    expect(refValue(gitDir, 'refs/tags/link')).toBeUndefined();
    expect(refValue(gitDir, 'refs/tags/..')).toBeUndefined();
    expect(refValue(gitDir, 'refs/tags/x.lock')).toBeUndefined();
    mkdirSync(path.join(gitDir, 'reftable'));
    expect(refValue(gitDir, 'refs/tags/1.0.0')).toBeUndefined();
  });
});

describe('prefetchReleases', () => {
  it('answers, for every clone, exactly what the clone alone answers, from one process', async () => {
    const rs = ['a', 'b', 'c'].map((n, i) => ({ n, ...recipe(n, `1.0.${i}`) }));
    const pre = await prefetchReleases(rs.map((r) => ({ cloneDir: r.clone, tag: '1.0.0', expected: r.commit })), COMPOSE_FILES, { env: env() });
    expect(pre).not.toBeNull();
    for (const r of rs) {
      const opts = { env: env(), log: { warn: () => {} }, files: COMPOSE_FILES };
      const alone = await fetchRelease(r.clone, `file://${r.upstream}`, '1.0.0', r.commit, opts);
      const shared = await fetchRelease(r.clone, `file://${r.upstream}`, '1.0.0', r.commit, { ...opts, prefetched: pre });
      expect(shared).toEqual(alone);
      expect(shared.files.get('compose.yml')).toContain(`version=1.0.${rs.indexOf(r)}`);
    }
  });

  it('a tag moved in the clone after the prefetch is asked of the clone: upstream is tested, the difference said', async () => {
    const r = recipe('a', '1.0.0');
    const pre = await prefetchReleases([{ cloneDir: r.clone, tag: '1.0.0', expected: r.commit }], COMPOSE_FILES, { env: env() });
    // The operator moves the clone's own tag to a new commit of theirs.
    writeFileSync(path.join(r.clone, 'notes.txt'), 'mine\n');
    git(r.clone, 'add', '-A');
    git(r.clone, ...IDENT, 'commit', '-q', '-m', 'mine');
    git(r.clone, 'tag', '-f', '1.0.0');
    const warnings: unknown[][] = [];
    const rel = await fetchRelease(r.clone, `file://${r.upstream}`, '1.0.0', r.commit, {
      env: env(), log: { warn: (...a: unknown[]) => void warnings.push(a) }, files: COMPOSE_FILES, prefetched: pre,
    });
    expect(rel.commit).toBe(r.commit);
    expect(rel.files.get('compose.yml')).toContain('version=1.0.0');
    expect(warnings.map((w) => w[1])).toContain("the clone's own tag differs from upstream's; testing upstream's");
  });

  it('a clone that lacks the tag is fetched as before, whatever another clone holds', async () => {
    const a = recipe('a', '1.0.0');
    // b is a fork of a's upstream: the same commit, but b's clone was made before the tag existed.
    const b = path.join(root, 'recipes', 'b');
    git(root, 'clone', '-q', '--no-tags', a.upstream, b);
    const pre = await prefetchReleases([a, { clone: b, commit: a.commit }].map((r) => ({ cloneDir: r.clone, tag: '1.0.0', expected: r.commit })), COMPOSE_FILES, { env: env() });
    const rel = await fetchRelease(b, `file://${a.upstream}`, '1.0.0', a.commit, { env: env(), log: { warn: () => {} }, files: COMPOSE_FILES, prefetched: pre });
    expect(rel.commit).toBe(a.commit);
    // The fetch put upstream's tag into our namespace and created the clone's own.
    expect((await runGit(['rev-parse', `${UPSTREAM_TAGS}/1.0.0^{commit}`, 'refs/tags/1.0.0^{commit}'], { env: env(), repo: b })).stdout.split('\n')).toEqual([a.commit, a.commit]);
  });

  it('gives up (null) rather than guess: a SHA-256 clone among them', async () => {
    const a = recipe('a', '1.0.0');
    const b = path.join(root, 'recipes', 'b');
    git(root, 'init', '-q', '--object-format=sha256', b);
    const pre = await prefetchReleases([{ cloneDir: a.clone, tag: '1.0.0', expected: a.commit }, { cloneDir: b, tag: '1.0.0', expected: a.commit }], COMPOSE_FILES, { env: env() });
    expect(pre).toBeNull();
  });
});
