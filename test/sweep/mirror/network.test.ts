// Git network failures: 5xx retried, 4xx not, timeouts bounded; and mirrorState's read-only answers.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWriter } from '../../../src/adapters/writer.js';
import { mirrorState } from '../../../src/sweep/mirror-state.js';
import { type MirrorTarget, syncMirror } from '../../../src/sweep/mirror-sync.js';
import { type GitHttpServer, startGitHttpServer } from '../../support/git-http-server.js';
import { until } from '../../support/cli.js';
import { startGiteaServer } from '../../support/gitea-server.js';
import { captureLogger, FAST_RETRY, git, makeScenario, type Scenario, setupGitEnv } from './fixtures.js';

const { base } = setupGitEnv();
afterAll(() => rmSync(base, { recursive: true, force: true }));

async function withServers<T>(s: Scenario, fn: (up: GitHttpServer, mirror: GitHttpServer, t: MirrorTarget) => Promise<T>, latencyMs = 0): Promise<T> {
  const up = await startGitHttpServer({ root: s.root });
  const mirror = await startGitHttpServer({ root: s.root, latencyMs });
  try {
    return await fn(up, mirror, {
      recipe: s.recipe, cloneDir: s.clone, giteaApi: 'http://127.0.0.1:9/api/v1',
      upstreamUrl: `${up.url}/coop-cloud/${s.recipe}.git`, mirrorUrl: `${mirror.url}/recipe-maintainers/${s.recipe}.git`,
    });
  } finally {
    await Promise.all([up.close(), mirror.close()]);
  }
}

const infoRefs = (srv: GitHttpServer) => srv.requests.filter((r) => r.path.endsWith('/info/refs')).map((r) => r.status);

describe('git network failures', () => {
  it('retries an HTTP 500 from git and succeeds', async () => {
    const s = makeScenario(base);
    await withServers(s, async (_up, mirror, t) => {
      mirror.failNext(1, 500);
      const { log, output } = captureLogger();
      const r = await syncMirror(t, { token: undefined, writer: createWriter(false, log), log, retry: FAST_RETRY, env: process.env });
      expect(r.outcome).toBe('in-sync');
      expect(infoRefs(mirror)).toEqual([500, 200]);
      expect(output()).toContain('ls-remote mirror failed, retrying');
    });
  });

  it('does not retry a 4xx', async () => {
    const s = makeScenario(base);
    await withServers(s, async (_up, mirror, t) => {
      mirror.failNext(1, 404);
      const { log } = captureLogger();
      const r = await syncMirror(t, { token: undefined, writer: createWriter(false, log), log, retry: FAST_RETRY, env: process.env });
      expect(r).toMatchObject({ outcome: 'error', error: { step: 'ls-remote' } });
      expect(infoRefs(mirror)).toEqual([404]);
    });
  });

  it('gives up after the configured tries when the mirror is too slow', async () => {
    const s = makeScenario(base);
    await withServers(s, async (_up, mirror, t) => {
      const { log } = captureLogger();
      // The server never answers: returning at all shows the stalled transport child was killed with git,
      // not waited for; the server seeing each connection dropped shows it from the other side.
      const r = await syncMirror(t, { token: undefined, writer: createWriter(false, log), log, retry: { tries: 2, baseDelayMs: 10 }, timeoutMs: 300, env: process.env });
      expect(r.outcome).toBe('error');
      expect(r.error?.message).toMatch(/timed out after 300 ms/);
      const refsAsked = () => mirror.requests.filter((q) => q.path.endsWith('/info/refs'));
      await until('the mirror to see both tries hang up', () => refsAsked().length === 2 && refsAsked().every((q) => q.aborted));
    }, Infinity);
  });
});

describe('Gitea timeouts', () => {
  it('times out a slow Gitea call, retries it, then reports step pulls', async () => {
    const s = makeScenario(base);
    // Never answers: however late the client's timer fires on a loaded machine, no reply can beat it.
    const gitea = await startGiteaServer({ token: 'tok-gitea-slow', latencyMs: Infinity });
    gitea.addRepo('recipe-maintainers/app');
    try {
      const { log } = captureLogger();
      const t = { recipe: s.recipe, cloneDir: s.clone, giteaApi: gitea.api, upstreamUrl: `file://${s.upstream}`, mirrorUrl: `file://${s.mirror}` };
      const r = await syncMirror(t, { token: 'tok-gitea-slow', writer: createWriter(false, log), log, retry: { tries: 2, baseDelayMs: 10 }, httpTimeoutMs: 150, env: process.env });
      expect(r).toMatchObject({ outcome: 'error', error: { step: 'pulls', message: expect.stringContaining('timed out after 150 ms') } });
      await until('Gitea to see both tries hang up', () => gitea.requests.length === 2 && gitea.requests.every((q) => q.aborted));
      expect(gitea.requests).toHaveLength(2);
    } finally {
      await gitea.close();
    }
  });
});

describe('mirrorState', () => {
  const state = (s: Scenario, mirrorUrl = `file://${s.mirror}`) =>
    mirrorState({ recipe: s.recipe, upstreamUrl: `file://${s.upstream}`, mirrorUrl, cloneDir: s.clone }, { log: captureLogger().log, retry: FAST_RETRY, env: process.env });

  it('says in-sync, not-configured, and behind (missing tag, or mirror branch an ancestor)', async () => {
    const s = makeScenario(base);
    expect((await state(s)).state).toBe('in-sync');
    expect(await state(s, '')).toEqual({ state: 'not-configured', detail: 'no mirror URL configured' });
    s.tag('1.0.1+1.2.3');
    s.publish();
    expect(await state(s)).toEqual({ state: 'behind', detail: 'main at ' + git(s.upstream, 'rev-parse', '--short=7', 'main') + '; 1 tags missing on mirror' });
    s.commit('upstream moves on');
    s.publish();
    // The clone lacks upstream's new head, so ancestry cannot be told without fetching.
    expect((await state(s)).state).toBe('unknown');
    git(s.clone, 'fetch', '--quiet', 'origin');
    expect((await state(s)).state).toBe('behind');
  });

  it('says diverged for a mirror-only commit or a moved tag, and writes nothing', async () => {
    const s = makeScenario(base);
    s.commit('retag');
    s.tag('1.0.0+1.2.3');
    s.publish();
    git(s.clone, 'fetch', '--quiet', 'origin', 'main');
    expect(await state(s)).toMatchObject({ state: 'diverged', detail: expect.stringContaining('tags differ: 1.0.0+1.2.3') });

    const t = makeScenario(base);
    const side = path.join(path.dirname(t.work), 'side');
    git(path.dirname(side), 'clone', '--quiet', t.mirror, side);
    t.commit('mirror only', side);
    git(side, 'push', '--quiet', 'origin', 'main');
    const before = [t.refs(t.clone), t.refs(t.mirror)];
    expect((await state(t)).state).toBe('diverged');
    expect([t.refs(t.clone), t.refs(t.mirror)]).toEqual(before);
  });

  it('says unknown when a remote cannot be read', async () => {
    const s = makeScenario(base);
    expect((await state(s, `file://${s.root}/missing.git`)).state).toBe('unknown');
  });
});
