// Gitea API calls go through the proxy the environment names, as git's own do (curl's rules): http_proxy
// for an http API, https_proxy for an https one, no_proxy for exceptions. Through the built CLI, with a
// loopback proxy that forwards plain requests and CONNECT tunnels and records what it carried.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, cliJson, launches, sandbox } from '../support/cli.js';
import { startGiteaServer } from '../support/gitea-server.js';
import { startProxy } from '../support/proxy.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function world() {
  const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
  cleanups.push(() => rmSync(sb.root, { recursive: true, force: true }));
  const mirrors = path.join(sb.root, 'maintainers');
  execFileSync('git', ['clone', '--quiet', '--mirror', path.join(sb.upstreamDir, 'gitea.git'), path.join(mirrors, 'gitea.git')]);
  const gitea = await startGiteaServer({ token: 'tok-proxy-test-5678' });
  cleanups.push(() => gitea.close());
  gitea.addRepo('maintainers/gitea');
  const proxy = await startProxy({ forward: true });
  cleanups.push(() => proxy.close());
  const tokenFile = path.join(sb.root, 'token');
  writeFileSync(tokenFile, 'tok-proxy-test-5678\n', { mode: 0o600 });
  const env = { CCCI_MIRROR_URL: `file://${mirrors}/{recipe}.git`, CCCI_GITEA_API: gitea.api, CCCI_MIRROR_TOKEN_FILE: tokenFile };
  return { sb, gitea, proxy, env, giteaHost: new URL(gitea.api).host };
}

