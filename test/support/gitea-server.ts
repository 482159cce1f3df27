// A loopback stand-in for the Gitea API subset mirror-sync uses: list open pulls (paged), comment on an
// issue, close a pull. Checks `Authorization: token <T>` (401 otherwise), records what was done, and can
// inject failures (failNext) to exercise retries.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from './http.js';

export interface FakePull {
  number: number;
  title: string;
  state: 'open' | 'closed';
  head: { sha: string; ref: string };
}

export interface GiteaRequest {
  method: string;
  path: string;
  query: string;
  auth: 'ok' | 'missing' | 'wrong';
  status: number;
  /** The client hung up before the reply was complete. */
  aborted?: boolean;
}

export interface GiteaServer {
  /** API base, e.g. http://127.0.0.1:1234/api/v1 */
  api: string;
  requests: GiteaRequest[];
  comments: { repo: string; index: number; body: string }[];
  closed: { repo: string; index: number }[];
  /** Makes `owner/repo` exist (with no pulls yet); addPull does this too. */
  addRepo(repo: string): void;
  /** Adds an open pull to `owner/repo`; numbers count up from 1 per repo unless given. */
  addPull(repo: string, pull: { headSha: string; title?: string; number?: number }): FakePull;
  pulls(repo: string): FakePull[];
  /** The next `n` requests get HTTP `status` (default 500). */
  failNext(n: number, status?: number): void;
  close(): Promise<void>;
}

/** `latencyMs`: delay before each reply; Infinity: never reply (a stalled server), until close(). */
export async function startGiteaServer(opts: { token: string; maxLimit?: number; latencyMs?: number }): Promise<GiteaServer> {
  const maxLimit = opts.maxLimit ?? 50;
  const repos = new Map<string, FakePull[]>();
  const requests: GiteaRequest[] = [];
  const comments: GiteaServer['comments'] = [];
  const closed: GiteaServer['closed'] = [];
  const failures: number[] = [];

  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const header = req.headers.authorization;
    const auth = header === undefined ? 'missing' : header === `token ${opts.token}` ? 'ok' : 'wrong';
    const entry: GiteaRequest = { method: req.method ?? 'GET', path: u.pathname, query: u.search.slice(1), auth, status: 0 };
    requests.push(entry);
    res.on('close', () => {
      if (!res.writableFinished) entry.aborted = true;
    });
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      entry.status = status;
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
    };
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => opts.latencyMs !== Infinity && setTimeout(() => {
      const injected = failures.shift();
      if (injected !== undefined) return send(injected, { message: `injected ${injected}` });
      if (auth !== 'ok') return send(401, { message: 'token is required' });
      const m = /^\/api\/v1\/repos\/([^/]+)\/([^/]+)\/(pulls|issues)(?:\/(\d+)(\/comments)?)?$/.exec(u.pathname);
      const pulls = m ? repos.get(`${m[1]}/${m[2]}`) : undefined;
      if (!m || !pulls) return send(404, { message: 'not found' });
      const repo = `${m[1]}/${m[2]}`;
      const index = m[4] ? Number(m[4]) : undefined;
      let body: Record<string, unknown> = {};
      try {
        if (chunks.length) body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        return send(400, { message: 'bad JSON' });
      }

      if (req.method === 'GET' && m[3] === 'pulls' && index === undefined) {
        const state = u.searchParams.get('state') ?? 'open';
        const page = Math.max(1, Number(u.searchParams.get('page') ?? 1));
        const limit = Math.min(maxLimit, Math.max(1, Number(u.searchParams.get('limit') ?? 30)));
        const all = pulls.filter((p) => state === 'all' || p.state === state);
        return send(200, all.slice((page - 1) * limit, page * limit), { 'X-Total-Count': String(all.length) });
      }
      const pull = pulls.find((p) => p.number === index);
      if (!pull) return send(404, { message: 'no such pull' });
      if (req.method === 'POST' && m[3] === 'issues' && m[5]) {
        if (typeof body.body !== 'string') return send(422, { message: 'body required' });
        comments.push({ repo, index: pull.number, body: body.body });
        return send(201, { id: comments.length, body: body.body });
      }
      if (req.method === 'PATCH' && m[3] === 'pulls' && !m[5]) {
        if (body.state === 'closed' && pull.state === 'open') {
          pull.state = 'closed';
          closed.push({ repo, index: pull.number });
        }
        return send(201, pull);
      }
      return send(405, { message: 'method not allowed' });
    }, opts.latencyMs ?? 0));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    api: `http://127.0.0.1:${port}/api/v1`,
    requests,
    comments,
    closed,
    addRepo(repo) {
      if (!repos.has(repo)) repos.set(repo, []);
    },
    addPull(repo, p) {
      const list = repos.get(repo) ?? [];
      repos.set(repo, list);
      const pull: FakePull = {
        number: p.number ?? list.length + 1,
        title: p.title ?? `PR ${list.length + 1}`,
        state: 'open',
        head: { sha: p.headSha, ref: `branch-${list.length + 1}` },
      };
      list.push(pull);
      return pull;
    },
    pulls: (repo) => repos.get(repo) ?? [],
    failNext(n, status = 500) {
      for (let i = 0; i < n; i++) failures.push(status);
    },
    close: () => closeServer(server),
  };
}
