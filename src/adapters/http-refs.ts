// Listing a remote's refs over smart HTTP in-process: one `GET <repo>/info/refs?service=git-upload-pack`
// per repository (protocol v0: the advertisement carries every ref, the peeled `^{}` ids and HEAD's
// symref), over keep-alive connections pooled for the whole process (one TLS handshake per forge, not per
// recipe). `git ls-remote` costs two processes and, with protocol v2, two requests per repository; on a
// small host those, not the network, set the pace of a plan. The result equals `git ls-remote`'s parse.
//
// Errors are classed as the git adapter's are: network trouble, timeouts and HTTP 5xx/429 are transient
// (retried with the policy given), 401/403 are AuthFailure, any other answer is final; every message is
// one line with the URL's password removed. The mirror token goes out as `Authorization: token <T>` to
// the mirror's own origin only (never to a redirect elsewhere), never in a URL, never logged. The HTTP
// itself (keep-alive agents, proxies, CONNECT tunnels, CAs) is http-transport.ts, shared with every client.
import { STATUS_CODES } from 'node:http';
import { AdvertisementError, onlyTags, parseAdvertisement, type AdvertisedRefs } from '../core/ref-advertisement.js';
import { GitError } from '../core/errors.js';
import { mayAct } from './effects.js';
import type { Logger } from './log.js';
import { scrub } from './log.js';
import { AuthFailure, TransientError, withRetry, type RetryPolicy } from './retry.js';
import {
  basicAuth, type BudgetHold, CERT_TROUBLE, MAX_REDIRECTS, mib, networkReason, ProxyTrouble, readWithin, type Reply, type ReplyBudget, replyBudget,
  shownUrl, transportFor, undoCoding,
} from './http-transport.js';
import { every, later } from './timers.js';

export interface HttpRefsOptions {
  /** Where the proxy settings and git's low-speed time are read (the sweep's environment, never process.env). */
  env: NodeJS.ProcessEnv;
  /** Wall-clock deadline of one attempt (ms); 0: none. */
  timeoutMs?: number;
  signal?: AbortSignal;
  retry?: RetryPolicy;
  log?: Pick<Logger, 'warn'>;
  /** Mirror token, sent to the origin of `authUrl` only. */
  token?: string;
  authUrl?: string;
  symref?: boolean;
  tagsOnly?: boolean;
  /** Where the reply's bytes are counted (default: the budget every reply of the process shares). */
  budget?: ReplyBudget;
}

/** The server is not a smart-HTTP git server (a "dumb" one serves info/refs as a file): let git list it. */
export class NotSmartHttp extends Error {}

/** What git asks for after the repository's URL; a redirect must keep it (git's update_url_from_redirect). */
const LISTING_TAIL = 'info/refs?service=git-upload-pack';
/** The budget's limit is also one reply's: an advertisement of 100 000 tags is ~16 MiB. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * git's low-speed rule (curl's CURLOPT_LOW_SPEED_LIMIT/TIME from GIT_HTTP_LOW_SPEED_LIMIT/TIME, read as C's
 * strtol reads them; the sweep gives git 1000 B/s and 60 s unless the environment says otherwise): a
 * transfer slower than `limit` bytes/s for `seconds` s is cut off. Either at 0 (or empty, or not a number):
 * no rule, as in git. git configuration (http.lowSpeedLimit/Time) makes git list instead (git.ts).
 */
export function lowSpeedRule(env: NodeJS.ProcessEnv): { limit: number; seconds: number } | undefined {
  const read = (name: string, otherwise: number): number => {
    const v = env[name];
    if (v === undefined) return otherwise;
    return Number(/^\s*([+-]?\d+)/.exec(v)?.[1] ?? 0);
  };
  const limit = read('GIT_HTTP_LOW_SPEED_LIMIT', 1000);
  const seconds = read('GIT_HTTP_LOW_SPEED_TIME', 60);
  return limit > 0 && seconds > 0 ? { limit, seconds } : undefined;
}

/**
 * curl's speed check, once a second: the speed is the bytes of the last (up to) 5 s over their time; below
 * the limit a clock starts, at or above it stops; the clock reaching `seconds` cuts the transfer off.
 * Time spent waiting for the reply counts, as in curl (the request is sent, no byte comes back).
 */
