// Big inputs stay bounded: a clone and a mirror lacking thousands of upstream tags are brought up to date
// in batches (each fetch and push with its own deadline), not in one transfer that never completes.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createWriter } from '../../../src/adapters/writer.js';
import { syncMirror } from '../../../src/sweep/mirror-sync.js';
import { TAG_BATCH } from '../../../src/sweep/mirror-sync.js';
import { UPSTREAM_TAGS } from '../../../src/adapters/git.js';
import { captureLogger, FAST_RETRY, git, makeScenario, setupGitEnv } from './fixtures.js';

const { base, argvLog } = setupGitEnv();
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** `n` lightweight tags upstream, each on a commit of its own that the clone and the mirror lack. One process. */
function manyTags(repo: string, n: number): void {
  const head = git(repo, 'rev-parse', 'refs/heads/main');
  let script = '';
  for (let i = 0; i < n; i++) {
    const msg = `bulk ${i}\n`;
    script += `commit refs/tags/2.${Math.floor(i / 100)}.${i % 100}\ncommitter t <t@example.invalid> 0 +0000\ndata ${msg.length}\n${msg}from ${head}\n\n`;
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: repo, input: script });
}

const count = (repo: string, prefix: string) => git(repo, 'for-each-ref', '--format=x', prefix).split('\n').filter(Boolean).length;

describe('a clone and a mirror lacking thousands of upstream tags', () => {
  it('are brought up to date in batched fetches and pushes', async () => {
    const s = makeScenario(base);
    const n = 2 * TAG_BATCH + 500;
    manyTags(s.upstream, n);
    writeFileSync(argvLog, '');
    const { log } = captureLogger();
    const t = { recipe: s.recipe, cloneDir: s.clone, giteaApi: 'http://127.0.0.1:9/api/v1', upstreamUrl: `file://${s.upstream}`, mirrorUrl: `file://${s.mirror}` };

    const r = await syncMirror(t, { token: undefined, writer: createWriter(false, log), log, retry: FAST_RETRY, env: process.env });

    expect(r.error).toBeUndefined();
    expect(r.outcome).toBe('updated');
    expect(r.tagsAdded).toHaveLength(n);
    const calls = readFileSync(argvLog, 'utf8').split('\n').filter(Boolean);
    const fetches = calls.filter((c) => / fetch /.test(` ${c} `) && c.includes(`file://${s.upstream}`));
    const pushes = calls.filter((c) => / push /.test(` ${c} `));
    expect(fetches).toHaveLength(3);
    expect(pushes).toHaveLength(3);
    // At most one batch of refspecs (plus the branch and a dozen options) per call.
    for (const c of [...fetches, ...pushes]) expect(c.split(' ').length).toBeLessThan(TAG_BATCH + 15);
    expect(count(s.mirror, 'refs/tags/')).toBe(n + 1);
    expect(count(s.clone, 'refs/tags/')).toBe(n + 1);
    expect(count(s.clone, `${UPSTREAM_TAGS}/`)).toBe(n + 1);

    // Nothing left to do: no fetch and no push the second time.
    writeFileSync(argvLog, '');
    const again = await syncMirror(t, { token: undefined, writer: createWriter(false, log), log, retry: FAST_RETRY, env: process.env });
    expect(again.outcome).toBe('in-sync');
    expect(readFileSync(argvLog, 'utf8').split('\n').filter((c) => / (fetch|push) /.test(` ${c} `))).toEqual([]);
  });

  it('forgets upstream tags that upstream deleted, in its own namespace only', async () => {
    const s = makeScenario(base);
    s.commit('two');
    s.tag('1.1.0+1.2.4');
    s.publish();
    const { log } = captureLogger();
    const t = { recipe: s.recipe, cloneDir: s.clone, giteaApi: 'http://127.0.0.1:9/api/v1', upstreamUrl: `file://${s.upstream}`, mirrorUrl: `file://${s.mirror}` };
    await syncMirror(t, { token: undefined, writer: createWriter(false, log), log, retry: FAST_RETRY, env: process.env });
    expect(count(s.clone, `${UPSTREAM_TAGS}/1.1.0+1.2.4`)).toBe(1);
    git(s.upstream, 'tag', '-d', '1.1.0+1.2.4');
    s.commit('three');
    git(s.work, 'push', '--quiet', s.upstream, 'main:main');
    await syncMirror(t, { token: undefined, writer: createWriter(false, log), log, retry: FAST_RETRY, env: process.env });
    expect(count(s.clone, `${UPSTREAM_TAGS}/1.1.0+1.2.4`)).toBe(0);
    expect(count(s.clone, 'refs/tags/1.1.0+1.2.4')).toBe(1); // the clone's own tag is the operator's
  });
});
