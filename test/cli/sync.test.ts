// Mirror-sync through the CLI: `sync` and `run` against real repos served by git http-backend, with the
// loopback Gitea stand-in, and the token kept out of every byte the sweep prints.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../support/sandbox.js';
import { addRelease } from '../support/sandbox.js';
import { cli, cliJson, sandbox } from '../support/cli.js';
import { git } from '../support/git.js';
import { type GitHttpServer, startGitHttpServer } from '../support/git-http-server.js';
import { type GiteaServer, startGiteaServer } from '../support/gitea-server.js';

const TOKEN = 'tok-3f9a1c77e2d84b51';
let servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

interface World {
  sb: Sandbox;
  http: GitHttpServer;
  gitea: GiteaServer;
  env: Record<string, string>;
  mirror: (recipe: string) => string;
}

/** A sandbox whose upstreams and mirrors are served over HTTP; mirrors start as copies of upstream. */
async function world(): Promise<World> {
  const sb = await sandbox([
    { name: 'gitea', releases: [{ tag: '1.0.0+1.20' }] },
    { name: 'lauti', releases: [{ tag: '2.0.0' }] },
  ]);
  const mirror = (recipe: string) => path.join(sb.root, 'maintainers', `${recipe}.git`);
  for (const r of ['gitea', 'lauti']) {
    execFileSync('git', ['clone', '--quiet', '--mirror', path.join(sb.upstreamDir, `${r}.git`), mirror(r)]);
  }
  const http = await startGitHttpServer({ root: sb.root, token: TOKEN });
  const gitea = await startGiteaServer({ token: TOKEN });
  servers.push(http, gitea);
  gitea.addRepo('maintainers/gitea');
  gitea.addRepo('maintainers/lauti');
  const tokenFile = path.join(sb.root, 'mirror-token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  const env = {
    CCCI_UPSTREAM_URL: `${http.url}/upstream/{recipe}.git`,
    CCCI_MIRROR_URL: `${http.url}/maintainers/{recipe}.git`,
    CCCI_GITEA_API: gitea.api,
    CCCI_MIRROR_TOKEN_FILE: tokenFile,
  };
  return { sb, http, gitea, env, mirror };
}

const pushes = (w: World) => w.http.requests.filter((r) => r.service === 'git-receive-pack' && r.method === 'POST');