function watchSpeed(rule: { limit: number; seconds: number }, cut: () => void): { got(n: number): void; stop(): void } {
  let bytes = 0;
  const samples: { at: number; bytes: number }[] = [{ at: performance.now(), bytes: 0 }];
  let slowSince: number | undefined;
  const timer = every(() => {
    const now = performance.now();
    samples.push({ at: now, bytes });
    while (samples.length > 6) samples.shift();
    const first = samples[0]!;
    const speed = now > first.at ? ((bytes - first.bytes) * 1000) / (now - first.at) : Infinity;
    if (speed >= rule.limit) slowSince = undefined;
    else if (slowSince === undefined) slowSince = now;
    else if (now - slowSince >= rule.seconds * 1000) cut();
  }, 1000);
  return { got: (n) => void (bytes += n), stop: () => clearInterval(timer) };
}
const USER_AGENT = 'git/ccci-sweep';

/** Lists `url`'s refs with one advertisement request (plus redirects), retrying transient failures. */
export async function listRefsHttp(url: string, opts: HttpRefsOptions): Promise<AdvertisedRefs> {
  const what = `ls-remote ${shownUrl(url)}`;
  const once = () => listOnce(url, opts, what);
  const all = await (opts.retry ? withRetry(what, opts.retry, opts.log, once, opts.signal) : once());
  // With --tags git shows no HEAD line; a caller that asks for both keeps HEAD's branch all the same.
  if (opts.tagsOnly) return { ...onlyTags(all), ...(opts.symref && all.defaultBranch ? { defaultBranch: all.defaultBranch } : {}) };
  if (!opts.symref) delete all.defaultBranch;
  return all;
}

async function listOnce(url: string, opts: HttpRefsOptions, what: string): Promise<AdvertisedRefs> {
  if (opts.signal?.aborted) throw new GitError(`${what}: not started, the sweep was stopped`);
  mayAct(what, 'read'); // a GET changes nothing: allowed in a dry-run too
  const env = opts.env;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const rule = lowSpeedRule(env);
  const deadline = new AbortController();
  const stall = new AbortController();
  const deadlineTimer = timeoutMs > 0 ? later(() => deadline.abort(), timeoutMs) : undefined;
  const speed = rule ? watchSpeed(rule, () => stall.abort()) : undefined;
  const progress = (n: number) => speed?.got(n);
  const signal = AbortSignal.any([deadline.signal, stall.signal, ...(opts.signal ? [opts.signal] : [])]);
  const failed = (err: unknown): Error => {
    if (opts.signal?.aborted) return new GitError(`${what}: stopped, the sweep was stopped`);
    if (deadline.signal.aborted) return new TransientError(`${what}: timed out after ${timeoutMs} ms`);
    if (stall.signal.aborted) {
      return new TransientError(`${what}: too slow, less than ${rule!.limit} bytes/s for ${rule!.seconds} s (GIT_HTTP_LOW_SPEED_LIMIT/GIT_HTTP_LOW_SPEED_TIME)`);
    }
    if (err instanceof ProxyTrouble) {
      const message = `${what} failed: ${err.message}`;
      return err.kind === 'auth' ? new AuthFailure(message) : err.kind === 'final' ? new GitError(message) : new TransientError(message);
    }
    return networkError(what, err);
  };
  try {
    let target = new URL(`${url.replace(/\/+$/, '')}/info/refs?service=git-upload-pack`);
    const tokenOrigin = opts.token && opts.authUrl ? new URL(opts.authUrl).origin : undefined;
    // Credentials written in the URL go in a header (never sent in the request line), to that origin only.
    const firstOrigin = target.origin;
    const basic = target.username || target.password
      ? basicAuth(target)
      : undefined;
    target.username = '';
    target.password = '';
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'User-Agent': USER_AGENT, Accept: '*/*', Pragma: 'no-cache' };
      // As git: the token is configured for the mirror's origin, so it goes only with a request for the
      // mirror and only to that origin; a redirect elsewhere goes without it.
      const auth = tokenOrigin === firstOrigin ? `token ${opts.token}` : basic;
      if (auth && target.origin === firstOrigin) headers.Authorization = auth;
      let res: Reply;
      try {
        res = await transportFor(env, target.href)(target, { method: 'GET', headers }, signal);
      } catch (err) {
        throw failed(err);
      }
      const location = res.header('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.discard();
        if (hop >= MAX_REDIRECTS) throw new GitError(`${what} failed: more than ${MAX_REDIRECTS} redirects`);
        let next: URL;
        try {
          next = new URL(location, target);
        } catch {
          // A Location no URL parser reads: asking again gets the same answer.
          throw new GitError(`${what} failed: redirected to an invalid URL`);
        }
        if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new GitError(`${what} failed: redirected to a ${next.protocol} URL`);
        next.username = ''; // never credentials a redirect hands us
        next.password = '';
        next.hash = ''; // never sent; curl's effective URL has none
        target = next;
        continue;
      }
      // As git: a redirect must lead to the same listing under another base URL; one elsewhere (a login
      // page, a path without the service query) is refused, never read as this repository's refs.
      if (hop > 0 && (res.status === 200 || res.status === 401) && !target.href.endsWith(LISTING_TAIL)) {
        await res.discard();
        throw new GitError(`${what} failed: redirected to ${shownUrl(target.href)}, which is not a ref listing (git refuses such a redirect)`);
      }
      if (res.status !== 200) {
        await res.discard();
        throw statusError(what, res.status, STATUS_CODES[res.status] ?? '', headers.Authorization !== undefined);
      }
      if (!/^application\/x-git-upload-pack-advertisement\b/i.test(res.header('content-type') ?? '')) {
        await res.discard();
        throw new NotSmartHttp(`${what}: not a smart-HTTP git server`);
      }
      const hold = (opts.budget ?? replyBudget).open(() => res.destroy());
      try {
        const body = decoded(await readBody(res, progress, what, hold), res.header('content-encoding'), what);
        return parseAdvertisement(body);
      } catch (err) {
        if (err instanceof AdvertisementError) throw new GitError(scrub(`${what} failed: ${err.message}`));
        throw err;
      } finally {
        hold.release();
      }
    }
  } catch (err) {
    if (err instanceof GitError || err instanceof TransientError || err instanceof NotSmartHttp || err instanceof AuthFailure) throw err;
    throw failed(err);
  } finally {
    clearTimeout(deadlineTimer);
    speed?.stop();
  }
}

