// The one HTTP call both CI clients make: Bearer token, JSON, a timeout, the sweep's stop signal, and the
// proxy the environment names (http-transport.ts, the one HTTP stack the Gitea client and the ref listing
// use too). Errors are CiError with the token scrubbed; the caller decides whether a failed call ends
// anything (a failed poll is simply tried again): one call is one attempt, never a reconnect loop.
import { CiError } from '../../core/errors.js';
import { scrub } from '../log.js';
import { httpRequest, type HttpResponse, HttpTrouble } from '../http-transport.js';

export interface CiHttpOptions {
  /** The server's base URL, e.g. https://drone.example.org (no /api). */
  server: string;
  token: string;
  env: NodeJS.ProcessEnv;
  /** Per call (default 30 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface CiResponse {
  status: number;
  /** Parsed JSON body; undefined for an empty body. */
  body: unknown;
}

export type CiCall = (method: string, path: string, body?: unknown, opts?: { allow404?: boolean }) => Promise<CiResponse>;

export function ciHttp(engine: string, o: CiHttpOptions): CiCall {
  const base = o.server.replace(/\/+$/, '');
  return async (method, path, body, opts = {}) => {
    const what = `${engine} ${method} ${path}`;
    let res: HttpResponse;
    try {
      res = await httpRequest(base + path, {
        method,
        headers: {
          Authorization: `Bearer ${o.token}`,
          Accept: 'application/json',
          ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        env: o.env, timeoutMs: o.timeoutMs ?? 30_000, signal: o.signal,
      });
    } catch (err) {
      if (!(err instanceof HttpTrouble)) throw err;
      const why = err.kind === 'timeout' ? 'timed out' : err.message;
      throw new CiError(scrub(`${what}: ${why}`));
    }
    const text = res.text();
    if (res.status === 404 && opts.allow404) return { status: 404, body: undefined };
    if (!res.ok) {
      const said = scrub(text.slice(0, 200).replace(/\s+/g, ' ').trim());
      const hint = res.status === 401 || res.status === 403 ? ' (check the CI token and its access to the repo)' : '';
      throw new CiError(`${what}: HTTP ${res.status}${said ? ` ${said}` : ''}${hint}`, res.status);
    }
    if (text.trim() === '') return { status: res.status, body: undefined };
    try {
      return { status: res.status, body: JSON.parse(text) as unknown };
    } catch {
      throw new CiError(`${what}: the answer is not JSON`);
    }
  };
}