describe('ccci-sweep run with a mirror', () => {
  it('fast-forwards the mirror, adds the tags, closes merged PRs, then tests from upstream', async () => {
    const w = await world();
    await addRelease(w.sb, 'gitea', { tag: '1.1.0+1.21' });
    const merged = git(path.join(w.sb.upstreamDir, 'gitea.git'), 'rev-parse', '1.1.0+1.21^{commit}');
    w.gitea.addPull('maintainers/gitea', { headSha: merged, title: 'merged upstream' });
    w.gitea.addPull('maintainers/gitea', { headSha: 'f'.repeat(40), title: 'unrelated' });

    const { r, doc } = await cliJson(w.sb, ['run'], w.env);
    expect(r.exitCode, r.stderr).toBe(0);
    const by = Object.fromEntries(doc.recipes.map((x: any) => [x.recipe, x]));
    expect(by.gitea).toMatchObject({ outcome: 'promoted', tag: '1.1.0+1.21', sync: { outcome: 'updated', tagsAdded: ['1.1.0+1.21'], prsClosed: [1] } });
    expect(by.lauti).toMatchObject({ outcome: 'promoted', sync: { outcome: 'in-sync' } });
    expect(git(w.mirror('gitea'), 'rev-parse', 'main')).toBe(git(path.join(w.sb.upstreamDir, 'gitea.git'), 'rev-parse', 'main'));
    expect(git(w.mirror('gitea'), 'rev-parse', '1.1.0+1.21^{commit}')).toBe(merged);
    expect(w.gitea.closed).toEqual([{ repo: 'maintainers/gitea', index: 1 }]);
    expect(w.gitea.comments[0]!.body).toContain(merged.slice(0, 7));
    expect(w.gitea.pulls('maintainers/gitea').find((p) => p.number === 2)!.state).toBe('open');

    // The token reached the servers but never the sweep's output.
    expect(w.gitea.requests.every((q) => q.auth === 'ok')).toBe(true);
    expect(`${r.stdout}${r.stderr}`).not.toContain(TOKEN);

    // Nothing to do: the second sync pushes nothing at all.
    const before = pushes(w).length;
    const again = await cliJson(w.sb, ['sync'], w.env);
    expect(again.r.exitCode).toBe(0);
    expect(again.doc.recipes.map((x: any) => x.outcome)).toEqual(['in-sync', 'in-sync']);
    expect(pushes(w).length).toBe(before);
  });

  it('reports a diverged mirror, pushes nothing to its branch, and still tests upstream', async () => {
    const w = await world();
    // Someone committed straight to the mirror.
    const work = path.join(w.sb.root, 'rogue');
    execFileSync('git', ['clone', '--quiet', w.mirror('gitea'), work]);
    writeFileSync(path.join(work, 'rogue.txt'), 'x\n');
    execFileSync('git', ['-C', work, 'add', '.']);
    execFileSync('git', ['-C', work, '-c', 'user.name=r', '-c', 'user.email=r@x', 'commit', '-qm', 'rogue']);
    execFileSync('git', ['-C', work, 'push', '-q', 'origin', 'main']);
    const mirrorMain = git(w.mirror('gitea'), 'rev-parse', 'main');

    const { r, doc } = await cliJson(w.sb, ['run', '--recipe', 'gitea'], w.env);
    expect(r.exitCode).toBe(1);
    expect(doc.recipes[0]).toMatchObject({ outcome: 'promoted', sync: { outcome: 'diverged' } });
    expect(git(w.mirror('gitea'), 'rev-parse', 'main')).toBe(mirrorMain);
    const table = await cli(w.sb, ['plan', '--recipe', 'gitea'], w.env);
    expect(table.stdout).toMatch(/gitea .* diverged/);
  });

  it('plan shows a mirror behind upstream and writes nothing; sync --dry-run pushes nothing', async () => {
    const w = await world();
    // A first sync clones the recipes; ancestry needs their objects.
    expect((await cli(w.sb, ['sync'], w.env)).exitCode).toBe(0);
    await addRelease(w.sb, 'lauti', { tag: '2.1.0' });
    const before = w.http.requests.length;
    const plan = await cliJson(w.sb, ['plan'], w.env);
    // One upstream listing serves both the decision and the mirror check: two connections per recipe.
    const listings = w.http.requests.slice(before).filter((q) => q.path.endsWith('/info/refs'));
    expect(listings.map((q) => q.path).sort()).toEqual([
      '/maintainers/gitea.git/info/refs', '/maintainers/lauti.git/info/refs', '/upstream/gitea.git/info/refs', '/upstream/lauti.git/info/refs',
    ]);
    const by = Object.fromEntries(plan.doc.recipes.map((x: any) => [x.recipe, x]));
    expect(by.lauti.mirror.state).toBe('behind');
    expect(by.gitea.mirror.state).toBe('in-sync');

    const dry = await cliJson(w.sb, ['sync', '--dry-run'], w.env);
    expect(dry.r.exitCode).toBe(0);
    const lauti = dry.doc.recipes.find((x: any) => x.recipe === 'lauti');
    expect(lauti.wouldDo.length).toBeGreaterThan(0);
    expect(pushes(w)).toEqual([]);
    expect(git(w.mirror('lauti'), 'tag', '--list', '2.1.0')).toBe('');
  });

  it('sync records when it first saw each upstream tag (release ages); sync --dry-run records nothing', async () => {
    const w = await world();
    const known = (recipe: string) => path.join(w.sb.stateDir, recipe, 'known-tags.json');
    expect((await cli(w.sb, ['sync', '--dry-run'], w.env)).exitCode).toBe(0);
    expect(existsSync(known('lauti'))).toBe(false);
    expect((await cli(w.sb, ['sync'], w.env)).exitCode).toBe(0);
    const first = JSON.parse(readFileSync(known('lauti'), 'utf8'));
    expect(first).toEqual({ '2.0.0': { commit: git(path.join(w.sb.upstreamDir, 'lauti.git'), 'rev-parse', '2.0.0^{commit}'), since: expect.any(String) } });
    await addRelease(w.sb, 'lauti', { tag: '2.1.0' });
    expect((await cli(w.sb, ['sync'], w.env)).exitCode).toBe(0);
    const second = JSON.parse(readFileSync(known('lauti'), 'utf8'));
    // A tag seen before keeps its first sighting; the new one is known from this sync on.
    expect(second['2.0.0']).toEqual(first['2.0.0']);
    expect(Object.keys(second)).toEqual(['2.0.0', '2.1.0']);
    const plan = await cliJson(w.sb, ['plan', '--recipe', 'lauti', '--min-release-age', '1d'], w.env);
    expect(plan.doc.recipes[0]).toMatchObject({ decision: 'skip', reason: 'too-new', pending: { tag: '2.1.0', eligibleAt: new Date(Date.parse(second['2.1.0'].since) + 86_400_000).toISOString() } });
  });

  it('refuses sync without a mirror URL and a token file others can read', async () => {
    const w = await world();
    const none = await cli(w.sb, ['sync'], { ...w.env, CCCI_MIRROR_URL: '' });
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/sync needs a mirror: set --mirror-url/);
    const loose = path.join(w.sb.root, 'loose-token');
    writeFileSync(loose, TOKEN, { mode: 0o644 });
    const r = await cli(w.sb, ['run', '--mirror-token-file', loose], w.env);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/readable by group or others .* chmod 600/);
    expect(r.stderr).not.toContain(TOKEN);
  });

  it('refuses a token file with a lone CR or a NUL, naming the file (exit 2, nothing sent)', async () => {
    const w = await world();
    for (const [name, text] of [['cr-token', `${TOKEN}\rX-Injected: 1`], ['nul-token', `${TOKEN}\u0000\n`]] as const) {
      const file = path.join(w.sb.root, name);
      writeFileSync(file, text, { mode: 0o600 });
      const r = await cli(w.sb, ['sync', '--mirror-token-file', file], w.env);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(`mirror token file ${file} contains a control character`);
      expect(r.stderr).not.toContain(TOKEN);
    }
    expect(pushes(w)).toEqual([]);
  });

  it('skips mirror-sync with --no-sync', async () => {
    const w = await world();
    await addRelease(w.sb, 'gitea', { tag: '1.1.0+1.21' });
    const { r, doc } = await cliJson(w.sb, ['run', '--no-sync', '--recipe', 'gitea'], w.env);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.recipes[0].sync).toBeUndefined();
    expect(pushes(w)).toEqual([]);
  });
});
