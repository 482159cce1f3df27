// The Gitea, CI and webhook clients over the one HTTP stack (src/adapters/http-transport.ts), against real
// loopback servers: a proxy that drops every CONNECT, a CONNECT proxy with credentials in front of an https
// server of a private CA, and a SOCKS proxy that applies or that no_proxy exempts.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { giteaClient } from '../../src/adapters/gitea.js';
import { ciHttp } from '../../src/adapters/ci/http.js';
import { postJson } from '../../src/adapters/notify.js';
import { createLogger } from '../../src/adapters/log.js';
import { AuthFailure, TransientError } from '../../src/adapters/retry.js';
import { CiError, ConfigError, MirrorError } from '../../src/core/errors.js';
import { refuseUnusableProxy } from '../../src/adapters/http-transport.js';
import { closeServer } from '../support/http.js';
import { dropper, startProxy } from '../support/proxy.js';
import { privateCa } from '../support/tls.js';

const root = mkdtempSync(path.join(tmpdir(), 'ccci-http-clients-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const GITEA_TOKEN = 'tok-gitea-clients-7731';
const CI_TOKEN = 'tok-ci-clients-5520';
const FAST = { tries: 3, baseDelayMs: 5 };

function logger() {
  let out = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  return { log: createLogger({ stream, json: true, level: 'debug', env: {} }), lines: () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const failure = (p: Promise<unknown>) => p.then(() => new Error('no error'), (e: unknown) => e as Error);

interface Seen { method: string; url: string; host: string; auth?: string; body: string; encoding?: string }

/** A loopback server (http, or https with `tls`) that records each request and answers with `answer`. */
async function server(answer: (q: Seen, res: http.ServerResponse) => void, tls?: { key: Buffer; cert: Buffer }) {
  const seen: Seen[] = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const q = { method: req.method ?? '', url: req.url ?? '', host: req.headers.host ?? '', auth: req.headers.authorization, body, encoding: req.headers['accept-encoding'] };
      seen.push(q);
      answer(q, res);
    });
  };
  const srv = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return { origin: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, port, seen, close: () => closeServer(srv) };
}

/** Answers as the three services would: Gitea's pulls, comment and close; a CI server's builds; a webhook. */
function services(q: Seen, res: http.ServerResponse): void {
  const json = (status: number, body: unknown, headers: Record<string, string> = {}): void =>
    void res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
  if (q.url.startsWith('/api/v1/repos/o/r/pulls?')) {
    return json(q.auth === `token ${GITEA_TOKEN}` ? 200 : 401, [{ number: 4, title: 'bump', head: { sha: 'a'.repeat(40) } }], { 'X-Total-Count': '1' });
  }
  if (q.url === '/api/v1/repos/o/r/issues/4/comments' && q.method === 'POST') return json(201, { id: 1 });
  if (q.url === '/api/v1/repos/o/r/pulls/4' && q.method === 'PATCH') return json(201, { number: 4, state: 'closed' });
  if (q.url.startsWith('/api/repos/o/r/builds')) return json(q.auth === `Bearer ${CI_TOKEN}` ? 200 : 401, q.method === 'POST' ? { number: 9 } : []);
  if (q.url === '/hooks/s3cret' && q.method === 'POST') return void res.writeHead(204).end();
  json(404, { message: 'not found' });
}

describe('the Gitea, CI and webhook clients through a proxy', () => {
  it('a proxy that drops every CONNECT costs one connection per attempt the caller allows, and one clear line each', async () => {
    // Before: undici's proxy agent reconnected in a hot loop (thousands of connections a second) until the deadline.
    const proxy = await dropper();
    const shown = `http://\\*\\*\\*@127\\.0\\.0\\.1:${proxy.port}`;
    const env = { https_proxy: `http://pu:proxy-secret-1@127.0.0.1:${proxy.port}` };
    const target = 'https://127.0.0.1:8443'; // never reached: the proxy drops the CONNECT
    const { log, lines } = logger();
    try {
      // Gitea: retried as transient, 3 tries, so at most 3 connections.
      const gitea = giteaClient({ api: `${target}/api/v1`, owner: 'o', repo: 'r', token: GITEA_TOKEN, timeoutMs: 3000, retry: FAST, log, env });
      const e1 = await failure(gitea.listOpenPulls());
      expect(e1).toBeInstanceOf(TransientError);
      expect(e1.message).toMatch(new RegExp(`^Gitea GET /pulls\\?state=open&page=1&limit=50: proxy ${shown} closed the connection before the tunnel was open( \\(\\w+\\))?$`));
      expect(proxy.connections()).toBeGreaterThan(0);
      expect(proxy.connections()).toBeLessThanOrEqual(FAST.tries);
      // CI: one call is one attempt (the poll loop asks again later).
      const before = proxy.connections();
      const e2 = await failure(ciHttp('Drone', { server: target, token: CI_TOKEN, env, timeoutMs: 3000 })('GET', '/api/repos/o/r/builds'));
      expect(e2).toBeInstanceOf(CiError);
      expect(e2.message).toMatch(new RegExp(`^Drone GET /api/repos/o/r/builds: proxy ${shown} closed the connection before the tunnel was open`));
      expect(proxy.connections() - before).toBe(1);
      // A webhook: its own 2 attempts, so 2 connections, and a warning for each.
      const before2 = proxy.connections();
      expect(await postJson(`${target}/hooks/s3cret`, { recipe: 'x' }, { env, log, attempts: 2, backoffMs: 1, timeoutMs: 3000 })).toBe(false);
      expect(proxy.connections() - before2).toBe(2);
      const warnings = lines().filter((l) => l.to === target);
      expect(warnings.map((w) => w.msg)).toEqual(['notification failed; retrying', 'notification not delivered']);
      expect(String(warnings[0]!.why)).toMatch(/closed the connection before the tunnel was open/);
      for (const m of [e1.message, e2.message, JSON.stringify(lines())]) {
        expect(m).not.toContain('proxy-secret-1');
        expect(m).not.toContain(GITEA_TOKEN);
        expect(m).not.toContain(CI_TOKEN);
      }
    } finally {
      await proxy.close();
    }
  });

  it('tunnel through a CONNECT proxy with credentials to an https server of a private CA git is told of; 407 and an untrusted certificate are final', async () => {
    const ca = privateCa(path.join(root, 'tls'));
    const api = await server(services, ca);
    const proxy = await startProxy({ auth: 'pu:pw' });
    const { log } = logger();
    const env = { https_proxy: proxy.url.replace('//', '//pu:pw@'), GIT_SSL_CAINFO: ca.ca };
    try {
      const gitea = giteaClient({ api: `${api.origin}/api/v1`, owner: 'o', repo: 'r', token: GITEA_TOKEN, timeoutMs: 10_000, retry: FAST, log, env });
      expect(await gitea.listOpenPulls()).toEqual([{ number: 4, title: 'bump', headSha: 'a'.repeat(40) }]);
      await gitea.comment(4, 'closed: already upstream');
      await gitea.close(4);
      const ci = ciHttp('Woodpecker', { server: api.origin, token: CI_TOKEN, env, timeoutMs: 10_000 });
      expect(await ci('GET', '/api/repos/o/r/builds')).toEqual({ status: 200, body: [] });
      expect(await ci('POST', '/api/repos/o/r/builds', { branch: 'main' })).toEqual({ status: 200, body: { number: 9 } });
      expect(await postJson(`${api.origin}/hooks/s3cret`, { recipe: 'x', to: 'failing' }, { env, log, attempts: 1 })).toBe(true);
      expect(api.seen.map((q) => [q.method, q.url, q.auth, q.body])).toEqual([
        ['GET', '/api/v1/repos/o/r/pulls?state=open&page=1&limit=50', `token ${GITEA_TOKEN}`, ''],
        ['POST', '/api/v1/repos/o/r/issues/4/comments', `token ${GITEA_TOKEN}`, '{"body":"closed: already upstream"}'],
        ['PATCH', '/api/v1/repos/o/r/pulls/4', `token ${GITEA_TOKEN}`, '{"state":"closed"}'],
        ['GET', '/api/repos/o/r/builds', `Bearer ${CI_TOKEN}`, ''],
        ['POST', '/api/repos/o/r/builds', `Bearer ${CI_TOKEN}`, '{"branch":"main"}'],
        ['POST', '/hooks/s3cret', undefined, '{"recipe":"x","to":"failing"}'],
      ]);
      // One tunnel, kept alive for every call of every client (the token never reaches the proxy).
      expect(proxy.seen).toEqual([`CONNECT 127.0.0.1:${api.port}`]);

      // Without the proxy's credentials: 407, one final line, not retried.
      const noCreds = giteaClient({ api: `${api.origin}/api/v1`, owner: 'o', repo: 'r', token: GITEA_TOKEN, timeoutMs: 10_000, retry: FAST, log, env: { ...env, https_proxy: proxy.url } });
      const e407 = await failure(noCreds.listOpenPulls());
      expect(e407).toBeInstanceOf(AuthFailure);
      expect(e407.message).toBe(`Gitea GET /pulls?state=open&page=1&limit=50: proxy ${proxy.url} wants credentials, none are in the proxy URL (HTTP 407 Proxy Authentication Required)`);
      expect(proxy.seen.slice(1)).toEqual([`407 CONNECT 127.0.0.1:${api.port}`]);
      // Without the CA: the certificate is refused, one final line, not retried.
      const untrusted = giteaClient({ api: `${api.origin}/api/v1`, owner: 'o', repo: 'r', token: GITEA_TOKEN, timeoutMs: 10_000, retry: FAST, log, env: { https_proxy: env.https_proxy } });
      const eCert = await failure(untrusted.listOpenPulls());
      expect(eCert).toBeInstanceOf(MirrorError);
      expect(eCert.message).toMatch(/^Gitea GET \/pulls\S+: TLS certificate not accepted \(\w+\)$/);
      expect(proxy.seen.slice(2)).toEqual([`CONNECT 127.0.0.1:${api.port}`]);
    } finally {
      await proxy.close();
      await api.close();
    }
  });

  it('a SOCKS proxy is refused in one final line for a host it applies to, and not for a host no_proxy exempts; redirects and gzip as before', async () => {
    const other = await server((q, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ auth: q.auth ?? null })));
    const api = await server((q, res) => {
      if (q.url === '/moved') return void res.writeHead(301, { Location: `${other.origin.replace('127.0.0.1', 'localhost')}/there` }).end();
      if (q.url === '/hooks/see-other') return void res.writeHead(303, { Location: '/hooks/s3cret-done' }).end();
      if (q.url === '/hooks/s3cret-done') return void res.writeHead(200).end('ok');
      if (q.url.startsWith('/api/v1/repos/o/r/pulls?') && /gzip/.test(q.encoding ?? '')) {
        // A forge (or a proxy in front of it) that compresses: the client undoes it.
        const body = gzipSync(JSON.stringify([{ number: 4, title: 'bump', head: { sha: 'b'.repeat(40) } }]));
        return void res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'X-Total-Count': '1' }).end(body);
      }
      services(q, res);
    });
    const { log, lines } = logger();
    const socks = 'socks5://su:socks-secret@127.0.0.1:9';
    try {
      // Exempted by no_proxy: straight to the servers, as for git's own calls.
      const exempt = { ALL_PROXY: socks, no_proxy: '127.0.0.1, localhost' };
      const gitea = giteaClient({ api: `${api.origin}/api/v1`, owner: 'o', repo: 'r', token: GITEA_TOKEN, timeoutMs: 10_000, retry: FAST, log, env: exempt });
      expect(await gitea.listOpenPulls()).toEqual([{ number: 4, title: 'bump', headSha: 'b'.repeat(40) }]);
      // A redirect to another origin is followed without the token (as fetch did).
      const ci = ciHttp('Drone', { server: api.origin, token: CI_TOKEN, env: exempt, timeoutMs: 10_000 });
      expect(await ci('GET', '/moved')).toEqual({ status: 200, body: { auth: null } });
      expect(other.seen.map((q) => [q.method, q.url, q.host])).toEqual([['GET', '/there', `localhost:${other.port}`]]);
      // A 303 after a POST becomes a GET without the body.
      expect(await postJson(`${api.origin}/hooks/see-other`, { recipe: 'x' }, { env: exempt, log, attempts: 1 })).toBe(true);
      expect(api.seen.slice(-2).map((q) => [q.method, q.url, q.body])).toEqual([['POST', '/hooks/see-other', '{"recipe":"x"}'], ['GET', '/hooks/s3cret-done', '']]);

      // Not exempted: one final line naming the variable, no connection, no retry.
      const n = api.seen.length;
      const applies = { ALL_PROXY: socks };
      const said = 'ALL_PROXY is not an http(s) proxy (socks5://***@127.0.0.1:9); use an http(s) proxy or add the host to no_proxy';
      const refused = giteaClient({ api: `${api.origin}/api/v1`, owner: 'o', repo: 'r', token: GITEA_TOKEN, timeoutMs: 10_000, retry: FAST, log, env: applies });
      const e1 = await failure(refused.listOpenPulls());
      expect(e1).toBeInstanceOf(MirrorError);
      expect(e1.message).toBe(`Gitea GET /pulls?state=open&page=1&limit=50: ${said}`);
      const e2 = await failure(ciHttp('Drone', { server: api.origin, token: CI_TOKEN, env: applies, timeoutMs: 10_000 })('GET', '/api/repos/o/r/builds'));
      expect(e2).toBeInstanceOf(CiError);
      expect(e2.message).toBe(`Drone GET /api/repos/o/r/builds: ${said}`);
      expect(await postJson(`${api.origin}/hooks/s3cret`, { recipe: 'x' }, { env: applies, log, attempts: 3, backoffMs: 1 })).toBe(false);
      expect(lines().filter((l) => l.why === said).map((l) => l.msg)).toEqual(['notification not delivered']);
      expect(api.seen.length).toBe(n);
      expect(lines().filter((l) => /retrying/.test(String(l.msg)))).toEqual([]);
      expect(JSON.stringify(lines())).not.toContain('socks-secret');
    } finally {
      await api.close();
      await other.close();
    }
  });

  it('credentials written in a webhook URL go as a Basic header, never in the request line an http proxy sees', async () => {
    const hook = await server((q, res) => void res.writeHead(q.auth === `Basic ${Buffer.from('hu:h%pw').toString('base64')}` ? 204 : 401).end());
    const proxy = await startProxy({ forward: true });
    const { log } = logger();
    try {
      const url = `http://hu:h%25pw@127.0.0.1:${hook.port}/hooks/s3cret`;
      expect(await postJson(url, { recipe: 'x' }, { env: { http_proxy: proxy.url }, log, attempts: 1 })).toBe(true);
      expect(proxy.seen).toEqual([`POST http://127.0.0.1:${hook.port}/hooks/s3cret`]);
      expect(hook.seen.map((q) => [q.method, q.url, q.body])).toEqual([['POST', '/hooks/s3cret', '{"recipe":"x"}']]);
    } finally {
      await proxy.close();
      await hook.close();
    }
  });

  it('a proxy named by an IPv6 literal (with or without scheme, with a path) carries plain requests and CONNECT tunnels', async () => {
    const ca = privateCa(path.join(root, 'tls6'));
    const plain = await server(services);
    const secure = await server(services, ca);
    const proxy = await startProxy({ forward: true, listen: '::1' });
    const { log } = logger();
    try {
      const port = new URL(proxy.url).port;
      for (const p of [proxy.url, `[::1]:${port}`, `${proxy.url}/some/path`]) {
        const env = { http_proxy: p, https_proxy: p, GIT_SSL_CAINFO: ca.ca };
        expect(await postJson(`${plain.origin}/hooks/s3cret`, { recipe: 'x' }, { env, log, attempts: 1 })).toBe(true);
        expect(await postJson(`${secure.origin}/hooks/s3cret`, { recipe: 'x' }, { env, log, attempts: 1 })).toBe(true);
      }
      // `[::1]:port` is the same proxy as `http://[::1]:port`: its kept-alive tunnel is used again.
      const post = `POST ${plain.origin}/hooks/s3cret`;
      const connect = `CONNECT 127.0.0.1:${secure.port}`;
      expect(proxy.seen).toEqual([post, connect, post, post, connect]);
    } finally {
      await proxy.close();
      await plain.close();
      await secure.close();
    }
  });

  it('a proxy URL without a port is port 1080, as curl (so git) takes it: http://host and a bare host alike', async () => {
    const hook = await server(services);
    // A loopback address of its own, so port 1080 is free whatever else runs on this machine.
    const address = `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;
    const proxy = await startProxy({ forward: true, listen: address, port: 1080 });
    const on80 = await startProxy({ forward: true, listen: address, port: 80 });
    const { log } = logger();
    try {
      for (const p of [`http://${address}`, address, `http://${address}/`, `http://${address}:80`]) {
        expect(await postJson(`${hook.origin}/hooks/s3cret`, { recipe: 'x' }, { env: { http_proxy: p }, log, attempts: 1 })).toBe(true);
      }
      expect(proxy.seen).toEqual(Array(3).fill(`POST ${hook.origin}/hooks/s3cret`));
      // A port written out is that port, also the scheme's own (a URL parser forgets it).
      expect(on80.seen).toEqual([`POST ${hook.origin}/hooks/s3cret`]);
    } finally {
      await on80.close();
      await proxy.close();
      await hook.close();
    }
  });

  it('a server or proxy that answers something other than HTTP is said so in one line, naming the proxy when it is the proxy', async () => {
    const net = await import('node:net');
    const sockets = new Set<import('node:net').Socket>();
    const liar = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined).once('data', () => s.end('SSH-2.0-OpenSSH_9.2\r\n'));
    });
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
    const port = (liar.address() as AddressInfo).port;
    try {
      const ci = ciHttp('Woodpecker', { server: `http://127.0.0.1:${port}`, token: CI_TOKEN, env: {}, timeoutMs: 10_000 });
      expect((await failure(ci('GET', '/api/user'))).message).toBe('Woodpecker GET /api/user: the reply is not HTTP (HPE_INVALID_CONSTANT)');
      const proxied = ciHttp('Woodpecker', { server: 'http://127.0.0.1:9', token: CI_TOKEN, env: { http_proxy: `http://pu:ppw-x1@127.0.0.1:${port}` }, timeoutMs: 10_000 });
      expect((await failure(proxied('GET', '/api/user'))).message)
        .toBe(`Woodpecker GET /api/user: proxy http://***@127.0.0.1:${port} failed: the reply is not HTTP (HPE_INVALID_CONSTANT)`);
      const tunnelled = ciHttp('Woodpecker', { server: 'https://127.0.0.1:9', token: CI_TOKEN, env: { https_proxy: `127.0.0.1:${port}` }, timeoutMs: 10_000 });
      expect((await failure(tunnelled('GET', '/api/user'))).message)
        .toBe(`Woodpecker GET /api/user: proxy http://127.0.0.1:${port} failed: the reply is not HTTP (HPE_INVALID_CONSTANT)`);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => liar.close(() => r()));
    }
  });

  it('a % in URL credentials that starts no %XX is sent as written, as git and curl do, not a retried "URI malformed"', async () => {
    const hook = await server((q, res) => void res.writeHead(q.auth === `Basic ${Buffer.from('hu:50%zz%41').toString('base64')}` ? 204 : 401).end());
    const proxy = await startProxy({ forward: true, auth: 'pu:9%g%2' });
    const { log, lines } = logger();
    try {
      const port = new URL(proxy.url).port;
      const env = { http_proxy: `http://pu:9%g%2@127.0.0.1:${port}` };
      expect(await postJson(`http://hu:50%zz%2541@127.0.0.1:${hook.port}/hooks/s3cret`, { recipe: 'x' }, { env, log, attempts: 1 })).toBe(true);
      expect(lines()).toEqual([]);
      expect(hook.seen).toHaveLength(1);
    } finally {
      await proxy.close();
      await hook.close();
    }
  });

  it('a Gitea that ignores the page asked for (the same full page again and again) ends the listing, never a loop', async () => {
    const page = Array.from({ length: 50 }, (_, i) => ({ number: i + 1, title: `pr ${i + 1}`, head: { sha: 'b'.repeat(40) } }));
    for (const total of [undefined, '1000000']) {
      const api = await server((_q, res) => void res.writeHead(200, { 'Content-Type': 'application/json', ...(total ? { 'X-Total-Count': total } : {}) }).end(JSON.stringify(page)));
      const { log } = logger();
      try {
        const gitea = giteaClient({ api: `${api.origin}/api/v1`, owner: 'o', repo: 'r', token: GITEA_TOKEN, timeoutMs: 10_000, retry: FAST, log, env: {} });
        expect((await gitea.listOpenPulls()).map((p) => p.number)).toEqual(page.map((p) => p.number));
        expect(api.seen.map((q) => q.url)).toEqual([1, 2].map((n) => `/api/v1/repos/o/r/pulls?state=open&page=${n}&limit=50`));
      } finally {
        await api.close();
      }
    }
  });

  it('a proxy that answers CONNECT with 200 and then closes is named in the one line, not a bare ECONNRESET', async () => {
    const net = await import('node:net');
    let connections = 0;
    const liar = net.createServer((s) => {
      connections++;
      s.on('error', () => undefined).once('data', () => s.end('HTTP/1.1 200 Connection Established\r\n\r\n'));
    });
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
    const port = (liar.address() as AddressInfo).port;
    try {
      const ci = ciHttp('Woodpecker', { server: 'https://127.0.0.1:9', token: CI_TOKEN, env: { https_proxy: `http://pu:tunnel-pw-3@127.0.0.1:${port}` }, timeoutMs: 10_000 });
      const e = await failure(ci('GET', '/api/user'));
      expect(e.message).toBe(`Woodpecker GET /api/user: proxy http://***@127.0.0.1:${port} closed the tunnel to 127.0.0.1:9 right after opening it`);
      expect(connections).toBe(1);
    } finally {
      await new Promise<void>((r) => liar.close(() => r()));
    }
  });

  it('at the start: a proxy that cannot carry the calls is one ConfigError naming the variable and the fix; an exempted host passes', () => {
    const refusal = (env: NodeJS.ProcessEnv, url: string) => {
      try {
        refuseUnusableProxy(env, url, 'the CI server');
        return undefined;
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
    };
    const socks = { ALL_PROXY: 'socks5h://u:pw@socks.example:1080' };
    expect(refusal(socks, 'https://ci.example.org')).toBe('ALL_PROXY is not an http(s) proxy (socks5h://***@socks.example:1080), and the CI server ' +
      '(https://ci.example.org) would go through it: set https_proxy to an http:// or https:// proxy, or add ci.example.org to no_proxy');
    for (const noProxy of ['.example.org', 'ci.example.org', '*', 'other.example, EXAMPLE.ORG']) {
      expect(refusal({ ...socks, no_proxy: noProxy }, 'https://ci.example.org')).toBeUndefined();
    }
    expect(refusal({ ...socks, no_proxy: 'ci.example.org:8443' }, 'https://ci.example.org')).toMatch(/^ALL_PROXY is not/);
    // As curl (7.88, what git links here): an entry with a :port never matches, whatever the port.
    expect(refusal({ ...socks, no_proxy: 'ci.example.org:443' }, 'https://ci.example.org')).toMatch(/^ALL_PROXY is not/);
    // A usable proxy for this scheme wins over ALL_PROXY, as for curl.
    expect(refusal({ ...socks, https_proxy: 'proxy.example:3128' }, 'https://ci.example.org')).toBeUndefined();
    expect(refusal({ ...socks, https_proxy: 'http://proxy.example:3128' }, 'http://ci.example.org')).toMatch(/^ALL_PROXY is not.*set http_proxy to/);
    expect(refusal({ https_proxy: 'http://[::1' }, 'https://[::1]:8443/api')).toBe('https_proxy is not a valid proxy URL (http://[::1), and the CI server ' +
      '(https://[::1]:8443) would go through it: make https_proxy an http:// or https:// proxy, or add ::1 to no_proxy');
    // curl compares an IPv6 address as written: the fix named is the text that exempts it.
    expect(refusal({ https_proxy: 'socks5://127.0.0.1:9' }, 'https://[0:0::1]:8443/api')).toMatch(/, or add 0:0::1 to no_proxy$/);
    expect(refusal({ https_proxy: 'socks5://127.0.0.1:9', no_proxy: '0:0::1' }, 'https://[0:0::1]:8443/api')).toBeUndefined();
    expect(refusal({}, 'https://ci.example.org')).toBeUndefined();
    expect(refusal(socks, 'not a url')).toBeUndefined();
  });
});

