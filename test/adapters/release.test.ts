// The release under test, read from the clone with one `git cat-file --batch`: the objects and files it
// answers (byte-exact, whatever the bytes), and fetchRelease's guarantees with the network skipped when the
// clone already holds the tag's commit. Real git, real repos, upstream served over loopback HTTP by git
// http-backend, whose request log shows whether anything was fetched.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fetchRelease, filesAtCommit, NotACommitError, readObjects, runGit, UPSTREAM_TAGS } from '../../src/adapters/git.js';
import { GitError } from '../../src/core/errors.js';
import { CatFileParseError, parseCatFileBatch } from '../../src/core/cat-file.js';
import { COMPOSE_FILES } from '../../src/core/compose.js';
import { type GitHttpServer, startGitHttpServer } from '../support/git-http-server.js';
import { git } from '../support/git.js';

const bytes = (cwd: string, ...args: string[]): Buffer => execFileSync('git', args, { cwd });
// A compose file whose text is not ASCII, holds blank lines and CRLF, and has lines that look like answers.
const COMPOSE = 'version: "3.8"\r\n\n# café ünïcode 😀 — ≠\nservices:\n  app:\n    deploy:\n      labels:\n'
  + '        - "coop-cloud.${STACK_NAME}.version=1.0.0+1.0"\n# 0123456789012345678901234567890123456789 blob 12\n\n';

let root: string;
let up: string;
let clone: string;
let server: GitHttpServer;
let warnings: unknown[][];
const log = { warn: (...args: unknown[]) => void warnings.push(args) };
const env = () => ({ PATH: process.env.PATH, HOME: process.env.HOME, GIT_CONFIG_NOSYSTEM: '1' });

/** An upstream bare repo `app.git` with release 1.0.0+1.0 (annotated), and the operator's clone of it. */
beforeEach(async () => {
  warnings = [];
  root = mkdtempSync(path.join(tmpdir(), 'ccci-release-'));
  const work = path.join(root, 'work');
  git(root, 'init', '-q', '-b', 'main', work);
  writeFileSync(path.join(work, 'compose.yml'), COMPOSE);
  symlinkSync('compose.yml', path.join(work, 'compose.yaml'));
  mkdirSync(path.join(work, 'docker-compose.yml'));
  writeFileSync(path.join(work, 'docker-compose.yml', 'x'), 'a folder, not a compose file\n');
  writeFileSync(path.join(work, 'binary'), Buffer.from([0, 0x0a, 0xff, 0xfe, 0x0a, 0x0a, 0]));
  git(work, 'add', '-A');
  // A submodule entry named like a compose file: a commit id, not a file.
  git(work, 'update-index', '--add', '--cacheinfo', `160000,${'1'.repeat(40)},docker-compose.yaml`);
  git(work, 'commit', '-q', '-m', 'release');
  git(work, 'tag', '-a', '-m', 'release', '1.0.0+1.0');
  up = path.join(root, 'up', 'app.git');
  git(root, 'clone', '-q', '--bare', work, up);
  clone = path.join(root, 'recipes', 'app');
  git(root, 'clone', '-q', up, clone);
  server = await startGitHttpServer({ root: path.join(root, 'up') });
});

