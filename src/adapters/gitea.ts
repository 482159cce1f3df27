// The few Gitea API calls mirror-sync needs: list open PRs, comment on one, close one.
// Every call has a timeout and stops with the sweep's signal; transient failures (network, 5xx, 429) are
// retried, a 4xx is final. Calls go through http-transport.ts, the one HTTP stack (the proxy the
// environment names, curl's no_proxy rules, git's CA files), as the ref listing does.
import { setMaxListeners } from 'node:events';
import { mayAct } from './effects.js';
import { MirrorError } from '../core/errors.js';
import { httpRequest, type HttpResponse, HttpTrouble } from './http-transport.js';
import type { Logger } from './log.js';
import { scrub } from './log.js';
import { AuthFailure, type RetryPolicy, TransientError, withRetry } from './retry.js';

export interface PullRequest {
  number: number;
  title: string;
  headSha: string;
}

export interface GiteaClient {
  listOpenPulls(): Promise<PullRequest[]>;
  comment(index: number, body: string): Promise<void>;
  close(index: number): Promise<void>;
}

const PAGE_LIMIT = 50;

export function giteaClient(opts: {
  api: string;
  owner: string;
  repo: string;
  token: string;
  timeoutMs: number;
  retry: RetryPolicy;
  log: Logger;
  /** The sweep's stop signal: an in-flight call is aborted and not retried. */
  signal?: AbortSignal;
  /** Where the proxy settings are read (the sweep's environment, never process.env). */
  env: NodeJS.ProcessEnv;
}): GiteaClient {
  if (opts.signal) setMaxListeners(0, opts.signal); // shared by every concurrent call of the sweep
  const base = `${opts.api.replace(/\/+$/, '')}/repos/${encodeURIComponent(opts.owner)}/${encodeURIComponent(opts.repo)}`;

  async function once(method: string, path: string, body?: unknown): Promise<HttpResponse> {
    const what = `${method} ${path}`;
    if (opts.signal?.aborted) throw new MirrorError(`Gitea ${what}: not started, the sweep was stopped`);
    let res: HttpResponse;
    try {
      res = await httpRequest(base + path, {
        method,
        headers: {
          Authorization: `token ${opts.token}`,
          Accept: 'application/json',
          ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        env: opts.env, timeoutMs: opts.timeoutMs, signal: opts.signal,
      });
    } catch (err) {
      if (!(err instanceof HttpTrouble)) throw err;
      if (err.kind === 'stopped') throw new MirrorError(`Gitea ${what}: stopped, the sweep was stopped`);
      const msg = scrub(`Gitea ${what}: ${err.message}`);
      // A proxy refusing our credentials is the proxy URL's to fix; a bad certificate or an unusable proxy
      // will not pass by asking again; network trouble and our timeout may.
      if (err.kind === 'auth') throw new AuthFailure(msg);
      if (err.kind === 'final') throw new MirrorError(msg);
      throw new TransientError(msg);
    }
    if (res.ok) return res;
    const text = scrub(res.text().slice(0, 200).replace(/\s+/g, ' ').trim());
    const msg = `Gitea ${what}: HTTP ${res.status}${text ? ` ${text}` : ''}`;
    if (res.status >= 500 || res.status === 429) throw new TransientError(msg);
    if (res.status === 401 || res.status === 403) throw new AuthFailure(msg);
    throw new MirrorError(msg);
  }

  const call = async (method: string, path: string, body?: unknown): Promise<HttpResponse> => {
    // A GET only reads; anything else changes the mirror (closing a PR) and is refused in dry-run.
    mayAct(`Gitea ${method} ${path}`, method === 'GET' ? 'read' : 'write');
    return withRetry(`Gitea ${method} ${path}`, opts.retry, opts.log, () => once(method, path, body), opts.signal);
  };

  return {
    async listOpenPulls() {
      const out: PullRequest[] = [];
      const numbers = new Set<number>();
      let seen = 0;
      for (let page = 1; ; page++) {
        const res = await call('GET', `/pulls?state=open&page=${page}&limit=${PAGE_LIMIT}`);
        let items: unknown;
        try {
          items = JSON.parse(res.text()) as unknown;
        } catch {
          throw new MirrorError(`Gitea GET /pulls: the answer is not JSON`);
        }
        if (!Array.isArray(items)) throw new MirrorError(`Gitea GET /pulls: expected a JSON array`);
        let fresh = 0;
        for (const it of items as { number?: unknown; title?: unknown; head?: { sha?: unknown } }[]) {
          if (typeof it.number !== 'number' || typeof it.head?.sha !== 'string' || numbers.has(it.number)) continue;
          numbers.add(it.number);
          fresh++;
          out.push({ number: it.number, title: String(it.title ?? ''), headSha: it.head.sha });
        }
        // A server that ignores `page` (a proxy or an old API in front) sends the same page forever: a page
        // with nothing new ends the list, whatever X-Total-Count says.
        if (items.length > 0 && fresh === 0) break;
        // Gitea sends X-Total-Count; trust it when present, because a server whose page cap is below
        // our limit returns "short" pages that are not the last. Without it, a short page ends the list.
        const total = Number(res.header('x-total-count') ?? Number.NaN);
        seen += items.length;
        if (items.length === 0 || (Number.isFinite(total) ? seen >= total : items.length < PAGE_LIMIT)) break;
      }
      return out;
    },
    async comment(index, body) {
      await call('POST', `/issues/${index}/comments`, { body });
    },
    async close(index) {
      await call('PATCH', `/pulls/${index}`, { state: 'closed' });
    },
  };
}
