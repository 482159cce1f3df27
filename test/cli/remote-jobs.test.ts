// `--remote-jobs N`: how many upstream listings a plan has in flight, against a real smart-HTTP server.
import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { alive, cli, cliJson, sandbox, startCli, until } from '../support/cli.js';
import { type GitHttpServer, startGitHttpServer } from '../support/git-http-server.js';
import { listRefsHttp } from '../../src/adapters/http-refs.js';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

let servers: GitHttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

const RECIPES = ['a1', 'b2', 'c3', 'd4', 'e5', 'f6'];

describe('plan --remote-jobs', () => {
  it('bounds the listings in flight: one at a time uses one kept-alive connection, the default several', async () => {
    const sb = await sandbox(RECIPES.map((name) => ({ name, releases: [{ tag: '1.0.0' }, { tag: '1.1.0' }] })));
    // Slow replies, so listings that may overlap do overlap.
    const server = await startGitHttpServer({ root: sb.root, latencyMs: 150 });
    servers.push(server);
    const env = { CCCI_UPSTREAM_URL: `${server.url}/upstream/{recipe}.git` };

    const one = await cliJson(sb, ['plan', '--remote-jobs', '1'], env);
    expect(one.r.exitCode).toBe(0);
    expect(one.doc.recipes.map((r: { latest: string }) => r.latest)).toEqual(RECIPES.map(() => '1.1.0'));
    expect(server.requests).toHaveLength(RECIPES.length);
    expect(server.connections()).toBe(1);

    const before = server.connections();
    const all = await cliJson(sb, ['plan'], env);
    expect(all.r.exitCode).toBe(0);
    expect(all.doc.recipes).toEqual(one.doc.recipes);
    expect(server.connections() - before).toBeGreaterThan(1);
  });

  it('refuses a count that is not a positive whole number, in one line, exit 2', async () => {
    const sb = await sandbox([{ name: 'a1', releases: [{ tag: '1.0.0' }] }]);
    for (const bad of ['0', '-3', 'many', '2.5', '1e3', '0x10', ' 4', '9007199254740993', '']) {
      const r = await cli(sb, ['plan', '--remote-jobs', bad]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/--remote-jobs/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe("the benchmark's ref cache (test server, cacheRefs)", () => {
  it('serves what git http-backend said, and forgets a repo when it is pushed to', async () => {
    const sb = await sandbox([{ name: 'a1', releases: [{ tag: '1.0.0' }] }]);
    const server = await startGitHttpServer({ root: sb.root, cacheRefs: true });
    servers.push(server);
    const url = `${server.url}/upstream/a1.git`;
    const env = { PATH: process.env.PATH };
    const first = await listRefsHttp(url, { env });
    const again = await listRefsHttp(url, { env });
    expect(again).toEqual(first);
    expect(server.cacheHits()).toBe(1);
    // A push through the server: the next listing is git's again and shows the new tag. (Asynchronous git:
    // the server answers from this very process.)
    const work = path.join(sb.root, 'work-a1');
    const git = (cwd: string, ...args: string[]) => promisify(execFile)('git', args, { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    await git(sb.root, 'clone', '--quiet', url, work);
    await git(work, 'tag', '9.9.9');
    await git(work, 'push', '--quiet', url, 'refs/tags/9.9.9');
    const after = await listRefsHttp(url, { env });
    expect([...after.refs.keys()]).toContain('refs/tags/9.9.9');
    expect(server.cacheHits()).toBe(1);
  });
});

describe('plan under a signal', () => {
  for (const [sig, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
    it(`${sig} while git hangs: exit ${code}, nothing printed, no git left running`, async () => {
      const sb = await sandbox([{ name: 'a1', releases: [{ tag: '1.0.0' }] }, { name: 'b2', releases: [{ tag: '1.0.0' }] }]);
      const server = await startGitHttpServer({ root: sb.root });
      servers.push(server);
      // Clones to ask object types of (file clones: no server involved).
      for (const r of ['a1', 'b2']) await promisify(execFile)('git', ['clone', '-q', path.join(sb.upstreamDir, `${r}.git`), path.join(sb.recipesDir, r)]);
      // A git whose cat-file never answers (and ignores the end of its input), marked so it can be found.
      const bin = path.join(sb.root, 'hang-bin');
      mkdirSync(bin);
      const real = (await promisify(execFile)('sh', ['-c', 'command -v git'])).stdout.trim();
      const started = path.join(sb.root, 'hung');
      writeFileSync(path.join(bin, 'git'), `#!/bin/sh\ncase "$*" in *cat-file*) echo $$ > '${started}'; exec sleep 600 ;; esac\nexec '${real}' "$@"\n`);
      chmodSync(path.join(bin, 'git'), 0o755);
      const child = startCli(sb, ['plan'], { CCCI_UPSTREAM_URL: `${server.url}/upstream/{recipe}.git`, PATH: `${bin}:${process.env.PATH}` });
      await until('the hanging cat-file to start', () => existsSync(started));
      const pid = Number(readFileSync(started, 'utf8'));
      child.kill(sig);
      const r = await child;
      expect(r.exitCode).toBe(code);
      expect(String(r.stdout)).toBe('');
      // Its whole process group is gone (no orphan left with PPID 1).
      await until('the hung git to be gone', () => !alive(pid), 5_000);
    });
  }
});
