// SIGINT/SIGTERM during mirror-sync stop in-flight git and Gitea calls at once: through the built CLI, with
// loopback servers that accept a request and never answer (git's own stall limit is 60 s, a Gitea call's
// deadline 30 s, each retried: without the stop, the sweep would sit there for minutes).
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, control, launches, sandbox, startCli, until } from '../support/cli.js';
import { addRelease } from '../support/sandbox.js';

/** Accepts every request and never answers. */
async function stalledServer() {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req) => requests.push(`${req.method} ${req.url}`));
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url, requests, sockets,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** The CLI's exit code, or a failure naming what it was doing if it has not stopped long after the signal. */
async function exitOf(p: ReturnType<typeof startCli>, what: string): Promise<number | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`the sweep did not stop after the signal (${what})`)); }, 20_000);
  });
  try {
    return (await Promise.race([p, late])).exitCode;
  } finally {
    clearTimeout(timer);
  }
}

describe('a signal during mirror-sync', () => {
  it('SIGTERM stops a git transfer that hangs, at once, and exits 143', async () => {
    const server = await stalledServer();
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    try {
      const p = startCli(sb, ['sync', '--json'], {
        CCCI_UPSTREAM_URL: `${server.url}/upstream/{recipe}.git`, CCCI_MIRROR_URL: `${server.url}/mirror/{recipe}.git`,
      });
      await until('git to reach the stalled server', () => server.requests.length >= 2);
      p.kill('SIGTERM');
      expect(await exitOf(p, 'git ls-remote')).toBe(143);
      // git and its transport helper are gone: nothing holds a connection to the server any more.
      await until('the connections to close', () => server.sockets.size === 0);
    } finally {
      await server.close();
      rmSync(sb.root, { recursive: true, force: true });
    }
  });

  it('SIGINT stops a Gitea call that hangs, at once, and exits 130', async () => {
    const gitea = await stalledServer();
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    try {
      const mirrors = path.join(sb.root, 'maintainers');
      execFileSync('git', ['clone', '--quiet', '--mirror', path.join(sb.upstreamDir, 'gitea.git'), path.join(mirrors, 'gitea.git')]);
      const tokenFile = path.join(sb.root, 'token');
      writeFileSync(tokenFile, 'tok-signal-test-1234\n', { mode: 0o600 });
      const p = startCli(sb, ['run', '--json'], {
        CCCI_MIRROR_URL: `file://${mirrors}/{recipe}.git`, CCCI_GITEA_API: `${gitea.url}/api/v1`, CCCI_MIRROR_TOKEN_FILE: tokenFile,
      });
      await until('the Gitea call to reach the stalled server', () => gitea.requests.length >= 1);
      expect(gitea.requests[0]).toMatch(/^GET \/api\/v1\/repos\/maintainers\/gitea\/pulls/);
      p.kill('SIGINT');
      expect(await exitOf(p, 'Gitea GET /pulls')).toBe(130);
      await until('the connection to close', () => gitea.sockets.size === 0);
      expect(gitea.requests).toHaveLength(1); // not retried after the stop
    } finally {
      await gitea.close();
      rmSync(sb.root, { recursive: true, force: true });
    }
  });

  it('SIGTERM while a webhook never answers: exit 143 at once, no stack trace, the hook\'s secret path never shown', async () => {
    const hook = await stalledServer();
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    try {
      const url = `${hook.url}/hooks/s3cret-signal-path`;
      control(sb, { gitea: { exit: 1 } }); // a first failure: announced
      const p = startCli(sb, ['run', '--notify', url], {});
      let stderr = '';
      p.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
      await until('the notification to reach the stalled receiver', () => hook.requests.length >= 1);
      p.kill('SIGTERM');
      expect(await exitOf(p, 'a webhook POST')).toBe(143);
      await until('the connection to close', () => hook.sockets.size === 0);
      expect(hook.requests).toEqual(['POST /hooks/s3cret-signal-path']); // not retried after the stop
      expect(stderr).not.toMatch(/\n\s+at |s3cret-signal-path/);
    } finally {
      await hook.close();
      rmSync(sb.root, { recursive: true, force: true });
    }
  });

  it('SIGTERM while a release is being fetched stops git at once: interrupted, exit 143', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    try {
      // The clone exists and lacks the new release, so the run must fetch it (a clone that already holds
      // the listed commit under its own tag is tested without a fetch).
      expect((await cli(sb, ['run', '--json', '--no-sync'])).exitCode).toBe(0);
      await addRelease(sb, 'gitea', { tag: '1.1.0' });
      // A git whose fetches hang (as over a stalled link); everything else is the real git.
      const bin = path.join(sb.root, 'slow-git');
      const marker = path.join(sb.root, 'fetching');
      const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
      mkdirSync(bin);
      writeFileSync(path.join(bin, 'git'), `#!/bin/sh\ncase " $* " in *" fetch "*) : > '${marker}'; sleep 300;; esac\nexec '${real}' "$@"\n`, { mode: 0o755 });
      const p = startCli(sb, ['run', '--json', '--no-sync'], { PATH: `${bin}:${process.env.PATH}` });
      await until('the fetch to start', () => existsSync(marker));
      p.kill('SIGTERM');
      expect(await exitOf(p, 'git fetch')).toBe(143);
      const doc = JSON.parse(String((await p).stdout));
      expect(doc.recipes[0]).toMatchObject({ recipe: 'gitea', tag: '1.1.0', outcome: 'interrupted' });
      expect(launches(sb).filter((l) => !l.script.includes('seed')).map((l) => l.env.CCCI_SWEEP_TAG)).toEqual(['1.0.0']);
    } finally {
      rmSync(sb.root, { recursive: true, force: true });
    }
  });

  it('many recipes share the stop signal without a listener-leak warning', async () => {
    const sb = await sandbox(Array.from({ length: 12 }, (_, i) => ({ name: `r${i}`, releases: [{ tag: '1.0.0' }] })));
    try {
      const r = await cli(sb, ['run', '--json', '--jobs', '4']);
      expect(r.exitCode).toBe(0);
      expect(r.stderr).not.toContain('MaxListenersExceededWarning');
    } finally {
      rmSync(sb.root, { recursive: true, force: true });
    }
  });
});
