// The git processes a run starts per tested recipe, counted by a `git` on PATH that logs each call: what every
// test first asks of its clone is read once for the whole run, then each recipe costs a status before and
// after its test, its checkout and its restore.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addRelease } from '../support/sandbox.js';
import { alive, cliJson, launches, sandbox, startCli, until } from '../support/cli.js';
import { git } from '../support/git.js';

const REAL_GIT = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();

describe('a run of three recipes whose clones hold their new tags', () => {
  it('reads the releases with one git cat-file --batch, then four git processes per recipe', async () => {
    const names = ['aaa', 'bbb', 'ccc'];
    const sb = await sandbox(names.map((name) => ({ name, releases: [{ tag: '1.0.0' }] })));
    // The first run clones and promotes 1.0.0; 1.1.0 is then fetched into each clone by a plain fetch.
    expect((await cliJson(sb, ['run'])).r.exitCode).toBe(0);
    for (const n of names) {
      await addRelease(sb, n, { tag: '1.1.0' });
      execFileSync('git', ['-C', path.join(sb.recipesDir, n), 'fetch', '-q', '--tags', 'origin']);
    }
    const calls = path.join(sb.root, 'git-calls');
    const bin = path.join(sb.root, 'wrap-bin');
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'git'), `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >>'${calls}'\nexec '${REAL_GIT}' "$@"\n`);
    chmodSync(path.join(bin, 'git'), 0o755);
    const { r, doc } = await cliJson(sb, ['run'], { PATH: `${bin}:${process.env.PATH}` });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.recipes.map((x: { outcome: string; tag: string }) => `${x.outcome} ${x.tag}`)).toEqual(names.map(() => 'promoted 1.1.0'));
    const lines = readFileSync(calls, 'utf8').trim().split('\n');
    const sub = (l: string) => l.split(' ').find((w) => !w.startsWith('-') && !w.includes('=') && w !== 'core.useReplaceRefs=false' && w !== 'advice.detachedHead=false');
    expect(lines.filter((l) => / cat-file --batch$/.test(l))).toHaveLength(1);
    for (const n of names) {
      const mine = lines.filter((l) => l.includes(`--work-tree=${path.join(sb.recipesDir, n)} `) && !/ cat-file --batch$/.test(l));
      expect(mine.map(sub).sort(), n).toEqual(['checkout', 'checkout', 'status', 'status']);
    }
  });
});

describe('a stop while the releases are read', () => {
  it('stops that git, tests nothing, touches no clone, exits 143', async () => {
    const names = ['aaa', 'bbb'];
    const sb = await sandbox(names.map((name) => ({ name, releases: [{ tag: '1.0.0' }] })));
    expect((await cliJson(sb, ['run'])).r.exitCode).toBe(0);
    for (const n of names) await addRelease(sb, n, { tag: '1.1.0' });
    const bin = path.join(sb.root, 'wrap-bin');
    mkdirSync(bin);
    const reading = path.join(sb.root, 'reading');
    // The one cat-file over every clone (the only git given alternates) never ends by itself.
    writeFileSync(path.join(bin, 'git'), `#!/usr/bin/env bash
case " $* " in *" cat-file --batch ") if [ -n "$GIT_ALTERNATE_OBJECT_DIRECTORIES" ]; then echo $$ >'${reading}'; exec sleep 600; fi ;; esac
exec '${REAL_GIT}' "$@"
`);
    chmodSync(path.join(bin, 'git'), 0o755);
    const tested = launches(sb).length;
    const sweep = startCli(sb, ['run', '--json'], { PATH: `${bin}:${process.env.PATH}` });
    await until('the releases to be read', () => existsSync(reading) && readFileSync(reading, 'utf8').endsWith('\n'));
    process.kill(sweep.pid!, 'SIGTERM');
    const r = await sweep;
    expect(r.exitCode).toBe(143);
    expect(alive(Number(readFileSync(reading, 'utf8')))).toBe(false);
    expect(JSON.parse(String(r.stdout)).recipes.map((x: { outcome: string }) => x.outcome)).toEqual(['interrupted', 'interrupted']);
    expect(launches(sb)).toHaveLength(tested);
    for (const n of names) {
      expect(git(path.join(sb.recipesDir, n), 'symbolic-ref', '--short', 'HEAD')).toBe('main');
      expect(existsSync(path.join(sb.stateDir, n, '.recipe.lock'))).toBe(false);
    }
  }, 60_000);
});

describe('a clone whose tag names objects its store lost, which another clone holds', () => {
  it('is asked again, fetches what it lacks and is tested: the prefetch is never the last word', async () => {
    const sb = await sandbox([{ name: 'aaa', releases: [{ tag: '1.0.0' }] }, { name: 'bbb', releases: [{ tag: '1.0.0' }] }]);
    // bbb's upstream is a copy of aaa's: the two clones share every object.
    const copyUpstream = () => {
      rmSync(path.join(sb.upstreamDir, 'bbb.git'), { recursive: true, force: true });
      cpSync(path.join(sb.upstreamDir, 'aaa.git'), path.join(sb.upstreamDir, 'bbb.git'), { recursive: true });
    };
    copyUpstream();
    expect((await cliJson(sb, ['run'])).r.exitCode).toBe(0);
    await addRelease(sb, 'aaa', { tag: '1.1.0' });
    copyUpstream();
    const b = path.join(sb.recipesDir, 'bbb');
    for (const n of ['aaa', 'bbb']) execFileSync('git', ['-C', path.join(sb.recipesDir, n), 'fetch', '-q', '--tags', 'origin']);
    // bbb's store loses the new release's objects (loose after that small fetch); its tag still names them.
    const lost = git(b, 'rev-list', '--objects', '1.0.0..1.1.0').split('\n').map((l) => l.split(' ')[0]!);
    lost.push(git(b, 'rev-parse', 'refs/tags/1.1.0'));
    for (const id of lost) rmSync(path.join(b, '.git', 'objects', id.slice(0, 2), id.slice(2)), { force: true });
    expect(() => git(b, 'cat-file', '-e', '1.1.0^{commit}')).toThrow();
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.recipes.map((x: { recipe: string; outcome: string; tag: string }) => `${x.recipe} ${x.outcome} ${x.tag}`)).toEqual(['aaa promoted 1.1.0', 'bbb promoted 1.1.0']);
    expect(r.stderr).toMatch(/the checkout failed: asking the clone itself for the release and trying once more/);
    expect(git(b, 'cat-file', '-t', '1.1.0^{commit}')).toBe('commit');
    expect(git(b, 'symbolic-ref', '--short', 'HEAD')).toBe('main');
  });
});