describe('memory of replies in flight', () => {
  it('every client\'s reply counts in one budget: endless replies fail in one final line, a small one in flight still arrives', async () => {
    const { httpRequest, HttpTrouble, ReplyBudget } = await import('../../src/adapters/http-transport.js');
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const srv = http.createServer((req, res) => {
      if (req.url === '/small') return void res.writeHead(200).end('{"ok":true}');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const more = () => { while (!res.destroyed && res.write(chunk)); };
      res.on('drain', more);
      more();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    const budget = new ReplyBudget(1024 * 1024);
    const env = { PATH: process.env.PATH };
    try {
      const endless = [1, 2, 3].map(() => httpRequest(`${base}/endless`, { env, timeoutMs: 20_000, budget }).then(() => new Error('no error'), (e: unknown) => e as Error));
      const small = httpRequest(`${base}/small`, { env, timeoutMs: 20_000, budget });
      expect((await small).text()).toBe('{"ok":true}');
      for (const e of await Promise.all(endless)) {
        expect(e).toBeInstanceOf(HttpTrouble);
        expect((e as InstanceType<typeof HttpTrouble>).kind).toBe('final');
        expect(e.message).toMatch(/^the reply is too large \(over [0-9.]+ MiB, while the replies in flight may hold 1 MiB together\)$/);
      }
      expect(budget.peak()).toBeLessThanOrEqual(1024 * 1024);
      expect(budget.held()).toBe(0);
    } finally {
      await closeServer(srv);
    }
  });
});
