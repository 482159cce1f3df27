// PR reconciliation through the (fake) Gitea API, with the mirror served over HTTP behind the token.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWriter } from '../../../src/adapters/writer.js';
import { type MirrorTarget, syncMirror } from '../../../src/sweep/mirror-sync.js';
import { type GitHttpServer, startGitHttpServer } from '../../support/git-http-server.js';
import { type GiteaServer, startGiteaServer } from '../../support/gitea-server.js';
import { captureLogger, FAST_RETRY, git, makeScenario, type Scenario, setupGitEnv } from './fixtures.js';

const { base } = setupGitEnv();
afterAll(() => rmSync(base, { recursive: true, force: true }));

const TOKEN = 'pulls-test-token-5c1e';
const REPO = 'recipe-maintainers/app';
let s: Scenario;
let gitSrv: GitHttpServer;
let gitea: GiteaServer;
let target: MirrorTarget;

beforeEach(async () => {
  s = makeScenario(base);
  gitSrv = await startGitHttpServer({ root: s.root, token: TOKEN });
  gitea = await startGiteaServer({ token: TOKEN, maxLimit: 20 });
  gitea.addRepo(REPO);
  target = {
    recipe: s.recipe, cloneDir: s.clone, giteaApi: gitea.api,
    upstreamUrl: `file://${s.upstream}`, mirrorUrl: `${gitSrv.url}/${REPO}.git`,
  };
});
afterEach(async () => {
  await gitSrv.close();
  await gitea.close();
});

async function sync(token: string | undefined, dryRun = false) {
  const { log, output } = captureLogger();
  const result = await syncMirror(target, { token, writer: createWriter(dryRun, log), log, retry: FAST_RETRY, env: process.env });
  return { result, output: output() };
}

/** A commit that exists only on a branch of another clone (so neither upstream nor the clone has it). */
function foreignCommit(): string {
  const other = path.join(path.dirname(s.work), `other-${Math.random().toString(36).slice(2)}`);
  git(path.dirname(other), 'clone', '--quiet', s.upstream, other);
  return s.commit('someone else’s change', other);
}

describe('PR reconciliation', () => {
  it('closes a PR that upstream merged, with a comment naming the upstream commit; leaves the others', async () => {
    git(s.work, 'checkout', '--quiet', '-b', 'feature');
    const merged = s.commit('feature merged upstream');
    git(s.work, 'checkout', '--quiet', 'main');
    git(s.work, 'merge', '--quiet', '--no-ff', '-m', 'Merge feature', 'feature');
    const upHead = git(s.work, 'rev-parse', 'HEAD');
    s.publish();
    // A local-only commit: present in the clone but not in upstream.
    git(s.clone, 'checkout', '--quiet', '-b', 'wip');
    const localOnly = s.commit('local work', s.clone);

    gitea.addPull(REPO, { headSha: merged });
    gitea.addPull(REPO, { headSha: foreignCommit() });
    gitea.addPull(REPO, { headSha: localOnly });
    gitea.addPull(REPO, { headSha: 'not-a-sha' });

    const { result } = await sync(TOKEN);

    expect(result.outcome).toBe('updated');
    expect(result.prsClosed).toEqual([1]);
    expect(gitea.closed).toEqual([{ repo: REPO, index: 1 }]);
    expect(gitea.comments).toHaveLength(1);
    expect(gitea.comments[0]?.index).toBe(1);
    expect(gitea.comments[0]?.body).toContain(upHead);
    expect(gitea.pulls(REPO).map((p) => p.state)).toEqual(['closed', 'open', 'open', 'open']);
    expect(gitea.requests.every((r) => r.auth === 'ok')).toBe(true);
    // The push needed the token and got it.
    expect(gitSrv.requests.filter((r) => r.service === 'git-receive-pack').every((r) => r.auth)).toBe(true);
  });

  it('pages through open PRs, even when the server caps the page size below the asked limit', async () => {
    for (let i = 0; i < 44; i++) gitea.addPull(REPO, { headSha: foreignCommitCached() });
    gitea.addPull(REPO, { headSha: git(s.upstream, 'rev-parse', 'main') });

    const { result } = await sync(TOKEN);

    expect(result.prsClosed).toEqual([45]);
    const pages = gitea.requests.filter((r) => r.method === 'GET').map((r) => new URLSearchParams(r.query).get('page'));
    expect(pages).toEqual(['1', '2', '3']);
  });

  it('retries a Gitea 5xx and then succeeds', async () => {
    gitea.addPull(REPO, { headSha: git(s.upstream, 'rev-parse', 'main') });
    gitea.failNext(1, 500);

    const { result, output } = await sync(TOKEN);

    expect(result.outcome).toBe('in-sync');
    expect(result.prsClosed).toEqual([1]);
    expect(gitea.requests.filter((r) => r.method === 'GET').map((r) => r.status)).toEqual([500, 200]);
    expect(output).toContain('retrying');
  });

  it('does not retry a 4xx, and reports the failing step', async () => {
    gitea.failNext(1, 404);
    const { result } = await sync(TOKEN);
    expect(result.outcome).toBe('error');
    expect(result.error).toEqual({ step: 'pulls', message: expect.stringContaining('HTTP 404') });
    expect(gitea.requests).toHaveLength(1);
  });

  it('reports a rejected token as step "token"', async () => {
    const { result } = await sync('a-wrong-token-value');
    expect(result.outcome).toBe('error');
    expect(result.error?.step).toBe('token');
    expect(gitea.requests.map((r) => r.auth)).toEqual(['wrong']);
  });

  it('skips PR reconciliation with a warning when there is no token', async () => {
    gitea.addPull(REPO, { headSha: git(s.upstream, 'rev-parse', 'main') });
    const { result, output } = await sync(undefined);
    expect(result.outcome).toBe('in-sync');
    expect(result.prsClosed).toEqual([]);
    expect(gitea.requests).toEqual([]);
    expect(output).toMatch(/"level":40.*PR reconciliation skipped/);
  });

  it('in dry-run lists the PRs it would close and touches none', async () => {
    gitea.addPull(REPO, { headSha: git(s.upstream, 'rev-parse', 'main') });
    const { result } = await sync(TOKEN, true);
    expect(result.prsClosed).toEqual([1]);
    expect(result.wouldDo.filter((w) => w.includes('PR #'))).toEqual([
      expect.stringMatching(/^comment on PR #1 of recipe-maintainers\/app /),
      expect.stringMatching(/^close PR #1 of recipe-maintainers\/app$/),
    ]);
    expect(gitea.comments).toEqual([]);
    expect(gitea.closed).toEqual([]);
    expect(gitea.requests.map((r) => r.method)).toEqual(['GET']);
  });
});

let cachedForeign: string | undefined;
function foreignCommitCached(): string {
  cachedForeign ??= foreignCommit();
  return cachedForeign;
}
