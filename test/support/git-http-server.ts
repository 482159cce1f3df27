// A loopback smart-HTTP git server for tests and the benchmark: git's own `git http-backend` as a CGI behind
// a Node http server. Pushes (receive-pack) need `Authorization: token <T>` when a token is set; `authAll`
// extends that to fetches. Every request is recorded; `latencyMs` delays each one; failNext() injects errors.
// `cacheRefs` (the benchmark's) answers a repeated ref listing from what git said the first time.
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from './http.js';
import path from 'node:path';

export interface GitHttpRequest {
  method: string;
  path: string;
  query: string;
  service: 'git-upload-pack' | 'git-receive-pack' | undefined;
  /** An Authorization header was sent (whatever its value). */
  auth: boolean;
  status?: number;
  /** The client hung up before the reply was complete. */
  aborted?: boolean;
}

export interface GitHttpServer {
  /** Base URL; a bare repo at <root>/a/b.git is <url>/a/b.git. */
  url: string;
  requests: GitHttpRequest[];
  /** TCP connections accepted so far (keep-alive reuse shows as fewer connections than requests). */
  connections(): number;
  /** The next `n` requests get HTTP `status` (default 500) without reaching git. */
  failNext(n: number, status?: number): void;
  /** Listings answered from the cache (cacheRefs) so far. */
  cacheHits(): number;
  /** Drops every cached listing (after changing repos behind the server's back). */
  forgetRefs(): void;
  close(): Promise<void>;
}

export interface GitHttpServerOptions {
  root: string;
  token?: string;
  /** Require the token for fetches too, not only pushes. */
  authAll?: boolean;
  /** Delay before each reply; Infinity: never reply (a stalled server), until close(). */
  latencyMs?: number;
  /**
   * Answer a repeated ref listing (`GET info/refs?service=git-upload-pack`, and protocol v2's
   * `command=ls-refs` POST) with the bytes git http-backend gave the first time, as a forge's ref cache
   * does: the benchmark then measures its clients, not the CPU of a backend process per request on the
   * same two cores. Only 200 replies are kept; a push (receive-pack) to a repo forgets that repo's.
   */
  cacheRefs?: boolean;
}