afterEach(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

const url = () => `${server.url}/app.git`;
const commitOf = (repo: string, rev: string) => git(repo, 'rev-parse', `${rev}^{commit}`);

describe('readObjects (one git cat-file --batch)', () => {
  it('answers each request in order, byte-exact, null for what the clone lacks', async () => {
    const commit = commitOf(clone, '1.0.0+1.0');
    const specs = [`${commit}:compose.yml`, `${commit}:binary`, 'refs/tags/1.0.0+1.0', 'refs/tags/1.0.0+1.0^{}', 'refs/tags/nope^{}', `${'2'.repeat(40)}`, `${commit}:compose.yaml`, `${commit}:docker-compose.yml`];
    const got = await readObjects(clone, specs, { env: env() });
    expect(got.map((o) => o?.type ?? null)).toEqual(['blob', 'blob', 'tag', 'commit', null, null, 'blob', 'tree']);
    expect(got[0]!.content.equals(bytes(clone, 'cat-file', 'blob', `${commit}:compose.yml`))).toBe(true);
    expect(got[0]!.content.toString('utf8')).toBe(COMPOSE);
    expect(got[1]!.content.equals(Buffer.from([0, 0x0a, 0xff, 0xfe, 0x0a, 0x0a, 0]))).toBe(true);
    expect(got[2]!.id).toBe(git(clone, 'rev-parse', 'refs/tags/1.0.0+1.0'));
    expect(got[3]!.id).toBe(commit);
    // A symlink is a blob holding its target, as `git ls-tree` lists it.
    expect(got[6]!.content.toString()).toBe('compose.yml');
  });

  it('refuses a request with a line break instead of shifting every answer after it', async () => {
    await expect(readObjects(clone, ['HEAD', 'HEAD\nHEAD'], { env: env() })).rejects.toThrow(GitError);
  });

  it('the parser cuts by byte size and refuses output cut short or left over', () => {
    const id = 'a'.repeat(40);
    const body = Buffer.from('é\n\nx', 'utf8'); // 5 bytes, 4 characters
    const out = Buffer.concat([Buffer.from(`${id} blob ${body.length}\n`), body, Buffer.from(`\nrefs/tags/x missing\n`)]);
    const [blob, missing] = parseCatFileBatch(out, 2);
    expect(blob!.content.toString('utf8')).toBe('é\n\nx');
    expect(missing).toBeNull();
    expect(() => parseCatFileBatch(out.subarray(0, out.length - 25), 2)).toThrow(CatFileParseError);
    expect(() => parseCatFileBatch(out, 1)).toThrow(/bytes after the last/);
    expect(() => parseCatFileBatch(Buffer.from(`${id} blob 99\nshort\n`), 1)).toThrow(/cut short/);
    expect(() => parseCatFileBatch(Buffer.from('fatal: something\n'), 1)).toThrow(/unexpected answer/);
  });
});

describe('git output', () => {
  it('is bounded: past the limit git is stopped and the call fails, nothing unbounded is kept', async () => {
    const commit = commitOf(clone, '1.0.0+1.0');
    const call = { env: env(), repo: clone, readOnly: true };
    expect((await runGit(['cat-file', 'blob', `${commit}:compose.yml`], { ...call, maxOutputBytes: 4096 })).stdout).toBe(COMPOSE.replace(/\n$/, ''));
    await expect(runGit(['cat-file', 'blob', `${commit}:compose.yml`], { ...call, maxOutputBytes: 64 }))
      .rejects.toThrow(/git cat-file: git's output is larger than 64 bytes; stopped/);
  });
});

describe('starting git', () => {
  it('says git is not on PATH when it is not, and names a vanished working folder otherwise', async () => {
    const empty = path.join(root, 'no-git-here');
    mkdirSync(empty);
    await expect(runGit(['--version'], { env: { PATH: empty }, cwd: root, readOnly: true })).rejects.toThrow(/^git --version: git is not on PATH$/);
    await expect(runGit(['--version'], { env: env(), cwd: path.join(root, 'gone'), readOnly: true })).rejects.toThrow(/^git --version: cannot start git \(.*ENOENT/);
    expect((await runGit(['--version'], { env: env(), cwd: root, readOnly: true })).stdout).toMatch(/^git version \S+$/);
  });
});

describe('filesAtCommit', () => {
  it('reads only blobs: a folder or a submodule named like a compose file is not one', async () => {
    const commit = commitOf(clone, '1.0.0+1.0');
    const files = await filesAtCommit(clone, commit, COMPOSE_FILES, { env: env() });
    expect([...files.keys()]).toEqual(['compose.yml', 'compose.yaml']);
    expect(files.get('compose.yml')).toBe(COMPOSE);
    await expect(filesAtCommit(clone, '3'.repeat(40), COMPOSE_FILES, { env: env() })).rejects.toThrow(/no such commit/);
  });
});

describe('fetchRelease', () => {
  it('asks nothing of the network when the clone\'s own tag already is the commit upstream lists', async () => {
    const commit = commitOf(up, '1.0.0+1.0');
    const r = await fetchRelease(clone, url(), '1.0.0+1.0', commit, { env: env(), log, defaultBranch: 'main', files: COMPOSE_FILES });
    expect(r.commit).toBe(commit);
    expect([...r.files.keys()]).toEqual(['compose.yml', 'compose.yaml']);
    expect(r.files.get('compose.yml')).toBe(COMPOSE);
    expect(server.requests).toEqual([]);
    expect(warnings).toEqual([]);
    expect(git(clone, 'for-each-ref', UPSTREAM_TAGS)).toBe('');
  });

  it('fetches the tag when the clone lacks its commit, and creates the missing local tag', async () => {
    const work = path.join(root, 'work');
    writeFileSync(path.join(work, 'compose.yml'), COMPOSE.replace('1.0.0+1.0', '1.1.0+1.1'));
    git(work, 'commit', '-q', '-am', 'next');
    git(work, 'tag', '1.1.0+1.1');
    git(work, 'push', '-q', up, 'main', '1.1.0+1.1');
    const commit = commitOf(up, '1.1.0+1.1');
    const r = await fetchRelease(clone, url(), '1.1.0+1.1', commit, { env: env(), log, defaultBranch: 'main', files: COMPOSE_FILES });
    expect(r.commit).toBe(commit);
    expect(r.files.get('compose.yml')).toContain('version=1.1.0+1.1');
    expect(server.requests.some((q) => q.service === 'git-upload-pack')).toBe(true);
    expect(commitOf(clone, 'refs/tags/1.1.0+1.1')).toBe(commit);
    expect(commitOf(clone, `${UPSTREAM_TAGS}/1.1.0+1.1`)).toBe(commit);
    expect(warnings.map((w) => w[1])).toEqual(['created the upstream tag the clone lacked']);
  });

  it('tests upstream\'s commit and never moves the clone\'s own tag when it differs', async () => {
    const old = commitOf(clone, '1.0.0+1.0');
    git(clone, 'commit', '-q', '--allow-empty', '-m', 'local');
    git(clone, 'tag', '-f', '-a', '-m', 'moved here', '1.0.0+1.0');
    const mine = commitOf(clone, '1.0.0+1.0');
    const r = await fetchRelease(clone, url(), '1.0.0+1.0', old, { env: env(), log, defaultBranch: 'main', files: COMPOSE_FILES });
    expect(r.commit).toBe(old);
    expect(r.files.get('compose.yml')).toBe(COMPOSE);
    expect(server.requests.length).toBeGreaterThan(0);
    expect(commitOf(clone, '1.0.0+1.0')).toBe(mine);
    expect(warnings.map((w) => w[1])).toEqual(["the clone's own tag differs from upstream's; testing upstream's"]);
  });

  it('refuses a tag that moved upstream since it was listed', async () => {
    const listed = commitOf(up, '1.0.0+1.0');
    const work = path.join(root, 'work');
    git(work, 'commit', '-q', '--allow-empty', '-m', 'later');
    git(work, 'tag', '-f', '1.2.0+1.2');
    git(work, 'push', '-q', up, 'main', '1.2.0+1.2');
    const newer = commitOf(up, '1.2.0+1.2');
    git(up, 'tag', '-f', '1.2.0+1.2', listed); // listed at `listed`... moved back: the sweep expected `newer`
    await expect(fetchRelease(clone, url(), '1.2.0+1.2', newer, { env: env(), log, defaultBranch: 'main' }))
      .rejects.toThrow(`tag 1.2.0+1.2 moved upstream during the sweep (${newer} -> ${listed}); run again`);
  });

  it('refuses a tag of a tree, even when the clone\'s own tag of that name already points to it', async () => {
    const tree = git(up, 'rev-parse', '1.0.0+1.0^{tree}');
    git(up, 'tag', '2.0.0+2.0', tree);
    await expect(fetchRelease(clone, url(), '2.0.0+2.0', tree, { env: env(), log, defaultBranch: 'main' })).rejects.toThrow(NotACommitError);
    expect(git(clone, 'tag', '-l', '2.0.0+2.0')).toBe('');
    git(clone, 'update-ref', '-d', `${UPSTREAM_TAGS}/2.0.0+2.0`);
    git(clone, 'tag', '2.0.0+2.0', tree);
    const before = server.requests.length;
    await expect(fetchRelease(clone, url(), '2.0.0+2.0', tree, { env: env(), log, defaultBranch: 'main' })).rejects.toThrow(NotACommitError);
    // The clone's tree tag is no release: upstream is asked again, not trusted from the clone.
    expect(server.requests.length).toBeGreaterThan(before);
  });
});