/**
 * We ask for no compression (no Accept-Encoding), but a proxy or forge may compress all the same; gzip and
 * deflate, which curl accepts for git, are undone here, anything else is a clear error.
 */
function decoded(body: Buffer, encoding: string | undefined, what: string): Buffer {
  const e = (encoding ?? '').trim().toLowerCase();
  let out: Buffer | null;
  try {
    out = undoCoding(body, e, MAX_BODY_BYTES, ['gzip', 'x-gzip', 'deflate']);
  } catch (err) {
    throw new GitError(`${what} failed: the ${e} reply could not be decompressed (${(err as Error).message})`);
  }
  if (out === null) throw new GitError(`${what} failed: the reply is ${e}-encoded, which is not supported`);
  return out;
}

async function readBody(res: Reply, progress: (n: number) => void, what: string, hold: BudgetHold): Promise<Buffer> {
  return readWithin(res, MAX_BODY_BYTES, hold, (size) => new GitError(size > hold.limit
    ? `${what} failed: the ref advertisement is larger than ${mib(hold.limit)} MiB`
    : `${what} failed: the ref advertisement is too large (over ${mib(size)} MiB, while the listings in flight may hold ${mib(hold.limit)} MiB together)`), progress);
}

function statusError(what: string, status: number, text: string, sentAuth: boolean): Error {
  const http = `HTTP ${status}${text ? ` ${text}` : ''}`;
  if (status === 401 || status === 403) {
    return new AuthFailure(`${what} failed: the remote ${sentAuth ? 'refused the credentials' : 'wants credentials, none are configured for it'} (${http})`);
  }
  if (status === 404) return new GitError(`${what} failed: repository not found (${http})`);
  if (status >= 500 || status === 429) return new TransientError(`${what} failed: ${http}`);
  return new GitError(`${what} failed: ${http}`);
}

/** A request rejects for network trouble only (refused, reset, DNS, TLS): transient, except a bad certificate. */
function networkError(what: string, err: unknown): Error {
  const why = networkReason(err);
  if (CERT_TROUBLE.test(why)) return new GitError(`${what} failed: TLS certificate not accepted (${why})`);
  return new TransientError(`${what} failed: ${why}`);
}
