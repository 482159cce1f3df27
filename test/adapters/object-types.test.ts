// objectTypeLookup: one `git cat-file` for the object types of every clone of a plan, on real repos.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectTypeLookup } from '../../src/adapters/git.js';

const ID = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' };
const git = (cwd: string, args: string[], input?: string) =>
  execFileSync('git', args, { cwd, input, encoding: 'utf8', env: { ...process.env, ...ID } }).trim();

let root: string;
/** Objects that exist in only one clone each. */
const ids = { commitA: '', treeA: '', tagA: '', blobB: '', commitB: '', onlyLinked: '' };
const clones: string[] = [];

function clone(name: string, file: string): string {
  const dir = path.join(root, name);
  git(root, ['init', '-q', '-b', 'main', dir]);
  writeFileSync(path.join(dir, file), `${name}\n`);
  git(dir, ['add', file]);
  git(dir, ['commit', '-q', '-m', name]);
  return dir;
}

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'ccci-types-'));
  // A path with a colon and a double quote: GIT_ALTERNATE_OBJECT_DIRECTORIES separates entries with ':'.
  const a = clone('a:"odd"', 'compose.yml');
  ids.commitA = git(a, ['rev-parse', 'HEAD']);
  ids.treeA = git(a, ['rev-parse', 'HEAD^{tree}']);
  git(a, ['tag', '-a', '-m', 'annotated', '1.0.0']);
  ids.tagA = git(a, ['rev-parse', 'refs/tags/1.0.0']);
  const b = clone('b', 'other.yml');
  ids.commitB = git(b, ['rev-parse', 'HEAD']);
  ids.blobB = git(b, ['hash-object', '-w', '--stdin'], 'a loose blob only b holds\n');
  // A clone whose .git is a symlink to another repository: left out, as every other git call refuses it.
  const other = clone('elsewhere', 'x.yml');
  ids.onlyLinked = git(other, ['rev-parse', 'HEAD']);
  const linked = path.join(root, 'linked');
  mkdirSync(linked);
  symlinkSync(path.join(other, '.git'), path.join(linked, '.git'));
  // b first: a, with the odd path, is then one of the alternates.
  clones.push(b, a, linked, path.join(root, 'missing'), path.join(root, 'plain'));
  mkdirSync(path.join(root, 'plain'));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('objectTypeLookup', () => {
  it('answers the type of every object any clone holds, and nothing for the rest', async () => {
    const lookup = objectTypeLookup(clones, { env: process.env });
    try {
      const missing = 'f'.repeat(40);
      const types = await lookup.types([ids.commitA, ids.treeA, ids.tagA, ids.blobB, ids.commitB, missing, ids.onlyLinked]);
      expect(Object.fromEntries(types)).toEqual({
        [ids.commitA]: 'commit', [ids.treeA]: 'tree', [ids.tagA]: 'tag', [ids.blobB]: 'blob', [ids.commitB]: 'commit',
      });
      // Asked again, in pieces and at once: each answer is its own question's.
      const [x, y] = await Promise.all([lookup.types([ids.blobB]), lookup.types([missing, ids.treeA])]);
      expect(Object.fromEntries(x)).toEqual({ [ids.blobB]: 'blob' });
      expect(Object.fromEntries(y)).toEqual({ [ids.treeA]: 'tree' });
    } finally {
      lookup.close();
    }
  });

  it('never writes a line that is not an object id to git (it would put every later answer out of step)', async () => {
    const lookup = objectTypeLookup(clones, { env: process.env });
    try {
      const types = await lookup.types([`${ids.commitA}\n${ids.treeA}`, 'HEAD', ids.commitA.slice(0, 12), '', ids.blobB]);
      expect(Object.fromEntries(types)).toEqual({ [ids.blobB]: 'blob' });
    } finally {
      lookup.close();
    }
  });

  it('starts one git process for all clones and all questions', async () => {
    const bin = mkdtempSync(path.join(tmpdir(), 'ccci-types-bin-'));
    const log = path.join(bin, 'calls');
    const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    writeFileSync(path.join(bin, 'git'), `#!/bin/sh\necho "$*" >> '${log}'\nexec '${real}' "$@"\n`);
    chmodSync(path.join(bin, 'git'), 0o755);
    const lookup = objectTypeLookup(clones, { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    try {
      for (const id of [ids.commitA, ids.treeA, ids.blobB, ids.commitB]) expect((await lookup.types([id])).size).toBe(1);
    } finally {
      lookup.close();
    }
    expect(readFileSync(log, 'utf8').trim().split('\n').filter((l) => l.includes('cat-file'))).toHaveLength(1);
    rmSync(bin, { recursive: true, force: true });
  });

  it('answers "unknown" when git cannot start, dies, or the sweep is stopped, and never hangs', async () => {
    const gone = objectTypeLookup(clones, { env: { ...process.env, PATH: path.join(root, 'no-such-bin') } });
    expect((await gone.types([ids.commitA])).size).toBe(0);
    gone.close();

    const bin = mkdtempSync(path.join(tmpdir(), 'ccci-types-bin-'));
    writeFileSync(path.join(bin, 'git'), '#!/bin/sh\nexit 0\n'); // reads nothing, answers nothing
    chmodSync(path.join(bin, 'git'), 0o755);
    const dies = objectTypeLookup(clones, { env: { ...process.env, PATH: bin } });
    expect((await dies.types([ids.commitA, ids.blobB])).size).toBe(0);
    expect((await dies.types([ids.commitA])).size).toBe(0);
    dies.close();

    // A git that reads and never answers: the deadline gives up.
    writeFileSync(path.join(bin, 'git'), '#!/bin/sh\nexec sleep 60\n');
    const hangs = objectTypeLookup(clones, { env: { ...process.env, PATH: bin }, timeoutMs: 200 });
    expect((await hangs.types([ids.commitA])).size).toBe(0);
    hangs.close();

    const stop = new AbortController();
    const stopped = objectTypeLookup(clones, { env: { ...process.env, PATH: bin }, signal: stop.signal });
    const answer = stopped.types([ids.commitA]);
    stop.abort();
    expect((await answer).size).toBe(0);
    expect((await stopped.types([ids.blobB])).size).toBe(0);
    stopped.close();
    rmSync(bin, { recursive: true, force: true });
  });

  it('starts nothing when no clone can be read', async () => {
    const lookup = objectTypeLookup([path.join(root, 'missing'), path.join(root, 'plain')], { env: { ...process.env, PATH: path.join(root, 'no-such-bin') } });
    expect((await lookup.types([ids.commitA])).size).toBe(0);
    lookup.close();
  });

  it('a first clone in which git cannot start gives way to the next; the others are still read', async () => {
    // Broken HEAD: git refuses the repository before reading a question.
    const broken = path.join(root, 'broken');
    git(root, ['init', '-q', '-b', 'main', broken]);
    writeFileSync(path.join(broken, '.git', 'HEAD'), 'garbage\n');
    const warnings: string[] = [];
    const lookup = objectTypeLookup([broken, ...clones], { env: process.env, log: { warn: (_o: unknown, m?: string) => void warnings.push(String(m)) } });
    try {
      const types = await lookup.types([ids.treeA, ids.blobB]);
      expect(Object.fromEntries(types)).toEqual({ [ids.treeA]: 'tree', [ids.blobB]: 'blob' });
      expect(warnings).toEqual([]);
    } finally {
      lookup.close();
    }
  });

  it('a SHA-256 clone is never the repository that reads 40-digit ids', async () => {
    const sha256 = path.join(root, 'sha256');
    git(root, ['init', '-q', '--object-format=sha256', '-b', 'main', sha256]);
    const lookup = objectTypeLookup([sha256, ...clones], { env: process.env });
    try {
      expect(Object.fromEntries(await lookup.types([ids.commitA]))).toEqual({ [ids.commitA]: 'commit' });
    } finally {
      lookup.close();
    }
  });

  it('nor is one whose config says so in another form git reads (the key on the section line, quoted)', async () => {
    for (const [name, form] of [['sha256-inline', '[extensions] objectformat = sha256'], ['sha256-quoted', '[extensions]\n\tobjectFormat = "sha256"']]) {
      const dir = path.join(root, name!);
      git(root, ['init', '-q', '--object-format=sha256', '-b', 'main', dir]);
      const config = path.join(dir, '.git', 'config');
      writeFileSync(config, readFileSync(config, 'utf8').replace(/\[extensions\]\s*\n\s*objectformat = sha256/, form!));
      expect(git(dir, ['rev-parse', '--show-object-format'])).toBe('sha256');
      const lookup = objectTypeLookup([dir, ...clones], { env: process.env });
      try {
        expect(Object.fromEntries(await lookup.types([ids.commitA])), form).toEqual({ [ids.commitA]: 'commit' });
      } finally {
        lookup.close();
      }
    }
  });

  it('when nothing can be read it says so once, and a spawn that throws is "unknown", not an error', async () => {
    const warnings: string[] = [];
    const log = { warn: (_o: unknown, m?: string) => void warnings.push(String(m)) };
    // An environment value the kernel refuses (E2BIG) makes spawn throw at once.
    const lookup = objectTypeLookup(clones, { env: { ...process.env, HUGE: 'x'.repeat(200 * 1024) }, log });
    expect((await lookup.types([ids.commitA])).size).toBe(0);
    expect((await lookup.types([ids.blobB])).size).toBe(0);
    lookup.close();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/cannot read object types/);
  });

  it('close() does not wait for a git that will not end: the lookup holds nothing open', async () => {
    const bin = mkdtempSync(path.join(tmpdir(), 'ccci-types-bin-'));
    const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    // Answers, then lingers after the end of its input.
    writeFileSync(path.join(bin, 'git'), `#!/bin/sh\n'${real}' "$@"\nexec sleep 30\n`);
    chmodSync(path.join(bin, 'git'), 0o755);
    const script = `
      import { objectTypeLookup } from ${JSON.stringify(path.resolve('dist/adapters/git.js'))};
      const l = objectTypeLookup(${JSON.stringify(clones)}, { env: process.env });
      const t = await l.types([${JSON.stringify(ids.treeA)}]);
      console.log(t.get(${JSON.stringify(ids.treeA)}));
      l.close();`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, timeout: 20_000,
    });
    expect(out.trim()).toBe('tree');
    rmSync(bin, { recursive: true, force: true });
  });

  it('asks git about an id once, whatever the answer, however many recipes list it', async () => {
    const bin = mkdtempSync(path.join(tmpdir(), 'ccci-types-bin-'));
    const asked = path.join(bin, 'asked');
    const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    writeFileSync(path.join(bin, 'git'), `#!/bin/sh\ncase "$*" in *cat-file*) tee -a '${asked}' | '${real}' "$@" ;; *) exec '${real}' "$@" ;; esac\n`);
    chmodSync(path.join(bin, 'git'), 0o755);
    const lookup = objectTypeLookup(clones, { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    const missing = 'e'.repeat(40);
    try {
      for (let i = 0; i < 3; i++) {
        expect(Object.fromEntries(await lookup.types([missing, ids.treeA]))).toEqual({ [ids.treeA]: 'tree' });
      }
    } finally {
      lookup.close();
    }
    expect(readFileSync(asked, 'utf8').split('\n').filter(Boolean).sort()).toEqual([missing, ids.treeA].sort());
    rmSync(bin, { recursive: true, force: true });
  });
});
