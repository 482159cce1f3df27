// The few Gitea API calls mirror-sync needs: list open PRs, comment on one, close one.
// Every call has a timeout and stops with the sweep's signal; transient failures (network, 5xx, 429) are
// retried, a 4xx is final. Calls go through the proxy the environment names (https_proxy, http_proxy,
// no_proxy, upper or lower case), as git's own do: Node's built-in fetch ignores those variables.
import { setMaxListeners } from 'node:events';
import type { fetch as UndiciFetch } from 'undici';
import { mayAct } from './effects.js';
import { ConfigError, MirrorError } from '../core/errors.js';
import { proxyFor } from './http-refs.js';
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
  const fetchVia = proxiedFetch(opts.env, opts.api);
  if (opts.signal) setMaxListeners(0, opts.signal); // shared by every concurrent call of the sweep
  const base = `${opts.api.replace(/\/+$/, '')}/repos/${encodeURIComponent(opts.owner)}/${encodeURIComponent(opts.repo)}`;

  async function once(method: string, path: string, body?: unknown): Promise<Response> {
    const what = `${method} ${path}`;
    if (opts.signal?.aborted) throw new MirrorError(`Gitea ${what}: not started, the sweep was stopped`);
    let res: Response;
    const deadline = AbortSignal.timeout(opts.timeoutMs);
    try {
      res = (await fetchVia(base + path, {
        method,
        headers: {
          Authorization: `token ${opts.token}`,
          Accept: 'application/json',
          ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: opts.signal ? AbortSignal.any([deadline, opts.signal]) : deadline,
      })) as unknown as Response;
    } catch (err) {
      if (opts.signal?.aborted) throw new MirrorError(`Gitea ${what}: stopped, the sweep was stopped`);
      // fetch rejects only for network trouble and our timeout; both may pass.
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why = deadline.aborted ? `timed out after ${opts.timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
      throw new TransientError(scrub(`Gitea ${what}: ${why}`));
    }
    if (res.ok) return res;
    const text = scrub((await res.text().catch(() => '')).slice(0, 200).replace(/\s+/g, ' ').trim());
    const msg = `Gitea ${what}: HTTP ${res.status}${text ? ` ${text}` : ''}`;
    if (res.status >= 500 || res.status === 429) throw new TransientError(msg);
    if (res.status === 401 || res.status === 403) throw new AuthFailure(msg);
    throw new MirrorError(msg);
  }

  const call = async (method: string, path: string, body?: unknown): Promise<Response> => {
    // A GET only reads; anything else changes the mirror (closing a PR) and is refused in dry-run.
    mayAct(`Gitea ${method} ${path}`, method === 'GET' ? 'read' : 'write');
    return withRetry(`Gitea ${method} ${path}`, opts.retry, opts.log, () => once(method, path, body), opts.signal);
  };

  return {
    async listOpenPulls() {
      const out: PullRequest[] = [];
      let seen = 0;
      for (let page = 1; ; page++) {
        const res = await call('GET', `/pulls?state=open&page=${page}&limit=${PAGE_LIMIT}`);
        const items = (await res.json()) as unknown;
        if (!Array.isArray(items)) throw new MirrorError(`Gitea GET /pulls: expected a JSON array`);
        for (const it of items as { number?: unknown; title?: unknown; head?: { sha?: unknown } }[]) {
          if (typeof it.number !== 'number' || typeof it.head?.sha !== 'string') continue;
          out.push({ number: it.number, title: String(it.title ?? ''), headSha: it.head.sha });
        }
        // Gitea sends X-Total-Count; trust it when present, because a server whose page cap is below
        // our limit returns "short" pages that are not the last. Without it, a short page ends the list.
        const total = Number(res.headers.get('x-total-count') ?? Number.NaN);
        seen += items.length;
        if (items.length === 0 || (Number.isFinite(total) ? seen >= total : items.length < PAGE_LIMIT)) break;
      }
      return out;
    },
    async comment(index, body) {
      await (await call('POST', `/issues/${index}/comments`, { body })).body?.cancel();
    },
    async close(index) {
      await (await call('PATCH', `/pulls/${index}`, { state: 'closed' })).body?.cancel();
    },
  };
}

/** undici's fetch, its options and its reply. */
export type Fetch = typeof UndiciFetch;
export type FetchInit = NonNullable<Parameters<Fetch>[1]>;

/**
 * undici's fetch for `url` under the proxy settings in `env`, as curl (and so git) reads them (proxyFor():
 * https_proxy/HTTPS_PROXY for https, http_proxy for http, then all_proxy/ALL_PROXY; no_proxy/NO_PROXY),
 * or direct. A proxy that is not an HTTP proxy (socks5://) is refused now, rather than bypassed. undici
 * is loaded on the first call: a plan that asks no API anything does not pay for it. The one proxy-aware
 * client of the Gitea, CI and webhook calls.
 */
export function proxiedFetch(env: NodeJS.ProcessEnv, url: string): (input: string, init: Omit<FetchInit, 'dispatcher'>) => ReturnType<Fetch> {
  const { proxy, noProxy, from } = proxyFor(env, url);
  if (proxy && !/^https?:\/\//i.test(proxy)) {
    throw new ConfigError(`${from} is not an http(s) proxy (${redactUrl(proxy)}); the Gitea, CI and webhook calls need one: set https_proxy or http_proxy`);
  }
  let ready: Promise<{ fetch: Fetch; init: Pick<FetchInit, 'dispatcher'> }> | undefined;
  return async (input, init) => {
    // One proxy for both schemes: only this client's own origin is ever asked for, and the agent must not
    // fall back to process.env for the other scheme. It applies no_proxy itself.
    ready ??= import('undici').then((u) => ({
      fetch: u.fetch,
      init: proxy ? { dispatcher: new u.EnvHttpProxyAgent({ httpProxy: proxy, httpsProxy: proxy, noProxy }) } : {},
    }));
    const { fetch, init: via } = await ready;
    return fetch(input, { ...init, ...via });
  };
}

/** A proxy URL as shown in a message: without its user and password. */
function redactUrl(u: string): string {
  return u.replace(/(:\/\/)[^/@\s]*@/, '$1***@');
}
