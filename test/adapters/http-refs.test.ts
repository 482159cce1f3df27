// The in-process ref listing (src/adapters/http-refs.ts) against `git ls-remote`, both reading the same
// repos served by git's own `git http-backend` over loopback: every kind of ref, HEAD's symref, redirects,
// refusals, a proxy, the token as a header, timeouts and the sweep's stop.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRefsHttp } from '../../src/adapters/http-refs.js';
import { bypassesProxy } from '../../src/adapters/http-transport.js';
import { parseAdvertisement } from '../../src/core/ref-advertisement.js';
import { listsInProcess, lsRemote, remoteDefaultBranch } from '../../src/adapters/git.js';
import { parseLsRemote, tagTargets, type Listing } from '../../src/core/refs.js';
import { AuthFailure, TransientError } from '../../src/adapters/retry.js';
import { GitError } from '../../src/core/errors.js';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';
import { closeServer } from '../support/http.js';
import { dropper, startProxy } from '../support/proxy.js';

const execFileP = promisify(execFile);
const root = mkdtempSync(path.join(tmpdir(), 'ccci-http-refs-'));
const ID = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' };
const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, LC_ALL: 'C', GIT_CONFIG_NOSYSTEM: '1' };
const run = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'advice.nestedTag=false', ...args], { cwd, env: { ...env, ...ID }, encoding: 'utf8' }).trim();
const FAST = { tries: 3, baseDelayMs: 5 };

/** A bare repo with every kind of ref git can advertise, HEAD on `head`. */
function makeRepo(name: string, head = 'main'): string {
  const work = path.join(root, `${name}-work`);
  run(root, 'init', '-q', '-b', head, work);
  writeFileSync(path.join(work, 'compose.yml'), 'services: {}\n');
  run(work, 'add', '.');
  run(work, 'commit', '-q', '-m', 'one');
  for (let i = 0; i < 40; i++) run(work, 'tag', '-a', '-m', `r${i}`, `${i}.0.0+1.${i}`);
  run(work, 'tag', 'light-1.0.0');
  run(work, 'tag', '-a', '-m', 'inner', 'inner');
  run(work, 'tag', '-a', '-m', 'outer', 'outer', 'inner'); // a tag of a tag
  run(work, 'tag', '-a', '-m', 'outer2', 'outer-outer', 'outer'); // and one more level
  run(work, 'tag', 'tree-light', 'HEAD^{tree}');
  run(work, 'tag', '-a', '-m', 'on a tree', 'tree-annotated', 'HEAD^{tree}');
  run(work, 'tag', '-a', '-m', 'on a blob', 'blob-annotated', 'HEAD:compose.yml');
  run(work, 'checkout', '-q', '-b', 'feature');
  run(work, 'commit', '-q', '--allow-empty', '-m', 'two');
  run(work, 'checkout', '-q', head);
  const bare = path.join(root, 'srv', `${name}.git`);
  mkdirSync(path.dirname(bare), { recursive: true });
  run(root, 'clone', '-q', '--bare', work, bare);
  run(bare, 'update-ref', 'refs/pull/1/head', 'feature');
  return bare;
}

// Asynchronous: the server answering git lives in this process.
const gitListing = async (url: string, ...flags: string[]): Promise<Listing> =>
  parseLsRemote((await execFileP('git', ['ls-remote', ...flags, url], { env, encoding: 'utf8' })).stdout);
const plain = (l: Listing) => ({ defaultBranch: l.defaultBranch, refs: Object.fromEntries(l.refs), peeled: Object.fromEntries(l.peeled) });

