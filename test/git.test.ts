// The git adapter against real repos: complete output under load, and peeled tag commits.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lsRemoteTags, parseLsRemote, remoteDefaultBranch, tagTargets } from '../src/git.js';

function repoWithTags(n: number): { url: string; head: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'ccci-git-'));
  const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' };
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  execFileSync('git', ['commit', '-q', '--allow-empty', '-m', 'x'], { cwd: dir, env });
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();
  const lines = Array.from({ length: n }, (_, i) => `create refs/tags/${i}.0.0+1.${i} ${head}\n`).join('');
  execFileSync('git', ['update-ref', '--stdin'], { cwd: dir, input: lines });
  return { url: `file://${dir}`, head };
}

describe('a stalled remote', () => {
  it('cannot hold the sweep: git gives up on a transfer that stalls', async () => {
    // Accepts the connection, then never answers.
    const server = http.createServer(() => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const saved = process.env.GIT_HTTP_LOW_SPEED_TIME;
    process.env.GIT_HTTP_LOW_SPEED_TIME = '2'; // the sweep's default is 60 s; an operator's setting wins
    try {
      // The server never answers: the call returning at all (within the test's own timeout) is the proof.
      await expect(lsRemoteTags(`http://127.0.0.1:${port}/x.git`)).rejects.toThrow(/git ls-remote/);
    } finally {
      if (saved === undefined) delete process.env.GIT_HTTP_LOW_SPEED_TIME;
      else process.env.GIT_HTTP_LOW_SPEED_TIME = saved;
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('lsRemoteTags', () => {
  it('returns every tag, even with many listings at once (no output cut short)', async () => {
    const { url, head } = repoWithTags(1500); // ~100 KB of ls-remote output
    const all = await Promise.all(Array.from({ length: 24 }, () => lsRemoteTags(url)));
    for (const tags of all) {
      expect(tags.size).toBe(1500);
      expect(tags.get('1499.0.0+1.1499')).toBe(head);
    }
    expect(await remoteDefaultBranch(url)).toBe('main');
  });

  it('prefers the peeled commit of an annotated tag', () => {
    const tags = tagTargets(parseLsRemote('aaa\trefs/tags/1.0.0\nbbb\trefs/tags/1.0.0^{}\nccc\trefs/tags/light\nddd\trefs/heads/main\n'));
    expect(Object.fromEntries(tags)).toEqual({ '1.0.0': 'bbb', light: 'ccc' });
  });
});
