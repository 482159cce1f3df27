// syncMirror against real bare repos: file:// where auth does not matter, the HTTP server where the test
// needs to see the requests.
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWriter } from '../../../src/adapters/writer.js';
import { type MirrorTarget, syncMirror } from '../../../src/sweep/mirror-sync.js';
import { startGitHttpServer } from '../../support/git-http-server.js';
import { captureLogger, FAST_RETRY, git, makeScenario, refOf, type Scenario, setupGitEnv } from './fixtures.js';

const { base } = setupGitEnv();
afterAll(() => rmSync(base, { recursive: true, force: true }));

function fileTarget(s: Scenario): MirrorTarget {
  return {
    recipe: s.recipe, cloneDir: s.clone, giteaApi: 'http://127.0.0.1:9/api/v1',
    upstreamUrl: `file://${s.upstream}`, mirrorUrl: `file://${s.mirror}`,
  };
}

async function sync(t: MirrorTarget, dryRun = false) {
  const { log, output } = captureLogger();
  const result = await syncMirror(t, { token: undefined, writer: createWriter(dryRun, log), log, retry: FAST_RETRY, env: process.env });
  return { result, output: output() };
}

describe('syncMirror', () => {
  it('fast-forwards a mirror that is behind and adds the missing tags', async () => {
    const s = makeScenario(base);
    const old = refOf(s.upstream, 'main');
    const head = s.commit('new release');
    const tagObj = s.tag('1.1.0+1.2.4');
    s.publish();
    const remotesBefore = git(s.clone, 'config', '--get-regexp', '^remote\\.');

    const { result } = await sync(fileTarget(s));

    expect(result).toMatchObject({
      outcome: 'updated', branch: 'main', branchFrom: old, branchTo: head,
      tagsAdded: ['1.1.0+1.2.4'], tagConflicts: [], prsClosed: [], wouldDo: [],
    });
    expect(result.error).toBeUndefined();
    expect(refOf(s.mirror, 'refs/heads/main')).toBe(head);
    expect(refOf(s.mirror, 'refs/tags/1.1.0+1.2.4')).toBe(tagObj); // the annotated tag object itself
    // The clone learned upstream's head and tags, and its remotes were not touched.
    expect(refOf(s.clone, 'refs/remotes/ccci-upstream/main')).toBe(head);
    expect(refOf(s.clone, 'refs/tags/1.1.0+1.2.4')).toBe(tagObj);
    expect(git(s.clone, 'config', '--get-regexp', '^remote\\.')).toBe(remotesBefore);
  });

  it('creates the branch on an empty mirror, and clones a missing local clone from upstream', async () => {
    const s = makeScenario(base);
    rmSync(s.mirror, { recursive: true });
    git(path.dirname(s.mirror), 'init', '--bare', '--quiet', path.basename(s.mirror));
    rmSync(s.clone, { recursive: true });

    const { result } = await sync(fileTarget(s));

    expect(result).toMatchObject({ outcome: 'updated', branchFrom: null, tagsAdded: ['1.0.0+1.2.3'] });
    expect(refOf(s.mirror, 'refs/heads/main')).toBe(refOf(s.upstream, 'main'));
    expect(existsSync(path.join(s.clone, '.git'))).toBe(true);
    expect(refOf(s.clone, 'refs/remotes/ccci-upstream/main')).toBe(refOf(s.upstream, 'main'));
  });

  it('does not push at all when the mirror is in sync, over at most two connections', async () => {
    const s = makeScenario(base);
    const server = await startGitHttpServer({ root: s.root });
    try {
      const t: MirrorTarget = {
        ...fileTarget(s),
        upstreamUrl: `${server.url}/coop-cloud/${s.recipe}.git`,
        mirrorUrl: `${server.url}/recipe-maintainers/${s.recipe}.git`,
      };
      const first = await sync(t);
      expect(first.result.outcome).toBe('in-sync');
      server.requests.length = 0;

      const { result } = await sync(t);

      expect(result).toMatchObject({ outcome: 'in-sync', tagsAdded: [], tagConflicts: [] });
      expect(result.branchFrom).toBe(result.branchTo);
      expect(server.requests.filter((r) => r.service === 'git-receive-pack')).toEqual([]);
      // One ref advertisement per remote: the ls-remote of upstream and of the mirror, no fetch.
      expect(server.requests.filter((r) => r.path.endsWith('/info/refs'))).toHaveLength(2);
    } finally {
      await server.close();
    }
  });

  it('leaves a diverged mirror branch alone but still adds tags', async () => {
    const s = makeScenario(base);
    const side = path.join(path.dirname(s.work), 'side');
    git(path.dirname(side), 'clone', '--quiet', s.mirror, side);
    const mirrorOnly = s.commit('commit only the mirror has', side);
    git(side, 'push', '--quiet', 'origin', 'main');
    s.commit('upstream moves on');
    const tagObj = s.tag('1.1.0+1.2.4');
    s.publish();

    const { result, output } = await sync(fileTarget(s));

    expect(result).toMatchObject({ outcome: 'diverged', branchFrom: mirrorOnly, tagsAdded: ['1.1.0+1.2.4'] });
    expect(refOf(s.mirror, 'refs/heads/main')).toBe(mirrorOnly);
    expect(refOf(s.mirror, 'refs/tags/1.1.0+1.2.4')).toBe(tagObj);
    expect(output).toContain('has commits upstream');
  });

  it('reports a moved tag as a conflict and never overwrites the mirror or local tag', async () => {
    const s = makeScenario(base);
    const oldTag = refOf(s.mirror, 'refs/tags/1.0.0+1.2.3');
    s.commit('retagged');
    const newTag = s.tag('1.0.0+1.2.3');
    s.publish();

    const { result } = await sync(fileTarget(s));

    expect(result.outcome).toBe('tag-conflict');
    expect(result.tagConflicts).toEqual([{ tag: '1.0.0+1.2.3', upstream: newTag, mirror: oldTag }]);
    expect(result.tagsAdded).toEqual([]);
    expect(refOf(s.mirror, 'refs/tags/1.0.0+1.2.3')).toBe(oldTag);
    expect(refOf(s.clone, 'refs/tags/1.0.0+1.2.3')).toBe(oldTag); // the clone's own tag is kept too
    expect(refOf(s.mirror, 'refs/heads/main')).toBe(refOf(s.upstream, 'main')); // the branch still moved
  });

  it('in dry-run reads, reports what it would do, and writes nothing', async () => {
    const s = makeScenario(base);
    s.commit('new release');
    s.tag('1.1.0+1.2.4');
    s.publish();
    const server = await startGitHttpServer({ root: s.root });
    const mirrorBefore = s.refs(s.mirror);
    const cloneBefore = s.refs(s.clone);
    try {
      const { result, output } = await sync({
        ...fileTarget(s),
        upstreamUrl: `${server.url}/coop-cloud/${s.recipe}.git`,
        mirrorUrl: `${server.url}/recipe-maintainers/${s.recipe}.git`,
      }, true);

      expect(result.outcome).toBe('updated');
      expect(result.error).toBeUndefined();
      expect(result.wouldDo).toEqual([
        expect.stringMatching(/^fetch main [0-9a-f]{7} and 1 tags from /), // only what the clone lacks
        expect.stringMatching(/^push main [0-9a-f]{7}\.\.[0-9a-f]{7} to mirror .* if it is a fast-forward$/),
        expect.stringMatching(/^push 1 tags \(1\.1\.0\+1\.2\.4\) to mirror /),
      ]);
      expect(output).toContain('dry-run: not acting');
      expect(server.requests.filter((r) => r.service === 'git-receive-pack')).toEqual([]);
      expect(s.refs(s.mirror)).toBe(mirrorBefore);
      expect(s.refs(s.clone)).toBe(cloneBefore);
    } finally {
      await server.close();
    }
  });

  it('returns an error outcome naming the step instead of throwing', async () => {
    const s = makeScenario(base);
    const { result } = await sync({ ...fileTarget(s), mirrorUrl: `file://${s.root}/nowhere/${s.recipe}.git` });
    expect(result.outcome).toBe('error');
    expect(result.error?.step).toBe('ls-remote');
    expect(result.error?.message).toMatch(/git ls-remote \S+ failed: fatal: /);
  });
});
