// Webhook delivery: one JSON POST per notice and URL, through the proxy the environment names (the one
// HTTP stack, http-transport.ts), retried with back-off on network trouble, 429 and 5xx. Never throws:
// a notification that cannot be delivered is logged and does not fail the sweep. Only the URL's origin is
// logged: chat webhooks carry their secret in the path.
import type { Logger } from './log.js';
import { scrub } from './log.js';
import { httpRequest, HttpTrouble } from './http-transport.js';
import { later } from './timers.js';

export interface DeliveryOptions {
  env: NodeJS.ProcessEnv;
  log: Logger;
  signal?: AbortSignal;
  /** Tries in all (default 4). */
  attempts?: number;
  /** Wait before the n-th retry: backoffMs * 2^(n-1) (default 1000). */
  backoffMs?: number;
  /** Per request (default 10 s). */
  timeoutMs?: number;
}

export function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'an invalid URL';
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = later(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Whether the receiver took it (a 2xx answer). */
export async function postJson(url: string, body: unknown, o: DeliveryOptions): Promise<boolean> {
  const attempts = o.attempts ?? 4;
  const payload = scrub(JSON.stringify(body));
  for (let n = 1; n <= attempts; n++) {
    if (o.signal?.aborted) return false;
    let why: string;
    let final = false;
    try {
      const res = await httpRequest(url, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: payload,
        // A stop (SIGTERM) ends a delivery at once: the next run announces what was not delivered.
        env: o.env, timeoutMs: o.timeoutMs ?? 10_000, signal: o.signal, discardBody: true,
      });
      if (res.ok) return true;
      why = `HTTP ${res.status}`;
      final = res.status < 500 && res.status !== 429 && res.status !== 408;
    } catch (err) {
      if (o.signal?.aborted) return false;
      const kind = err instanceof HttpTrouble ? err.kind : 'transient';
      why = kind === 'timeout' ? 'timed out' : scrub((err as Error).message);
      // A proxy refusing our credentials, a bad certificate: asking again cannot help.
      final = kind === 'auth' || kind === 'final';
    }
    const last = final || n === attempts;
    o.log.warn({ to: origin(url), attempt: n, why }, last ? 'notification not delivered' : 'notification failed; retrying');
    if (last) return false;
    await sleep((o.backoffMs ?? 1000) * 2 ** (n - 1), o.signal);
  }
  return false;
}
