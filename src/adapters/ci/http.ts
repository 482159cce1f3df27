// The one HTTP call both CI clients make: Bearer token, JSON, a timeout, the sweep's stop signal, and the
// proxy the environment names (the same rules as the Gitea client). Errors are CiError with the token
// scrubbed; the caller decides whether a failed call ends anything (a failed poll is simply tried again).
import { CiError } from '../../core/errors.js';
import { scrub } from '../log.js';
import { type Fetch, proxiedFetch } from '../gitea.js';

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
  const fetchVia = proxiedFetch(o.env, base);
  return async (method, path, body, opts = {}) => {
    const what = `${engine} ${method} ${path}`;
    const deadline = AbortSignal.timeout(o.timeoutMs ?? 30_000);
    let res: Awaited<ReturnType<Fetch>>;
    try {
      res = await fetchVia(base + path, {
        method,
        headers: {
          Authorization: `Bearer ${o.token}`,
          Accept: 'application/json',
          ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: o.signal ? AbortSignal.any([deadline, o.signal]) : deadline,
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why = deadline.aborted ? 'timed out' : o.signal?.aborted ? 'stopped' : (e.cause?.code ?? e.cause?.message ?? e.message);
      throw new CiError(scrub(`${what}: ${why}`));
    }
    const text = await res.text().catch(() => '');
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