export async function startGitHttpServer(opts: GitHttpServerOptions): Promise<GitHttpServer> {
  // Run the real backend by path, so a PATH wrapper around `git` in a test sees only the client's calls.
  const backend = path.join(execFileSync('git', ['--exec-path'], { encoding: 'utf8' }).trim(), 'git-http-backend');
  const requests: GitHttpRequest[] = [];
  const failures: number[] = [];
  const cache = new Map<string, { status: number; headers: Record<string, string>; body: Buffer }>();
  let hits = 0;
  const forgetRepo = (repo: string) => {
    for (const k of cache.keys()) if (k.startsWith(`${repo}\0`)) cache.delete(k);
  };

  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const svc = u.searchParams.get('service') ?? path.basename(u.pathname);
    const service = svc === 'git-upload-pack' || svc === 'git-receive-pack' ? svc : undefined;
    const header = req.headers.authorization;
    const entry: GitHttpRequest = { method: req.method ?? 'GET', path: u.pathname, query: u.search.slice(1), service, auth: header !== undefined };
    requests.push(entry);
    res.on('close', () => {
      if (!res.writableFinished) entry.aborted = true;
    });
    const reply = (status: number, text: string, headers: Record<string, string> = {}): void => {
      entry.status = status;
      req.resume();
      res.writeHead(status, { 'Content-Type': 'text/plain', ...headers }).end(text);
    };

    if (opts.latencyMs === Infinity) return;
    setTimeout(() => {
      const injected = failures.shift();
      if (injected !== undefined) return reply(injected, `injected ${injected}\n`);
      const needsAuth = opts.token !== undefined && (opts.authAll === true || service === 'git-receive-pack');
      if (needsAuth && header !== `token ${opts.token}`) {
        return reply(401, 'authentication required\n', { 'WWW-Authenticate': 'Basic realm="git"' });
      }
      // The repo a request is about: the path up to `/info/refs` or `/git-upload-pack` / `/git-receive-pack`.
      const repo = decodeURIComponent(u.pathname).replace(/\/(info\/refs|git-upload-pack|git-receive-pack)$/, '');
      if (service === 'git-receive-pack' && entry.method === 'POST') forgetRepo(repo);
      const listing = opts.cacheRefs === true && service === 'git-upload-pack';
      if (!listing) return void runBackend(null, null);
      // The key: everything the reply depends on but the repo's refs (a push forgets those).
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const isListing = entry.method === 'GET' ? u.pathname.endsWith('/info/refs') : /command=ls-refs/.test(body.toString('latin1'));
        if (!isListing) return void runBackend(body, null);
        const key = [repo, entry.method, u.search, String(req.headers['git-protocol'] ?? ''), req.headers['content-encoding'] ?? '',
          createHash('sha256').update(body).digest('hex')].join('\0');
        const hit = cache.get(key);
        if (hit) {
          hits++;
          entry.status = hit.status;
          return void res.writeHead(hit.status, hit.headers).end(hit.body);
        }
        runBackend(body, key);
      });
    }, opts.latencyMs ?? 0);

    /** git http-backend as a CGI; `body` when the request body was already read; `key` to cache a 200 reply. */
    function runBackend(body: Buffer | null, key: string | null): void {
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: opts.root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(u.pathname),
        QUERY_STRING: u.search.slice(1),
        REQUEST_METHOD: entry.method,
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: opts.token !== undefined && (opts.authAll === true || service === 'git-receive-pack') ? 'ci' : '',
        REMOTE_ADDR: '127.0.0.1',
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'http.receivepack',
        GIT_CONFIG_VALUE_0: 'true',
      };
      if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
      if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
      const proto = req.headers['git-protocol'];
      if (typeof proto === 'string') env.GIT_PROTOCOL = proto;

      const cgi = spawn(backend, [], { env, stdio: ['pipe', 'pipe', 'ignore'] });
      if (body === null) req.pipe(cgi.stdin);
      else cgi.stdin.end(body);
      cgi.stdin.on('error', () => {}); // the backend may exit before reading everything (e.g. on 404)
      // CGI output: header lines, a blank line, then the body, which is streamed through as it comes.
      let head = Buffer.alloc(0);
      let started = false;
      let status = 200;
      const headers: Record<string, string> = {};
      const kept: Buffer[] = [];
      const send = (chunk: Buffer) => {
        if (key !== null) kept.push(chunk);
        res.write(chunk);
      };
      cgi.stdout.on('data', (chunk: Buffer) => {
        if (started) return send(chunk);
        head = Buffer.concat([head, chunk]);
        const text = head.toString('latin1');
        const m = /\r?\n\r?\n/.exec(text);
        if (!m) return;
        started = true;
        for (const line of text.slice(0, m.index).split(/\r?\n/)) {
          const i = line.indexOf(':');
          if (i < 0) continue;
          const k = line.slice(0, i).trim();
          const v = line.slice(i + 1).trim();
          if (k.toLowerCase() === 'status') status = Number.parseInt(v, 10);
          else headers[k] = v;
        }
        entry.status = status;
        res.writeHead(status, headers);
        send(head.subarray(m.index + m[0].length));
      });
      cgi.on('close', (code) => {
        if (!started) {
          entry.status = 502;
          res.writeHead(502).end('backend produced no response\n');
          return;
        }
        res.end();
        if (key !== null && code === 0 && status === 200) cache.set(key, { status, headers, body: Buffer.concat(kept) });
      });
    }
  });

  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    failNext(n, status = 500) {
      for (let i = 0; i < n; i++) failures.push(status);
    },
    cacheHits: () => hits,
    forgetRefs: () => cache.clear(),
    close: () => closeServer(server),
  };
}
