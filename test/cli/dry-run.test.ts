// `run --dry-run` goes through run's own path (mirror-sync planned, every recipe planned) with every write
// refused: no lock taken, no file, ref or remote changed, no harness launched, nothing asked of Gitea but
// reads. What it prints is what plan prints.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hostLockPath, processStart, recipeLockPath } from '../../src/adapters/fs/lock.js';
import { addRelease } from '../support/sandbox.js';
import { cli, cliJson, launches, sandbox, snapshot } from '../support/cli.js';
import { git } from '../support/git.js';
import { startGitHttpServer } from '../support/git-http-server.js';
import { startGiteaServer } from '../support/gitea-server.js';

const TOKEN = 'tok-dry-run-5e1d';
let servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

describe('run --dry-run', () => {
  it('plans the mirror-sync and the tests, and changes no file, ref or remote; prints what plan prints', async () => {
    const sb = await sandbox([
      { name: 'gitea', releases: [{ tag: '1.0.0' }] },
      { name: 'lauti', releases: [{ tag: '2.0.0' }] },
    ]);
    const mirror = (r: string) => path.join(sb.root, 'maintainers', `${r}.git`);
    for (const r of ['gitea', 'lauti']) execFileSync('git', ['clone', '--quiet', '--mirror', path.join(sb.upstreamDir, `${r}.git`), mirror(r)]);
    const http = await startGitHttpServer({ root: sb.root, token: TOKEN });
    const gitea = await startGiteaServer({ token: TOKEN });
    servers.push(http, gitea);
    gitea.addRepo('maintainers/gitea');
    gitea.addRepo('maintainers/lauti');
    const tokenFile = path.join(sb.root, 'mirror-token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const env = {
      CCCI_UPSTREAM_URL: `${http.url}/upstream/{recipe}.git`, CCCI_MIRROR_URL: `${http.url}/maintainers/{recipe}.git`,
      CCCI_GITEA_API: gitea.api, CCCI_MIRROR_TOKEN_FILE: tokenFile,
    };
    // The clones exist (a first sync), then upstream moves on: the mirror is behind, a PR is merged upstream,
    // and gitea has a new release a run would test.
    expect((await cli(sb, ['sync'], env)).exitCode).toBe(0);
    await addRelease(sb, 'gitea', { tag: '1.1.0' });
    gitea.addPull('maintainers/gitea', { headSha: git(path.join(sb.upstreamDir, 'gitea.git'), 'rev-parse', '1.1.0^{commit}') });
    // A crashed sweep's recipe lock (its process is gone): a real run takes it over; a dry-run leaves it.
    writeFileSync(recipeLockPath(path.join(sb.stateDir, 'lauti')), JSON.stringify({ pid: 2 ** 22 + 7, startedAt: '2026-01-01T00:00:00Z', command: 'ccci-sweep run', by: 'timer' }));
    // Another sweep holds the host lock (this process): a real run exits 3 at once; a dry-run needs no lock.
    writeFileSync(hostLockPath(sb.stateDir), JSON.stringify({ pid: process.pid, pidStart: processStart(process.pid), startedAt: new Date().toISOString(), command: 'ccci-sweep run', by: 'timer' }));
    const beforeRequests = { gitea: gitea.requests.length, pushes: http.requests.filter((q) => q.service === 'git-receive-pack').length };
    const before = snapshot(sb.root);

    const dry = await cliJson(sb, ['run', '--dry-run'], env);
    const plan = await cliJson(sb, ['plan'], env);

    expect(snapshot(sb.root)).toEqual(before);
    expect(dry.r.exitCode, dry.r.stderr).toBe(0);
    expect(dry.doc).toEqual(plan.doc);
    expect(dry.doc.recipes.map((e: any) => [e.recipe, e.decision, e.latest])).toEqual([['gitea', 'run', '1.1.0'], ['lauti', 'run', '2.0.0']]);
    // The sync was planned, not done: what it would push and close is said, nothing reached a server.
    expect(dry.r.stderr).toMatch(/dry-run: not acting/);
    expect(dry.r.stderr).toMatch(/would[^\n]*push|push[^\n]*would|wouldDo/);
    expect(http.requests.filter((q) => q.service === 'git-receive-pack').length).toBe(beforeRequests.pushes);
    expect(gitea.requests.slice(beforeRequests.gitea).every((q) => q.method === 'GET')).toBe(true);
    expect(launches(sb)).toEqual([]);
    // The real run, for contrast, is refused by the host lock.
    expect((await cli(sb, ['run'], env)).exitCode).toBe(3);
  });
});