describe('Gitea API calls and the proxy settings', () => {
  it('go through http_proxy for an http API', async () => {
    const w = await world();
    const { r, doc } = await cliJson(w.sb, ['sync'], { ...w.env, http_proxy: w.proxy.url });
    expect(r.exitCode).toBe(0);
    expect(doc.recipes[0]).toMatchObject({ recipe: 'gitea', outcome: 'in-sync' });
    expect(w.gitea.requests.map((q) => [q.method, q.path, q.auth])).toEqual([['GET', '/api/v1/repos/maintainers/gitea/pulls', 'ok']]);
    expect(w.proxy.seen.some((s) => s.includes(w.giteaHost))).toBe(true);
  });

  it('connect directly for a host in no_proxy, and ignore https_proxy for an http API', async () => {
    const w = await world();
    const bypass = await cliJson(w.sb, ['sync'], { ...w.env, http_proxy: w.proxy.url, no_proxy: '127.0.0.1' });
    expect(bypass.doc.recipes[0]).toMatchObject({ outcome: 'in-sync' });
    const other = await cliJson(w.sb, ['sync'], { ...w.env, https_proxy: w.proxy.url, HTTPS_PROXY: w.proxy.url });
    expect(other.doc.recipes[0]).toMatchObject({ outcome: 'in-sync' });
    expect(w.gitea.requests).toHaveLength(2);
    expect(w.proxy.seen).toEqual([]);
  });

  it('go through all_proxy or ALL_PROXY when no scheme-specific proxy is set, as git does; no_proxy still applies', async () => {
    const w = await world();
    for (const name of ['all_proxy', 'ALL_PROXY']) {
      const { r, doc } = await cliJson(w.sb, ['sync'], { ...w.env, [name]: w.proxy.url });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(doc.recipes[0]).toMatchObject({ outcome: 'in-sync' });
    }
    expect(w.proxy.seen.filter((s) => s.includes(w.giteaHost))).toHaveLength(2);
    const bypass = await cliJson(w.sb, ['sync'], { ...w.env, ALL_PROXY: w.proxy.url, NO_PROXY: '127.0.0.1' });
    expect(bypass.doc.recipes[0]).toMatchObject({ outcome: 'in-sync' });
    expect(w.proxy.seen.filter((s) => s.includes(w.giteaHost))).toHaveLength(2);
    expect(w.gitea.requests).toHaveLength(3);
  });

  it('refuse a SOCKS proxy for the API at the start (exit 2, one line), unless no_proxy exempts the API host', async () => {
    const w = await world();
    const r = await cli(w.sb, ['sync'], { ...w.env, ALL_PROXY: 'socks5://user:pw@127.0.0.1:9' });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`ccci-sweep: ALL_PROXY is not an http(s) proxy (socks5://***@127.0.0.1:9), and the Gitea API (http://${w.giteaHost}) ` +
      'would go through it: set http_proxy to an http:// or https:// proxy, or add 127.0.0.1 to no_proxy');
    expect(w.gitea.requests).toEqual([]);
    // run (and its dry-run) refuse it the same way, before any recipe is looked at.
    for (const args of [['run'], ['run', '--dry-run']]) {
      const again = await cli(w.sb, args, { ...w.env, https_proxy: 'socks5h://127.0.0.1:9', http_proxy: 'socks4://127.0.0.1:9' });
      expect(again.exitCode, again.stderr).toBe(2);
      expect(again.stderr).toMatch(/^ccci-sweep: http_proxy is not an http\(s\) proxy \(socks4:\/\/127\.0\.0\.1:9\), .*make http_proxy an http:\/\/ or https:\/\/ proxy, or add 127\.0\.0\.1 to no_proxy$/);
    }
    expect(launches(w.sb)).toEqual([]);
    // Exempted: the calls go straight to Gitea, as git's own would.
    const exempt = await cliJson(w.sb, ['sync'], { ...w.env, ALL_PROXY: 'socks5://user:pw@127.0.0.1:9', NO_PROXY: 'localhost,127.0.0.1' });
    expect(exempt.r.exitCode, exempt.r.stderr).toBe(0);
    expect(exempt.doc.recipes[0]).toMatchObject({ outcome: 'in-sync' });
    expect(w.gitea.requests).toHaveLength(1);
    expect(r.stdout + r.stderr + exempt.r.stdout + exempt.r.stderr).not.toContain('pw@');
  });

  it('refuse a SOCKS proxy for a --notify URL and a CI server at the start, before anything runs', async () => {
    const w = await world();
    const { CCCI_MIRROR_TOKEN_FILE: _, ...noToken } = w.env;
    const socks = { ALL_PROXY: 'socks5://127.0.0.1:9' };
    const hook = await cli(w.sb, ['run', '--notify', 'https://hooks.example.invalid/s3cret-hook'], { ...noToken, ...socks });
    expect(hook.exitCode).toBe(2);
    expect(hook.stderr).toBe('ccci-sweep: ALL_PROXY is not an http(s) proxy (socks5://127.0.0.1:9), and a --notify URL (https://hooks.example.invalid) ' +
      'would go through it: set https_proxy to an http:// or https:// proxy, or add hooks.example.invalid to no_proxy');
    expect(hook.stderr).not.toContain('s3cret-hook');
    const tokenFile = path.join(w.sb.root, 'ci-token');
    writeFileSync(tokenFile, 'tok-ci-proxy-1\n', { mode: 0o600 });
    const ci = await cli(w.sb, ['run', '--executor', 'drone', '--ci-server', 'http://ci.example.invalid:8080', '--ci-repo', 'coop/cc-ci', '--ci-token-file', tokenFile], { ...noToken, ...socks });
    expect(ci.exitCode).toBe(2);
    expect(ci.stderr).toBe('ccci-sweep: ALL_PROXY is not an http(s) proxy (socks5://127.0.0.1:9), and the CI server (http://ci.example.invalid:8080) ' +
      'would go through it: set http_proxy to an http:// or https:// proxy, or add ci.example.invalid to no_proxy');
    expect(launches(w.sb)).toEqual([]);
    expect(w.gitea.requests).toEqual([]);
  });

  it('tunnel through https_proxy (CONNECT) for an https API, and ignore http_proxy for it', async () => {
    const w = await world();
    // A self-signed loopback Gitea over TLS that the CLI trusts through NODE_EXTRA_CA_CERTS.
    const key = path.join(w.sb.root, 'key.pem');
    const cert = path.join(w.sb.root, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const seen: string[] = [];
    const tls = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization === 'token tok-proxy-test-5678' ? 'auth' : 'no-auth'}`);
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Total-Count': '0' }).end('[]');
    });
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => { tls.closeAllConnections(); tls.close(() => r()); }));
    const api = `https://127.0.0.1:${(tls.address() as AddressInfo).port}/api/v1`;
    const env = { ...w.env, CCCI_GITEA_API: api, NODE_EXTRA_CA_CERTS: cert };

    const direct = await cliJson(w.sb, ['sync'], { ...env, http_proxy: w.proxy.url });
    expect(direct.doc.recipes[0]).toMatchObject({ outcome: 'in-sync' });
    expect(w.proxy.seen).toEqual([]);

    const tunnelled = await cliJson(w.sb, ['sync'], { ...env, https_proxy: w.proxy.url });
    expect(tunnelled.doc.recipes[0]).toMatchObject({ outcome: 'in-sync' });
    expect(w.proxy.seen).toEqual([`CONNECT ${new URL(api).host}`]);
    expect(seen).toEqual(['GET /api/v1/repos/maintainers/gitea/pulls?state=open&page=1&limit=50 auth', 'GET /api/v1/repos/maintainers/gitea/pulls?state=open&page=1&limit=50 auth']);
  });
});