let server: GitHttpServer;
beforeAll(async () => {
  makeRepo('app');
  makeRepo('trunky', 'trunk');
  run(root, 'init', '-q', '--bare', '-b', 'main', path.join(root, 'srv', 'empty.git'));
  server = await startGitHttpServer({ root: path.join(root, 'srv') });
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

describe('in-process listing equals git ls-remote on the same repo', () => {
  it('every ref, the peeled ids (tags of tags fully peeled, tags on trees and blobs) and HEAD\'s symref', async () => {
    const url = `${server.url}/app.git`;
    expect(await listsInProcess(url, env)).toBe(true);
    const ours = await listRefsHttp(url, { env, symref: true });
    const theirs = await gitListing(url, '--symref');
    expect(plain(ours)).toEqual(plain(theirs));
    expect(ours.defaultBranch).toBe('main');
    expect(ours.refs.size).toBe(47 + 3 + 1); // tags, branches + pull ref, HEAD
    // outer-outer -> outer -> inner -> the commit: the ^{} line names the commit, as git peels fully.
    expect(ours.peeled.get('refs/tags/outer-outer')).toBe(run(path.join(root, 'srv', 'app.git'), 'rev-parse', 'main'));
    expect(ours.peeled.get('refs/tags/tree-annotated')).toBe(run(path.join(root, 'srv', 'app.git'), 'rev-parse', 'main^{tree}'));
  });

  it('tags only, as `git ls-remote --tags`, through the adapter every caller uses', async () => {
    const url = `${server.url}/app.git`;
    const before = server.requests.length;
    const ours = await lsRemote(url, { env, tagsOnly: true });
    expect(server.requests.length - before).toBe(1); // one request per repository
    expect(plain(ours)).toEqual(plain(await gitListing(url, '--tags')));
    expect(tagTargets(ours).get('outer')).toBe(tagTargets(await gitListing(url, '--tags')).get('outer'));
  });

  it('a default branch that is not main, and remoteDefaultBranch in one request', async () => {
    const url = `${server.url}/trunky.git`;
    const before = server.requests.length;
    expect(await remoteDefaultBranch(url, { env })).toBe('trunk');
    expect(server.requests.length - before).toBe(1);
    expect((await gitListing(url, "--symref")).defaultBranch).toBe('trunk');
    expect(plain(await lsRemote(url, { env, symref: true }))).toEqual(plain(await gitListing(url, '--symref')));
  });

  it('an empty repository lists no refs, as git does', async () => {
    const url = `${server.url}/empty.git`;
    const ours = await lsRemote(url, { env });
    expect(plain(ours)).toEqual(plain(await gitListing(url)));
    expect(ours.refs.size).toBe(0);
  });

  it('reuses connections: many listings, few connections', async () => {
    const before = server.connections();
    const reqs = server.requests.length;
    for (let i = 0; i < 6; i++) await lsRemote(`${server.url}/app.git`, { env, tagsOnly: true });
    expect(server.requests.length - reqs).toBe(6);
    expect(server.connections() - before).toBeLessThanOrEqual(1); // one kept-alive connection at most
  });
});

/** A loopback front that answers some paths itself and passes the rest to `to`. */
async function front(handle: (req: http.IncomingMessage, res: http.ServerResponse) => boolean, to: string) {
  const seen: { url: string; auth?: string; host?: string }[] = [];
  const srv = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', auth: req.headers.authorization, host: req.headers.host });
    if (handle(req, res)) return;
    const u = new URL(req.url ?? '/', to);
    const up = http.request(u, { method: req.method, headers: { ...req.headers, host: u.host } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, seen, close: () => closeServer(srv) };
}

describe('redirects, refusals, proxy and token', () => {
  it('follows a redirect as git does, and equals its listing', async () => {
    const f = await front((req, res) => {
      if (!req.url?.startsWith('/old/')) return false;
      res.writeHead(301, { Location: req.url.replace('/old/', '/') }).end();
      return true;
    }, server.url);
    try {
      const url = `${f.url}/old/app.git`;
      expect(plain(await lsRemote(url, { env, symref: true }))).toEqual(plain(await gitListing(url, '--symref')));
    } finally {
      await f.close();
    }
  });

  it('sends the token as a header to the mirror origin only, never to a redirect elsewhere, and never shows it', async () => {
    const token = 'tok-http-refs-secret-4242';
    const authed = await startGitHttpServer({ root: path.join(root, 'srv'), token, authAll: true });
    const f = await front((req, res) => {
      res.writeHead(302, { Location: `${authed.url}${req.url}` }).end();
      return true;
    }, authed.url);
    try {
      const url = `${authed.url}/app.git`;
      const ok = await lsRemote(url, { env, token, authUrl: url, tagsOnly: true });
      expect(ok.refs.size).toBe(47);
      expect(authed.requests.at(-1)).toMatchObject({ auth: true, status: 200 });
      // Without the token: a 401 is one clear line, not retried, and the token appears nowhere.
      const n = authed.requests.length;
      const e1 = await lsRemote(url, { env, retry: FAST }).then(() => new Error('no error'), (e: unknown) => e as Error);
      expect(e1).toBeInstanceOf(AuthFailure);
      expect(e1.message).toBe(`ls-remote ${url} failed: the remote wants credentials, none are configured for it (HTTP 401 Unauthorized)`);
      expect(authed.requests.length - n).toBe(1);
      // A wrong token: refused, said so.
      const e2 = await lsRemote(url, { env, token: 'wrong-token-x', authUrl: url }).then(() => new Error('no error'), (e: unknown) => e as Error);
      expect(e2.message).toMatch(/refused the credentials \(HTTP 401/);
      expect(e2.message).not.toContain('wrong-token-x');
      // The front is another origin: the token meant for `authed` is not sent to it, nor with its redirect
      // to `authed` (git's extraHeader is configured for the mirror URL, not for wherever a redirect leads).
      const e3 = await lsRemote(`${f.url}/app.git`, { env, token, authUrl: url }).then(() => new Error('no error'), (e: unknown) => e as Error);
      expect(e3).toBeInstanceOf(AuthFailure);
      expect(f.seen.every((s) => s.auth === undefined)).toBe(true);
      expect(authed.requests.at(-1)).toMatchObject({ auth: false, status: 401 });
    } finally {
      await f.close();
      await authed.close();
    }
  });

  it('403 and 404 are one final line each; 500 is retried', async () => {
    const url = `${server.url}/app.git`;
    server.failNext(1, 403);
    const e403 = await lsRemote(url, { env, retry: FAST }).then(() => new Error('no error'), (e: unknown) => e as Error);
    expect(e403).toBeInstanceOf(AuthFailure);
    expect(e403.message).toMatch(/^ls-remote \S+ failed: .*\(HTTP 403 Forbidden\)$/);
    const e404 = await lsRemote(`${server.url}/nope.git`, { env, retry: FAST }).then(() => new Error('no error'), (e: unknown) => e as Error);
    expect(e404).toBeInstanceOf(GitError);
    expect(e404.message).toBe(`ls-remote ${server.url}/nope.git failed: repository not found (HTTP 404 Not Found)`);
    server.failNext(2, 500);
    const n = server.requests.length;
    expect((await lsRemote(url, { env, retry: FAST, tagsOnly: true })).refs.size).toBe(47);
    expect(server.requests.slice(n).map((r) => r.status)).toEqual([500, 500, 200]);
  });

  it('goes through http_proxy (the absolute URL asked of the proxy, its credentials as Proxy-Authorization), and around it for no_proxy', async () => {
    const proxy = await startProxy({ forward: true, auth: 'pu:p%w' });
    const host = new URL(server.url).host;
    try {
      const url = `${server.url}/app.git`;
      const viaProxy = await lsRemote(url, { env: { ...env, http_proxy: proxy.url.replace('//', '//pu:p%25w@') }, tagsOnly: true });
      expect(plain(viaProxy)).toEqual(plain(await gitListing(url, '--tags')));
      expect(proxy.seen).toEqual([`GET http://${host}/app.git/info/refs?service=git-upload-pack`]);
      // Without the credentials the proxy answers 407: one final line that says so.
      const e = await lsRemote(url, { env: { ...env, http_proxy: proxy.url }, retry: FAST }).then(() => new Error('no error'), (x: unknown) => x as Error);
      expect(e).toBeInstanceOf(AuthFailure);
      expect(e.message).toBe(`ls-remote ${url} failed: proxy ${proxy.url} wants credentials, none are in the proxy URL (HTTP 407 Proxy Authentication Required)`);
      const wrong = await lsRemote(url, { env: { ...env, http_proxy: proxy.url.replace('//', '//pu:secret-nope@') }, retry: FAST }).then(() => new Error('no error'), (x: unknown) => x as Error);
      expect(wrong).toBeInstanceOf(AuthFailure);
      expect(wrong.message).toContain(`proxy ${proxy.url.replace('//', '//***@')} refused the credentials (HTTP 407`);
      expect(wrong.message).not.toContain('secret-nope');
      expect(proxy.seen).toHaveLength(3);
      // https_proxy is not for an http URL, and no_proxy names the server: both connect directly.
      await lsRemote(url, { env: { ...env, https_proxy: proxy.url }, tagsOnly: true });
      await lsRemote(url, { env: { ...env, http_proxy: proxy.url, no_proxy: '127.0.0.1' }, tagsOnly: true });
      await lsRemote(url, { env: { ...env, http_proxy: proxy.url, NO_PROXY: 'other.example, 127.0.0.0/8' }, tagsOnly: true });
      expect(proxy.seen).toHaveLength(3);
    } finally {
      await proxy.close();
    }
  });

  it('no_proxy follows curl: * alone, exact host or domain suffix (with or without a leading dot), any case; a :port or [IPv6] entry never matches', () => {
    const u = (s: string) => new URL(s);
    expect(bypassesProxy('*', u('https://git.example.org/x'))).toBe(true);
    expect(bypassesProxy('example.org', u('https://git.example.org/x'))).toBe(true);
    expect(bypassesProxy('.example.org', u('https://git.example.org/x'))).toBe(true);
    expect(bypassesProxy('.example.org', u('https://example.org/x'))).toBe(true);
    expect(bypassesProxy('*.example.org', u('https://git.example.org/x'))).toBe(false);
    expect(bypassesProxy('EXAMPLE.org', u('https://Git.Example.ORG/x'))).toBe(true);
    expect(bypassesProxy('ample.org', u('https://git.example.org/x'))).toBe(false);
    expect(bypassesProxy('a.b  example.org,c', u('https://git.example.org/x'))).toBe(true);
    expect(bypassesProxy('a.b  example.org:443,c', u('https://git.example.org/x'))).toBe(false);
    expect(bypassesProxy('example.org:8443', u('https://git.example.org/x'))).toBe(false);
    expect(bypassesProxy('example.org:8443', u('https://git.example.org:8443/x'))).toBe(false);
    expect(bypassesProxy('[::1]', u('http://[::1]:3000/x'))).toBe(false);
    expect(bypassesProxy('::1', u('http://[::1]:3000/x'))).toBe(true);
    expect(bypassesProxy('[::1]:3000', u('http://[::1]:3000/x'))).toBe(false);
    expect(bypassesProxy('[::1]:80', u('http://[::1]:3000/x'))).toBe(false);
    expect(bypassesProxy('', u('http://127.0.0.1/x'))).toBe(false);
    expect(bypassesProxy(' , ', u('http://127.0.0.1/x'))).toBe(false);
  });

  it('a proxy that drops the connection (CONNECT or a plain request) fails in one line per try, never a reconnect loop', async () => {
    // Before: undici reconnected in a hot loop here (tens of thousands of connections) and no deadline ended it.
    const proxy = await dropper();
    const proxyUrl = `http://ui:top-secret@127.0.0.1:${proxy.port}`;
    const shown = proxyUrl.replace('ui:top-secret@', '***@');
    try {
      const plainUrl = `${server.url}/app.git`;
      const e1 = await lsRemote(plainUrl, { env: { ...env, http_proxy: proxyUrl }, timeoutMs: 5000, retry: FAST }).then(() => new Error('no error'), (x: unknown) => x as Error);
      expect(e1).toBeInstanceOf(TransientError);
      expect(e1.message).toMatch(new RegExp(`^ls-remote ${plainUrl} failed: proxy ${shown.replace(/[*.]/g, '\\$&')} failed: \\S+$`));
      expect(proxy.connections()).toBeLessThanOrEqual(FAST.tries * 2);
      const before = proxy.connections();
      const httpsUrl = 'https://127.0.0.1:9/app.git';
      const e2 = await lsRemote(httpsUrl, { env: { ...env, https_proxy: proxyUrl }, timeoutMs: 5000, retry: FAST }).then(() => new Error('no error'), (x: unknown) => x as Error);
      expect(e2).toBeInstanceOf(TransientError);
      expect(e2.message).toMatch(new RegExp(`^ls-remote ${httpsUrl} failed: proxy ${shown.replace(/[*.]/g, '\\$&')} closed the connection before the tunnel was open`));
      expect(proxy.connections() - before).toBeGreaterThan(0);
      expect(proxy.connections() - before).toBeLessThanOrEqual(FAST.tries * 2);
      for (const m of [e1.message, e2.message]) expect(m).not.toContain('top-secret');
    } finally {
      await proxy.close();
    }
  });

  it('a proxy that accepts the connection and never answers is ended by the deadline; a stop ends the tunnel at once', async () => {
    const silent = await dropper('silent');
    const proxyUrl = `http://127.0.0.1:${silent.port}`;
    try {
      const url = 'https://127.0.0.1:9/app.git';
      const e = await lsRemote(url, { env: { ...env, https_proxy: proxyUrl }, timeoutMs: 200, retry: { tries: 2, baseDelayMs: 5 } }).then(() => new Error('no error'), (x: unknown) => x as Error);
      expect(e).toBeInstanceOf(TransientError);
      expect(e.message).toBe(`ls-remote ${url}: timed out after 200 ms`);
      expect(silent.connections()).toBe(2);
      const stop = new AbortController();
      const p = lsRemote(url, { env: { ...env, https_proxy: proxyUrl }, signal: stop.signal }).then(() => new Error('no error'), (x: unknown) => x as Error);
      await new Promise<void>((r) => {
        const t = setInterval(() => {
          if (silent.connections() === 3) {
            clearInterval(t);
            r();
          }
        }, 5);
      });
      stop.abort();
      expect((await p).message).toBe(`ls-remote ${url}: stopped, the sweep was stopped`);
    } finally {
      await silent.close();
    }
  });

  it('a server that closes each kept-alive connection after its reply costs no retry and no warning', async () => {
    // The next request on such a socket fails with ECONNRESET: it is sent again at once on a fresh one.
    const used = new WeakSet<object>();
    let connections = 0;
    const closer = http.createServer((req, res) => {
      if (used.has(req.socket)) {
        req.socket.destroy(); // the server had closed it: the client learns so only when it reuses it
        return;
      }
      used.add(req.socket);
      const up = http.request(new URL(req.url ?? '/', server.url), { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    closer.on('connection', () => connections++);
    await new Promise<void>((r) => closer.listen(0, '127.0.0.1', r));
    const warnings: string[] = [];
    const log = { warn: (...args: unknown[]) => void warnings.push(String(args[1])) };
    try {
      const url = `http://127.0.0.1:${(closer.address() as AddressInfo).port}/app.git`;
      for (let i = 0; i < 5; i++) expect((await listRefsHttp(url, { env, retry: FAST, log, tagsOnly: true })).refs.size).toBe(47);
      expect(warnings).toEqual([]);
      expect(connections).toBeGreaterThanOrEqual(5);
    } finally {
      closer.closeAllConnections();
      await closeServer(closer);
    }
  });

  it('leaves the listing to git when the operator\'s git setup would change the request', async () => {
    const cfg = path.join(root, 'operator.gitconfig');
    writeFileSync(cfg, `[url "${server.url}/"]\n\tinsteadOf = https://forge.example.invalid/\n`);
    const e = { ...env, GIT_CONFIG_GLOBAL: cfg };
    expect(await listsInProcess('https://forge.example.invalid/app.git', e)).toBe(false);
    // git applies the rewrite: the listing works although the host does not exist.
    expect((await lsRemote('https://forge.example.invalid/app.git', { env: e, tagsOnly: true })).refs.size).toBe(47);
    expect(await listsInProcess(`${server.url}/app.git`, { ...env, GIT_SSL_NO_VERIFY: '1' })).toBe(false);
    expect(await listsInProcess(`${server.url}/app.git`, { ...env, SSL_CERT_FILE: '/x', GIT_SSL_CAINFO: '/y' })).toBe(true);
    expect(await listsInProcess(`${server.url}/app.git`, { ...env, http_proxy: 'socks5://127.0.0.1:9' })).toBe(false);
    // A SOCKS proxy that no_proxy exempts the host from does not apply: listed in-process, directly.
    expect(await listsInProcess(`${server.url}/app.git`, { ...env, http_proxy: 'socks5://127.0.0.1:9', no_proxy: '127.0.0.1' })).toBe(true);
    expect(await listsInProcess(`file://${root}/srv/app.git`, env)).toBe(false);
  });
});

describe('deadlines and the sweep\'s stop', () => {
  it('a stalled server ends in a timeout, retried as transient; a stop ends it at once', async () => {
    const stalled = await startGitHttpServer({ root: path.join(root, 'srv'), latencyMs: Infinity });
    try {
      const url = `${stalled.url}/app.git`;
      const e = await lsRemote(url, { env, timeoutMs: 200, retry: { tries: 2, baseDelayMs: 5 } }).then(() => new Error('no error'), (x: unknown) => x as Error);
      expect(e).toBeInstanceOf(TransientError);
      expect(e.message).toBe(`ls-remote ${url}: timed out after 200 ms`);
      expect(stalled.requests).toHaveLength(2);
      const stop = new AbortController();
      const p = lsRemote(url, { env, signal: stop.signal }).then(() => new Error('no error'), (x: unknown) => x as Error);
      await new Promise<void>((r) => {
        const t = setInterval(() => {
          if (stalled.requests.length === 3) {
            clearInterval(t);
            r();
          }
        }, 5);
      });
      stop.abort();
      const s = await p;
      expect(s).toBeInstanceOf(GitError);
      expect(s.message).toBe(`ls-remote ${url}: stopped, the sweep was stopped`);
    } finally {
      await stalled.close();
    }
  });

  it('a reply cut short is an error, never a partial list', () => {
    const line = (t: string) => `${(t.length + 4).toString(16).padStart(4, '0')}${t}`;
    const full = `${line('# service=git-upload-pack\n')}0000${line(`${'a'.repeat(40)} HEAD\0symref=HEAD:refs/heads/main\n`)}${line(`${'b'.repeat(40)} refs/tags/1.0.0\n`)}0000`;
    expect(parseAdvertisement(Buffer.from(full)).refs.size).toBe(2);
    expect(() => parseAdvertisement(Buffer.from(full.slice(0, -4)))).toThrow(/cut short/);
    expect(() => parseAdvertisement(Buffer.from(full.slice(0, -10)))).toThrow(/cut short/);
    expect(() => parseAdvertisement(Buffer.from('<html>nope</html>'))).toThrow(/not a smart git server/);
    expect(() => parseAdvertisement(Buffer.from(`${line('ERR access denied\n')}0000`))).toThrow('the server said: access denied');
  });
});

describe('https with a private CA', () => {
  it('trusts the CA git is told of (GIT_SSL_CAINFO, SSL_CERT_FILE), and refuses in one final line without it', async () => {
    const dir = path.join(root, 'tls');
    mkdirSync(dir);
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=ccci test CA');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(path.join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\n');
    ssl('x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.pem', '-days', '2', '-extfile', 'ext');
    const read = (f: string) => execFileSync('cat', [path.join(dir, f)]);
    // An https front for the loopback git server.
    const front = https.createServer({ key: read('srv.key'), cert: read('srv.pem') }, (req, res) => {
      const up = http.request(new URL(req.url ?? '/', server.url), { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    try {
      const url = `https://127.0.0.1:${(front.address() as AddressInfo).port}/app.git`;
      const e = { ...env, GIT_SSL_CAINFO: path.join(dir, 'ca.pem') };
      expect(await listsInProcess(url, e)).toBe(true);
      const theirs = parseLsRemote((await execFileP('git', ['ls-remote', '--symref', url], { env: e, encoding: 'utf8' })).stdout);
      expect(plain(await lsRemote(url, { env: e, symref: true }))).toEqual(plain(theirs));
      // SSL_CERT_FILE (which a curl built to read it, e.g. NixOS's, honours) is trusted as well.
      expect(plain(await lsRemote(url, { env: { ...env, SSL_CERT_FILE: path.join(dir, 'ca.pem') }, symref: true }))).toEqual(plain(theirs));
      // Through a CONNECT proxy that wants credentials: TLS to the forge inside the tunnel, the same CAs,
      // the tunnel kept alive for the next listing; without the credentials one final line.
      const proxy = await startProxy({ auth: 'pu:pw' });
      try {
        const viaProxy = { ...e, https_proxy: proxy.url.replace('//', '//pu:pw@') };
        expect(plain(await lsRemote(url, { env: viaProxy, symref: true }))).toEqual(plain(theirs));
        expect(plain(await lsRemote(url, { env: viaProxy, symref: true }))).toEqual(plain(theirs));
        expect(proxy.seen).toEqual([`CONNECT ${new URL(url).host}`]);
        const noCreds = await lsRemote(url, { env: { ...e, https_proxy: proxy.url }, retry: FAST }).then(() => new Error('no error'), (x: unknown) => x as Error);
        expect(noCreds).toBeInstanceOf(AuthFailure);
        expect(noCreds.message).toBe(`ls-remote ${url} failed: proxy ${proxy.url} wants credentials, none are in the proxy URL (HTTP 407 Proxy Authentication Required)`);
        const untrusted = await lsRemote(url, { env: { ...env, https_proxy: proxy.url.replace('//', '//pu:pw@') }, retry: FAST }).then(() => new Error('no error'), (x: unknown) => x as Error);
        expect(untrusted).toBeInstanceOf(GitError);
        expect(untrusted.message).toMatch(/^ls-remote \S+ failed: TLS certificate not accepted \(\S+\)$/);
      } finally {
        await proxy.close();
      }
      // A proxy spoken to over TLS (https_proxy=https://…), trusted through the same CAs: the tunnel inside it.
      const tunnelled: string[] = [];
      const held = new Set<net.Socket>();
      const tlsProxy = https.createServer({ key: read('srv.key'), cert: read('srv.pem') }, (_q, res) => res.writeHead(405).end());
      tlsProxy.on('connect', (req: http.IncomingMessage, client: net.Socket) => {
        tunnelled.push(`CONNECT ${req.url} ${req.headers['proxy-authorization'] ?? ''}`);
        held.add(client);
        const [h, p] = (req.url ?? '').split(':');
        const up = net.connect(Number(p), h, () => {
          client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
          up.pipe(client);
          client.pipe(up);
        });
        up.on('error', () => client.destroy());
        client.on('error', () => up.destroy());
        client.on('close', () => up.destroy());
      });
      await new Promise<void>((r) => tlsProxy.listen(0, '127.0.0.1', r));
      try {
        const viaTls = { ...e, https_proxy: `https://pu:pw@127.0.0.1:${(tlsProxy.address() as AddressInfo).port}` };
        expect(plain(await lsRemote(url, { env: viaTls, symref: true }))).toEqual(plain(theirs));
        expect(tunnelled).toEqual([`CONNECT ${new URL(url).host} Basic ${Buffer.from('pu:pw').toString('base64')}`]);
      } finally {
        for (const c of held) c.destroy(); // a tunnel leaves the server's books: ended here
        await closeServer(tlsProxy);
      }
      const refused = await lsRemote(url, { env, retry: FAST }).then(() => new Error('no error'), (x: unknown) => x as Error);
      expect(refused).toBeInstanceOf(GitError);
      expect(refused.message).toMatch(/^ls-remote \S+ failed: TLS certificate not accepted \(\S+\)$/);
    } finally {
      front.closeAllConnections();
      await closeServer(front);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// Hardening: memory of replies in flight, redirects as git takes them, curl's no_proxy, git's low-speed rule

/** A loopback server answering every request with `handle` (raw control over timing and bytes). */
async function rawServer(handle: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const srv = http.createServer(handle);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, close: () => closeServer(srv) };
}
const ADV = 'application/x-git-upload-pack-advertisement';
const pkt = (s: string) => `${(s.length + 4).toString(16).padStart(4, '0')}${s}`;
const failure = (p: Promise<unknown>) => p.then(() => new Error('no error'), (e: unknown) => e as Error);

describe('hardening', () => {
  it('bounds the replies of all listings in flight together: the huge one fails in one line, the normal ones list', async () => {
    // An endless advertisement, written as fast as the client reads it, until the client hangs up.
    const line = pkt(`${'1'.repeat(40)} refs/tags/${'x'.repeat(60)}\n`);
    const chunk = Buffer.from(line.repeat(1000));
    const hostile = await rawServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': ADV });
      res.write(pkt('# service=git-upload-pack\n') + '0000');
      const more = () => { while (!res.destroyed && res.write(chunk)); };
      res.on('drain', more);
      more();
    });
    const { ReplyBudget } = await import('../../src/adapters/http-transport.js');
    const budget = new ReplyBudget(2 * 1024 * 1024);
    try {
      const normal = Array.from({ length: 6 }, () => listRefsHttp(`${server.url}/app.git`, { env, tagsOnly: true, budget }));
      const huge = [1, 2].map(() => failure(listRefsHttp(`${hostile.url}/big.git`, { env, budget })));
      for (const l of await Promise.all(normal)) expect(l.refs.size).toBe(47);
      for (const e of await Promise.all(huge)) {
        expect(e).toBeInstanceOf(GitError);
        expect(e.message).toMatch(new RegExp(`^ls-remote ${hostile.url}/big.git failed: the ref advertisement (is larger than 2 MiB|is too large \\(over [0-9.]+ MiB, while the listings in flight may hold 2 MiB together\\))$`));
      }
      expect(budget.peak()).toBeLessThanOrEqual(2 * 1024 * 1024);
      expect(budget.held()).toBe(0);
    } finally {
      await hostile.close();
    }
  });

  it('refuses a redirect away from the ref listing as git does (an error naming the URL), follows up to 20 as git does', async () => {
    const f = await front((req, res) => {
      const u = req.url ?? '';
      let m: RegExpExecArray | null;
      if (u.startsWith('/login/')) {
        res.writeHead(302, { Location: '/app.git/info/refs' }).end(); // the service query dropped
        return true;
      }
      if ((m = /^\/hop\/(\d+)(\/.*)$/.exec(u))) {
        const n = Number(m[1]);
        res.writeHead(302, { Location: n > 1 ? `/hop/${n - 1}${m[2]}` : m[2] }).end();
        return true;
      }
      return false;
    }, server.url);
    try {
      const bad = `${f.url}/login/app.git`;
      const gitSays = await failure(gitListing(bad));
      expect(gitSays.message).toContain('unable to update url base from redirection');
      const ours = await failure(lsRemote(bad, { env, retry: FAST }));
      expect(ours).toBeInstanceOf(GitError);
      expect(ours.message).toBe(`ls-remote ${bad} failed: redirected to ${f.url}/app.git/info/refs, which is not a ref listing (git refuses such a redirect)`);
      // 20 redirects: git follows them, and so do we; 21: both refuse.
      const twenty = `${f.url}/hop/20/app.git`;
      expect(plain(await lsRemote(twenty, { env, tagsOnly: true }))).toEqual(plain(await gitListing(twenty, '--tags')));
      const more = `${f.url}/hop/21/app.git`;
      await expect(gitListing(more)).rejects.toThrow();
      const e21 = await failure(lsRemote(more, { env, retry: FAST }));
      expect(e21.message).toBe(`ls-remote ${more} failed: more than 20 redirects`);
    } finally {
      await f.close();
    }
  });

  it('a redirect to an invalid URL is one final line, as for the API clients, never retried as network trouble', async () => {
    const f = await front((_req, res) => {
      res.writeHead(302, { Location: 'http://[not-a-host/app.git/info/refs?service=git-upload-pack' }).end();
      return true;
    }, server.url);
    try {
      const url = `${f.url}/app.git`;
      const e = await failure(lsRemote(url, { env, retry: FAST }));
      expect(e).toBeInstanceOf(GitError);
      expect(e.message).toBe(`ls-remote ${url} failed: redirected to an invalid URL`);
      expect(f.seen).toHaveLength(1);
    } finally {
      await f.close();
    }
  });

  it('never sends the URL\'s credentials to another origin a redirect leads to, nor uses credentials a Location carries', async () => {
    const other = await front(() => false, server.url);
    const f = await front((req, res) => {
      res.writeHead(302, { Location: `${other.url.replace('//', '//evil:creds@')}${req.url}` }).end();
      return true;
    }, server.url);
    try {
      const l = await lsRemote(`${f.url.replace('//', '//u:pw@')}/app.git`, { env, tagsOnly: true });
      expect(l.refs.size).toBe(47);
      expect(f.seen[0]?.auth).toBe(`Basic ${Buffer.from('u:pw').toString('base64')}`);
      expect(other.seen.map((s) => s.auth)).toEqual([undefined]);
    } finally {
      await f.close();
      await other.close();
    }
  });

  it('no_proxy as the curl git links: IPv4 CIDR and exact addresses, no suffix match on addresses, no :port, `*` only alone, IPv6 as written', () => {
    const u = (s: string) => new URL(s);
    const v4 = u('http://127.1.2.3:8080/x');
    // Each expectation was observed with `git ls-remote` and `curl` (7.88) and a recording proxy.
    expect(bypassesProxy('127.0.0.0/8', v4)).toBe(true);
    expect(bypassesProxy('10.0.0.0/8, 127.1.0.0/16', v4)).toBe(true);
    expect(bypassesProxy('127.2.0.0/16', v4)).toBe(false);
    expect(bypassesProxy('127.1.2.0/25', v4)).toBe(true);
    expect(bypassesProxy('127.1.2.128/25', v4)).toBe(false);
    expect(bypassesProxy('127.1.2.3/32', v4)).toBe(true);
    expect(bypassesProxy('127.1.2.0/0', v4)).toBe(false); // /0 is "that address", not everything
    expect(bypassesProxy('127.1.2.3/0', v4)).toBe(true);
    expect(bypassesProxy('127.1.2.3/33', v4)).toBe(false);
    expect(bypassesProxy('127.1.2.3/x', v4)).toBe(true);
    expect(bypassesProxy('2.3', v4)).toBe(false);
    expect(bypassesProxy('.2.3', v4)).toBe(false);
    expect(bypassesProxy('127.1.2.3:8080', v4)).toBe(false);
    expect(bypassesProxy('example.org:8443', u('https://git.example.org:8443/x'))).toBe(false);
    expect(bypassesProxy('a, *', v4)).toBe(false);
    expect(bypassesProxy(' * ', v4)).toBe(false);
    expect(bypassesProxy('*.example.org', u('https://git.example.org/x'))).toBe(false);
    expect(bypassesProxy('::1', u('http://[::1]:3000/x'), 'http://[::1]:3000/x')).toBe(true);
    expect(bypassesProxy('::1/128', u('http://[::1]:3000/x'), 'http://[::1]:3000/x')).toBe(false);
    expect(bypassesProxy('[::1]', u('http://[::1]:3000/x'), 'http://[::1]:3000/x')).toBe(false);
    expect(bypassesProxy('0:0::1', u('http://[::1]:3000/x'), 'http://[::1]:3000/x')).toBe(false);
    expect(bypassesProxy('::ffff:127.0.0.1', u('http://[::ffff:127.0.0.1]/x'), 'http://[::ffff:127.0.0.1]/x')).toBe(true);
  });

  it('no_proxy in a real listing: a CIDR range goes around the proxy, and an empty no_proxy hides NO_PROXY as for git', async () => {
    const proxy = await startProxy({ forward: true });
    try {
      const url = `${server.url}/app.git`;
      await lsRemote(url, { env: { ...env, http_proxy: proxy.url, no_proxy: '127.0.0.0/8' }, tagsOnly: true });
      expect(proxy.seen).toEqual([]);
      await lsRemote(url, { env: { ...env, http_proxy: proxy.url, no_proxy: '', NO_PROXY: '127.0.0.0/8' }, tagsOnly: true });
      expect(proxy.seen).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it('cuts off a server that trickles below GIT_HTTP_LOW_SPEED_LIMIT for GIT_HTTP_LOW_SPEED_TIME, as git does', async () => {
    const head = pkt('# service=git-upload-pack\n') + '0000';
    const bytes = Buffer.from(head + pkt(`${'1'.repeat(40)} refs/tags/v1\n`).repeat(200) + '0000');
    const timers = new Set<NodeJS.Timeout>();
    const trickle = await rawServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': ADV });
      let i = 0;
      const t = setInterval(() => {
        if (res.destroyed || i >= bytes.length) {
          clearInterval(t);
          res.end();
          return;
        }
        res.write(bytes.subarray(i, i + 2));
        i += 2;
      }, 20); // ~100 bytes/s: data never stops for a second, yet far below 1000 bytes/s
      timers.add(t);
    });
    try {
      const url = `${trickle.url}/slow.git`;
      const slow = { ...env, GIT_HTTP_LOW_SPEED_LIMIT: '1000', GIT_HTTP_LOW_SPEED_TIME: '1' };
      const gitSays = await failure(execFileP('git', ['ls-remote', url], { env: slow, encoding: 'utf8' }));
      expect(gitSays.message).toMatch(/Operation too slow|Less than 1000 bytes\/sec/);
      const e = await failure(listRefsHttp(url, { env: slow, timeoutMs: 0 }));
      expect(e).toBeInstanceOf(TransientError);
      expect(e.message).toBe(`ls-remote ${url}: too slow, less than 1000 bytes/s for 1 s (GIT_HTTP_LOW_SPEED_LIMIT/GIT_HTTP_LOW_SPEED_TIME)`);
    } finally {
      for (const t of timers) clearInterval(t);
      await trickle.close();
    }
  }, 30_000);
});
