// A run reads what each test first asks of its clone (the tag's commit, upstream's and the clone's own tag,
// the compose files) in one `git cat-file --batch` over every clone, and each ref again from the clone's
// files right before its test. Real git, real repos: the answers must be exactly what the clone alone gives.
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fetchRelease, prefetchReleases, refValue, type Release, runGit, UPSTREAM_TAGS } from '../../src/adapters/git.js';
import { COMPOSE_FILES } from '../../src/core/compose.js';
import { git } from '../support/git.js';

let root: string;
/** What a release says, whichever way it was read. */
const facts = ({ commit, files }: Release) => ({ commit, files });
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

  it('gives what git gives, or leaves it to git, for ref files git itself never writes', () => {
    const { clone } = recipe('a', '1.0.0');
    const gitDir = path.join(clone, '.git');
    const tagObject = git(clone, 'rev-parse', 'refs/tags/1.0.0');
    const head = git(clone, 'rev-parse', 'HEAD');
    const loose = path.join(gitDir, 'refs', 'tags', '1.0.0');
    const packed = path.join(gitDir, 'packed-refs');
    const forms: Record<string, () => void> = {
      'packed-refs without its final newline': () => writeFileSync(packed, `${tagObject} refs/tags/1.0.0`),
      'packed-refs naming the tag twice': () => writeFileSync(packed, `${head} refs/tags/1.0.0\n${tagObject} refs/tags/1.0.0\n`),
      'packed-refs with a tab for the space': () => writeFileSync(packed, `${tagObject}\trefs/tags/1.0.0\n`),
      'packed-refs with CRLF line ends': () => writeFileSync(packed, `${tagObject} refs/tags/1.0.0\r\n`),
      'a 64-digit id in a SHA-1 clone (loose)': () => writeFileSync(loose, `${head}${head.slice(0, 24)}\n`),
      'a 64-digit id in a SHA-1 clone (packed)': () => writeFileSync(packed, `${head}${head.slice(0, 24)} refs/tags/1.0.0\n`),
    };
    for (const [what, make] of Object.entries(forms)) {
      rmSync(loose, { force: true });
      rmSync(packed, { force: true });
      make();
      let theirs: string | null;
      try {
        theirs = git(clone, 'rev-parse', '--verify', '-q', 'refs/tags/1.0.0');
      } catch {
        theirs = null;
      }
      const mine = refValue(gitDir, 'refs/tags/1.0.0');
      // undefined: git is asked. Anything else must be git's own answer.
      if (mine !== undefined) expect(mine, what).toBe(theirs);
    }
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
      expect(facts(shared)).toEqual(facts(alone));
      expect(shared.fromPrefetch).toBe(true);
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

  it('a SHA-256 first clone whose config git reads but a text match misses: the other clones are read as alone, offline', async () => {
    const sha256 = path.join(root, 'recipes', 'b256');
    git(root, 'init', '-q', '--object-format=sha256', '-b', 'main', sha256);
    writeFileSync(path.join(sha256, 'compose.yml'), 'services: {}\n');
    git(sha256, 'add', '-A');
    git(sha256, ...IDENT, 'commit', '-q', '-m', 'release');
    git(sha256, ...IDENT, 'tag', '-a', '-m', 'release', '1.0.0');
    // As valid for git as `[extensions]` on a line of its own.
    const config = path.join(sha256, '.git', 'config');
    writeFileSync(config, readFileSync(config, 'utf8').replace(/\[extensions\]\s*\n\s*/, '[extensions] '));
    expect(git(sha256, 'rev-parse', '--show-object-format')).toBe('sha256');
    const a = recipe('a', '1.0.0');
    const items = [
      { cloneDir: sha256, tag: '1.0.0', expected: git(sha256, 'rev-parse', '1.0.0^{commit}') },
      { cloneDir: a.clone, tag: '1.0.0', expected: a.commit },
    ];
    const pre = await prefetchReleases(items, COMPOSE_FILES, { env: env() });
    // The upstream cannot be reached: a clone that holds its release needs no network, prefetch or not.
    const opts = { env: env(), log: { warn: () => {} }, files: COMPOSE_FILES };
    for (const it of items) {
      const alone = await fetchRelease(it.cloneDir, 'file:///nonexistent/upstream.git', '1.0.0', it.expected, opts);
      const shared = await fetchRelease(it.cloneDir, 'file:///nonexistent/upstream.git', '1.0.0', it.expected, { ...opts, prefetched: pre });
      expect(facts(shared)).toEqual(facts(alone));
    }
  });

  it("a ref whose object no store held at the prefetch is asked of the clone: 'missing' then is not 'missing' now", async () => {
    const r = recipe('a', '1.0.0');
    const tagObject = git(r.clone, 'rev-parse', 'refs/tags/1.0.0');
    const file = path.join(r.clone, '.git', 'objects', tagObject.slice(0, 2), tagObject.slice(2));
    renameSync(file, `${file}.away`);
    const pre = await prefetchReleases([{ cloneDir: r.clone, tag: '1.0.0', expected: r.commit }], COMPOSE_FILES, { env: env() });
    // Repaired before the test (the object is back, the ref never changed).
    renameSync(`${file}.away`, file);
    const opts = { env: env(), log: { warn: () => {} }, files: COMPOSE_FILES };
    const alone = await fetchRelease(r.clone, 'file:///nonexistent/upstream.git', '1.0.0', r.commit, opts);
    expect(facts(await fetchRelease(r.clone, 'file:///nonexistent/upstream.git', '1.0.0', r.commit, { ...opts, prefetched: pre }))).toEqual(facts(alone));
  });

  it('a first clone git cannot open (broken HEAD, bad config) gives way to the next as the repository', async () => {
    const broken = recipe('a', '1.0.0');
    const b = recipe('b', '1.0.1');
    const c = recipe('c', '1.0.2');
    writeFileSync(path.join(broken.clone, '.git', 'HEAD'), 'garbage\n');
    writeFileSync(path.join(b.clone, '.git', 'config'), '[core\n');
    const items = [broken, b, c].map((r) => ({ cloneDir: r.clone, tag: '1.0.0', expected: r.commit }));
    const pre = await prefetchReleases(items, COMPOSE_FILES, { env: env() });
    expect(pre).not.toBeNull();
    // c is read from the prefetch alone: offline, and as c alone reads it.
    const opts = { env: env(), log: { warn: () => {} }, files: COMPOSE_FILES };
    const alone = await fetchRelease(c.clone, 'file:///nonexistent/upstream.git', '1.0.0', c.commit, opts);
    const shared = await fetchRelease(c.clone, 'file:///nonexistent/upstream.git', '1.0.0', c.commit, { ...opts, prefetched: pre });
    expect(facts(shared)).toEqual(facts(alone));
    expect(shared.fromPrefetch).toBe(true);
    expect(alone.files.get('compose.yml')).toContain('version=1.0.2');
  });

  it('gives up (null) rather than guess: a SHA-256 clone among them', async () => {
    const a = recipe('a', '1.0.0');
    const b = path.join(root, 'recipes', 'b');
    git(root, 'init', '-q', '--object-format=sha256', b);
    const pre = await prefetchReleases([{ cloneDir: a.clone, tag: '1.0.0', expected: a.commit }, { cloneDir: b, tag: '1.0.0', expected: a.commit }], COMPOSE_FILES, { env: env() });
    expect(pre).toBeNull();
  });
});
