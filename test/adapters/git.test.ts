// The git adapter against real repos: complete output under load, and peeled tag commits.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { until } from '../support/cli.js';
import { gitEnv, isRemovedFromGit, lsRemoteTags, redact, remoteDefaultBranch, runGit } from '../../src/adapters/git.js';
import { parseLsRemote, tagTargets } from '../../src/core/refs.js';

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
  it('cannot hold the sweep: a listing that stalls gives up after git\'s low-speed time', async () => {
    // Accepts the connection, then never answers.
    const server = http.createServer(() => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const saved = process.env.GIT_HTTP_LOW_SPEED_TIME;
    process.env.GIT_HTTP_LOW_SPEED_TIME = '2'; // the sweep's default is 60 s; an operator's setting wins
    try {
      // The server never answers: the call returning at all (within the test's own timeout) is the proof.
      await expect(lsRemoteTags(`http://127.0.0.1:${port}/x.git`, { env: process.env })).rejects.toThrow(/ls-remote \S+: too slow, less than 1000 bytes\/s for 2 s \(GIT_HTTP_LOW_SPEED_LIMIT\/GIT_HTTP_LOW_SPEED_TIME\)/);
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
    const all = await Promise.all(Array.from({ length: 24 }, () => lsRemoteTags(url, { env: process.env })));
    for (const tags of all) {
      expect(tags.size).toBe(1500);
      expect(tags.get('1499.0.0+1.1499')).toBe(head);
    }
    expect(await remoteDefaultBranch(url, { env: process.env })).toBe('main');
  });

  it('prefers the peeled commit of an annotated tag', () => {
    const tags = tagTargets(parseLsRemote('aaa\trefs/tags/1.0.0\nbbb\trefs/tags/1.0.0^{}\nccc\trefs/tags/light\nddd\trefs/heads/main\n'));
    expect(Object.fromEntries(tags)).toEqual({ '1.0.0': 'bbb', light: 'ccc' });
  });
});

describe('gitEnv', () => {
  it('removes what would redirect, prompt, page or trace, keeps the operator\'s config, appends the token header', () => {
    const base = {
      PATH: '/bin', HOME: '/home/op', GIT_DIR: '/elsewhere/.git', GIT_WORK_TREE: '/elsewhere', GIT_NAMESPACE: 'ns',
      GIT_EXEC_PATH: '/other/git-core', GIT_TRACE_CURL: '1', EDITOR: 'vi', PAGER: 'less', LANGUAGE: 'de',
      GIT_CONFIG_GLOBAL: '/home/op/.gitconfig-ci', GIT_CONFIG_SYSTEM: '/etc/gitconfig-ci', PREFIX: '/usr',
      GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'credential.helper', GIT_CONFIG_VALUE_0: 'store', https_proxy: 'http://proxy:3128',
    };
    const env = gitEnv(base, { token: 'tok-unit-12345678', authUrl: 'https://ci.example.invalid/owner/app.git' });
    for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_NAMESPACE', 'GIT_EXEC_PATH', 'GIT_TRACE_CURL', 'EDITOR', 'PAGER', 'LANGUAGE']) {
      expect(env[k], k).toBeUndefined();
    }
    expect(env).toMatchObject({
      GIT_CONFIG_GLOBAL: base.GIT_CONFIG_GLOBAL, GIT_CONFIG_SYSTEM: base.GIT_CONFIG_SYSTEM, PREFIX: '/usr', https_proxy: base.https_proxy,
      GIT_CONFIG_KEY_0: 'credential.helper', GIT_CONFIG_VALUE_0: 'store',
      GIT_CONFIG_COUNT: '2', GIT_CONFIG_KEY_1: 'http.https://ci.example.invalid/.extraHeader', GIT_CONFIG_VALUE_1: 'Authorization: token tok-unit-12345678',
      GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', GIT_HTTP_LOW_SPEED_LIMIT: '1000',
    });
    expect(gitEnv({ GIT_HTTP_LOW_SPEED_TIME: '5' }).GIT_HTTP_LOW_SPEED_TIME).toBe('5');
    expect(isRemovedFromGit('GIT_CEILING_DIRECTORIES')).toBe(true);
    expect(isRemovedFromGit('GIT_SSH_COMMAND')).toBe(false);
  });

  it('redacts URL passwords from messages', () => {
    expect(redact('git ls-remote https://bot:s3cret@forge.example.invalid/a.git failed')).toBe('git ls-remote https://***@forge.example.invalid/a.git failed');
  });
});

describe('runGit', () => {
  it('stops git\'s whole process group at the deadline, and on the signal at once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ccci-git-'));
    const pidFile = path.join(dir, 'child.pid');
    // An alias that starts a long-lived child and waits for it: both must go, not git alone.
    const args = ['-c', `alias.hang=!sleep 300 & echo $! > '${pidFile}'; wait`, 'hang'];
    const gone = (pid: number) => { try { process.kill(pid, 0); return false; } catch { return true; } };
    const childOf = async () => {
      while (!existsSync(pidFile) || !readFileSync(pidFile, 'utf8').trim()) await new Promise((r) => setTimeout(r, 20));
      return Number(readFileSync(pidFile, 'utf8'));
    };
    await expect(runGit(args, { cwd: dir, env: process.env, timeoutMs: 2000 })).rejects.toThrow(/timed out after 2000 ms/);
    const first = await childOf();
    await until('the child of the timed-out git to be gone', () => gone(first));
    rmSync(pidFile);

    const ctl = new AbortController();
    const running = runGit(args, { cwd: dir, env: process.env, signal: ctl.signal, timeoutMs: 0 });
    const second = await childOf();
    ctl.abort();
    await expect(running).rejects.toThrow(/stopped, the sweep was stopped/);
    await until('the child of the stopped git to be gone', () => gone(second));
  });
});
