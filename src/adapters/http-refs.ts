// Listing a remote's refs over smart HTTP in-process: one `GET <repo>/info/refs?service=git-upload-pack`
// per repository (protocol v0: the advertisement carries every ref, the peeled `^{}` ids and HEAD's
// symref), over keep-alive connections pooled for the whole process (one TLS handshake per forge, not per
// recipe). `git ls-remote` costs two processes and, with protocol v2, two requests per repository; on a
// small host those, not the network, set the pace of a plan. The result equals `git ls-remote`'s parse.
//
// Errors are classed as the git adapter's are: network trouble, timeouts and HTTP 5xx/429 are transient
// (retried with the policy given), 401/403 are AuthFailure, any other answer is final; every message is
// one line with the URL's password removed. The mirror token goes out as `Authorization: token <T>` to
// the mirror's own origin only (never to a redirect elsewhere), never in a URL, never logged.
import { readdirSync } from 'node:fs';
import { readRegularText } from './fs/read-file.js';
import http, { type IncomingHttpHeaders, STATUS_CODES } from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { gunzipSync, inflateSync } from 'node:zlib';
import { connect as connectTls, createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { AdvertisementError, onlyTags, parseAdvertisement, type AdvertisedRefs } from '../core/ref-advertisement.js';
import { GitError } from '../core/errors.js';
import { mayAct } from './effects.js';
import type { Logger } from './log.js';
import { scrub } from './log.js';
import { AuthFailure, TransientError, withRetry, type RetryPolicy } from './retry.js';
import { later } from './timers.js';

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
}

/** The server is not a smart-HTTP git server (a "dumb" one serves info/refs as a file): let git list it. */
export class NotSmartHttp extends Error {}

const MAX_REDIRECTS = 10;
/** An advertisement of 100 000 tags is ~10 MiB; anything far beyond that is not a ref list. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const USER_AGENT = 'git/ccci-sweep';

/** `https://user:pw@host/x` -> `https://***@host/x`: what every message shows. */
export function shownUrl(url: string): string {
  return scrub(url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/i, '$1***@'));
}

/**
 * The proxy curl (and so git) would use for `url`: https_proxy/HTTPS_PROXY for https, http_proxy (lower
 * case only: a CGI request can set HTTP_PROXY) for http, then all_proxy/ALL_PROXY for either;
 * no_proxy/NO_PROXY for exceptions. A proxy without a scheme is an HTTP proxy, as for curl.
 */
export function proxyFor(env: NodeJS.ProcessEnv, url: string): { proxy?: string; noProxy: string; from?: string } {
  const names = /^https:/i.test(url) ? ['https_proxy', 'HTTPS_PROXY'] : ['http_proxy'];
  const from = [...names, 'all_proxy', 'ALL_PROXY'].find((n) => env[n] !== undefined && env[n] !== '');
  const noProxy = ['no_proxy', 'NO_PROXY'].map((n) => env[n]).find((v) => v !== undefined && v !== '') ?? '';
  if (!from) return { noProxy };
  const raw = env[from]!;
  return { proxy: raw.includes('://') ? raw : `http://${raw}`, noProxy, from };
}

/** One GET's reply: status, headers and the body, read or discarded. */
interface Reply {
  status: number;
  header(name: string): string | undefined;
  body: AsyncIterable<Buffer>;
  discard(): Promise<void>;
  destroy(): void;
}

type Get = (target: URL, headers: Record<string, string>, signal: AbortSignal) => Promise<Reply>;

// One transport per setting for the whole process: its keep-alive connections stay open between recipes.
const transports = new Map<string, Get>();

/**
 * Node's own http/https with keep-alive agents, direct or through an HTTP(S) proxy: nothing to load, no
 * parser to compile (which on a plan is a tenth of its time), and every connection attempt is one request
 * under listOnce's deadline: a proxy that drops connections costs one failed attempt, never a reconnect loop
 * (undici's proxy agent reconnected in a hot loop there and ignored every deadline).
 */
function transportFor(env: NodeJS.ProcessEnv, url: string): Get {
  const target = new URL(url);
  const found = proxyFor(env, url);
  const proxy = found.proxy && !bypassesProxy(found.noProxy, target) ? found.proxy : undefined;
  // The CA files are read only for https: a plain-http forge costs no certificate parsing (time and memory).
  const isHttps = target.protocol === 'https:';
  const proxyIsHttps = proxy !== undefined && /^https:/i.test(proxy);
  const needCas = isHttps || proxyIsHttps;
  const cas = needCas ? CA_FILES.map((k) => env[k]).filter((v): v is string => !!v) : [];
  const caDir = needCas ? env.SSL_CERT_DIR : undefined;
  const key = `${isHttps}\n${proxy ?? ''}\n${cas.join('\n')}\n${caDir ?? ''}`;
  let get = transports.get(key);
  if (!get) {
    const tls = trustedCas(cas, caDir);
    get = proxy ? proxiedGet(isHttps, parseProxy(proxy), tls) : nodeGet(isHttps, tls);
    transports.set(key, get);
  }
  return get;
}

/**
 * curl's no_proxy rules: entries separated by commas or spaces; `*` alone is every host; an entry matches
 * the host itself or any host under it (`example.org`, `.example.org` and `*.example.org` all match
 * `git.example.org`); an optional `:port` limits it to that port; case does not matter; an IPv6 address
 * may be written in brackets.
 */
export function bypassesProxy(noProxy: string, target: URL): boolean {
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    let only: string | undefined;
    const v6 = /^\[([^\]]*)\](?::(\d+))?$/.exec(entry);
    const withPort = /^([^:]*):(\d+)$/.exec(entry); // one colon: host:port (a bare IPv6 address has several)
    if (v6) [, entry, only] = v6 as unknown as [string, string, string | undefined];
    else if (withPort) [, entry, only] = withPort as unknown as [string, string, string];
    if (only !== undefined && only !== port) continue;
    entry = entry.replace(/^\*?\./, '').replace(/\.$/, '');
    if (entry !== '' && (host === entry || host.endsWith(`.${entry}`))) return true;
  }
  return false;
}

interface ProxySpec {
  url: URL;
  /** As every message shows it: `http://***@host:port`, never the credentials. */
  shown: string;
  port: number;
  /** `Proxy-Authorization` when the proxy URL carries user:password. */
  auth?: string;
}

function parseProxy(raw: string): ProxySpec {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ProxyTrouble(`the proxy ${shownUrl(raw)} is not a valid URL`, 'final');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ProxyTrouble(`the proxy ${shownUrl(raw)} is not an http(s) proxy`, 'final');
  const auth = url.username || url.password
    ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
    : undefined;
  const shown = `${url.protocol}//${auth ? '***@' : ''}${url.host}`;
  return { url, shown, port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80), ...(auth ? { auth } : {}) };
}

/** The proxy refused or broke a request: `final` for 403/407 (retrying cannot help), else transient. */
class ProxyTrouble extends Error {
  constructor(message: string, readonly kind: 'auth' | 'final' | 'transient') {
    super(message);
  }
}

function proxyRefusal(p: ProxySpec, status: number, what: string): ProxyTrouble {
  const http = `HTTP ${status}${STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : ''}`;
  if (status === 407) {
    return new ProxyTrouble(`proxy ${p.shown} ${p.auth ? 'refused the credentials' : 'wants credentials, none are in the proxy URL'} (${http})`, 'auth');
  }
  const kind = status === 403 ? 'final' : status >= 500 || status === 429 ? 'transient' : 'final';
  return new ProxyTrouble(`proxy ${p.shown} refused the ${what} (${http})`, kind);
}

type Requester = (opts: https.RequestOptions, signal: AbortSignal) => http.ClientRequest;

/**
 * One GET as a Reply. A request that fails before any reply on a kept-alive socket the server had already
 * closed (ECONNRESET, EPIPE: the server closed it after its last reply without saying so) is sent once more,
 * at once and quietly, on a fresh connection, as curl does; only a second failure goes to the retry policy.
 */
function send(request: Requester, opts: https.RequestOptions, signal: AbortSignal, check?: (status: number) => Error | undefined): Promise<Reply> {
  const attempt = (again: boolean): Promise<Reply> => new Promise<Reply>((resolve, reject) => {
    let replied = false;
    const req = request(opts, signal);
    req.on('response', (res) => {
      replied = true;
      const refused = check?.(res.statusCode ?? 0);
      if (refused) {
        res.resume();
        reject(refused);
        return;
      }
      resolve({
        status: res.statusCode ?? 0,
        header: (name) => first(res.headers[name.toLowerCase()]),
        body: res,
        discard: () => new Promise<void>((done) => {
          res.on('end', done).on('error', () => done()).on('close', done).resume();
        }),
        destroy: () => res.destroy(),
      });
    });
    req.on('error', (err: Error & { code?: string }) => {
      if (again && !replied && req.reusedSocket && !signal.aborted && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
        resolve(attempt(false));
        return;
      }
      reject(err);
    });
    req.end();
  });
  return attempt(true);
}

function nodeGet(isHttps: boolean, tls: { secureContext: SecureContext } | undefined): Get {
  // Idle sockets are kept for reuse but never hold the process open (Node unrefs them).
  const agent = isHttps ? new https.Agent({ keepAlive: true, ...tls }) : new http.Agent({ keepAlive: true });
  const client = isHttps ? https : http;
  return (target, headers, signal) => send((o, s) => client.request(target, { ...o, signal: s }), { agent, headers, method: 'GET' }, signal);
}

/**
 * Through a proxy. An http target: the absolute URL is asked of the proxy, over keep-alive connections to
 * it. An https target: a CONNECT tunnel per connection, TLS to the target inside it (its name, the CAs of
 * the direct path); the tunnels are kept alive per origin by an agent that opens them asynchronously.
 */
function proxiedGet(isHttps: boolean, p: ProxySpec, tls: { secureContext: SecureContext } | undefined): Get {
  const toProxy = p.url.protocol === 'https:' ? https : http;
  const proxyTls = p.url.protocol === 'https:' ? { ...tls, ...(isIP(p.url.hostname) ? {} : { servername: p.url.hostname }) } : {};
  if (!isHttps) {
    const agent = p.url.protocol === 'https:' ? new https.Agent({ keepAlive: true, ...proxyTls }) : new http.Agent({ keepAlive: true });
    return (target, headers, signal) => send(
      (o, s) => toProxy.request({ ...o, signal: s }),
      {
        agent, method: 'GET', host: p.url.hostname, port: p.port, path: target.href,
        headers: { ...headers, Host: target.host, ...(p.auth ? { 'Proxy-Authorization': p.auth } : {}) },
      },
      signal,
      (status) => (status === 407 ? proxyRefusal(p, status, 'request') : undefined),
    ).catch((err: Error & { code?: string }) => {
      // Every socket error here is between us and the proxy: say so.
      if (err instanceof ProxyTrouble || signal.aborted) throw err;
      const why = scrub(err.code ?? err.message);
      if (CERT_TROUBLE.test(why)) throw new ProxyTrouble(`TLS certificate of proxy ${p.shown} not accepted (${why})`, 'final');
      throw new ProxyTrouble(`proxy ${p.shown} failed: ${why}`, 'transient');
    });
  }
  const agent = new https.Agent({ keepAlive: true, ...tls });
  // Node's Agent accepts an asynchronous createConnection (options, callback): the tunnel is opened first.
  (agent as unknown as { createConnection: unknown }).createConnection = (
    options: { host?: string; port?: number | string; [TUNNEL_SIGNAL]?: AbortSignal },
    done: (err: Error | null, socket?: Duplex) => void,
  ): undefined => {
    const host = options.host ?? 'localhost';
    const port = Number(options.port) || 443;
    openTunnel(toProxy, p, proxyTls, host, port, options[TUNNEL_SIGNAL]).then((raw) => {
      // `host` is the name the certificate is checked against (an IP address too); SNI only for a name.
      const secure = connectTls({ socket: raw, host, ...tls, ...(isIP(host) ? {} : { servername: host }) });
      secure.on('close', () => raw.destroy());
      done(null, secure);
    }, (err: Error) => done(err));
    return undefined;
  };
  return (target, headers, signal) => send(
    (o, s) => https.request(target, { ...o, signal: s, [TUNNEL_SIGNAL]: s } as https.RequestOptions),
    { agent, headers, method: 'GET' }, signal,
  );
}

/** Request options reach the agent's createConnection, the request's own `signal` does not: this one does. */
const TUNNEL_SIGNAL = 'ccciTunnelSignal';

/** CONNECT host:port through the proxy; resolves with the raw tunnel socket once the proxy said 200. */
function openTunnel(
  client: typeof http | typeof https, p: ProxySpec, proxyTls: object, host: string, port: number, signal: AbortSignal | undefined,
): Promise<Duplex> {
  return new Promise<Duplex>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const authority = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
    const req = client.request({
      ...proxyTls, agent: false, host: p.url.hostname, port: p.port, method: 'CONNECT', path: authority,
      headers: { Host: authority, ...(p.auth ? { 'Proxy-Authorization': p.auth } : {}) },
      ...(signal ? { signal } : {}),
    });
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    req.on('connect', (res: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        fail(proxyRefusal(p, res.statusCode ?? 0, 'tunnel'));
        return;
      }
      if (settled) {
        socket.destroy();
        return;
      }
      settled = true;
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    // Some answers to a CONNECT come as an ordinary response (no tunnel).
    req.on('response', (res) => {
      res.resume();
      fail(proxyRefusal(p, res.statusCode ?? 0, 'tunnel'));
    });
    req.on('error', (err: Error & { code?: string }) => {
      if (signal?.aborted) fail(err);
      else fail(new ProxyTrouble(`proxy ${p.shown} closed the connection before the tunnel was open (${scrub(err.code ?? err.message)})`, 'transient'));
    });
    req.on('close', () => fail(new ProxyTrouble(`proxy ${p.shown} closed the connection before the tunnel was open`, 'transient')));
    req.end();
  });
}

/** One header's value (the first, if repeated). */
function first(v: IncomingHttpHeaders[string]): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Certificate files git's TLS (curl, OpenSSL) may be told of: their certificates are trusted besides Node's
 * own roots and NODE_EXTRA_CA_CERTS, so a forge git can reach through a private CA is reachable here too.
 */
const CA_FILES = ['GIT_SSL_CAINFO', 'SSL_CERT_FILE', 'NIX_SSL_CERT_FILE', 'CURL_CA_BUNDLE', 'NODE_EXTRA_CA_CERTS'];

function trustedCas(files: string[], dir: string | undefined): { secureContext: SecureContext } | undefined {
  if (files.length === 0 && !dir) return undefined;
  const pems = new Set<string>();
  const add = (file: string) => {
    try {
      // Links are followed (CA folders are mostly links); a FIFO or device there is skipped, never read.
      const text = readRegularText(file, { follow: true, maxBytes: 16 * 1024 * 1024 });
      for (const m of text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)) pems.add(m[0]);
    } catch {
      // unreadable: git would not trust it either
    }
  };
  files.forEach(add);
  if (dir) {
    try {
      for (const name of readdirSync(dir)) add(path.join(dir, name));
    } catch {
      // no such directory
    }
  }
  // One context for every connection: the certificates are parsed once per process, not per handshake.
  return { secureContext: createSecureContext({ ca: [...rootCertificates, ...pems] }) };
}

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
  // git's own stall rule (GIT_HTTP_LOW_SPEED_TIME, the sweep's default 60 s): no data for that long ends it.
  const stallMs = (Number.parseInt(env.GIT_HTTP_LOW_SPEED_TIME ?? '', 10) || 60) * 1000;
  const deadline = new AbortController();
  const stall = new AbortController();
  const deadlineTimer = timeoutMs > 0 ? later(() => deadline.abort(), timeoutMs) : undefined;
  let stallTimer: NodeJS.Timeout | undefined;
  const progress = () => {
    clearTimeout(stallTimer);
    stallTimer = later(() => stall.abort(), stallMs);
  };
  const signal = AbortSignal.any([deadline.signal, stall.signal, ...(opts.signal ? [opts.signal] : [])]);
  const failed = (err: unknown): Error => {
    if (opts.signal?.aborted) return new GitError(`${what}: stopped, the sweep was stopped`);
    if (deadline.signal.aborted) return new TransientError(`${what}: timed out after ${timeoutMs} ms`);
    if (stall.signal.aborted) return new TransientError(`${what}: timed out, no data for ${stallMs / 1000} s`);
    if (err instanceof ProxyTrouble) {
      const message = `${what} failed: ${err.message}`;
      return err.kind === 'auth' ? new AuthFailure(message) : err.kind === 'final' ? new GitError(message) : new TransientError(message);
    }
    return networkError(what, err);
  };
  try {
    progress();
    let target = new URL(`${url.replace(/\/+$/, '')}/info/refs?service=git-upload-pack`);
    const tokenOrigin = opts.token && opts.authUrl ? new URL(opts.authUrl).origin : undefined;
    // Credentials written in the URL go in a header (never sent in the request line), to that origin only.
    const firstOrigin = target.origin;
    const basic = target.username || target.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`).toString('base64')}`
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
        res = await transportFor(env, target.href)(target, headers, signal);
      } catch (err) {
        throw failed(err);
      }
      progress();
      const location = res.header('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.discard();
        if (hop >= MAX_REDIRECTS) throw new GitError(`${what} failed: more than ${MAX_REDIRECTS} redirects`);
        const next = new URL(location, target);
        if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new GitError(`${what} failed: redirected to a ${next.protocol} URL`);
        target = next;
        continue;
      }
      if (res.status !== 200) {
        await res.discard();
        throw statusError(what, res.status, STATUS_CODES[res.status] ?? '', headers.Authorization !== undefined);
      }
      if (!/^application\/x-git-upload-pack-advertisement\b/i.test(res.header('content-type') ?? '')) {
        await res.discard();
        throw new NotSmartHttp(`${what}: not a smart-HTTP git server`);
      }
      const body = decoded(await readBody(res, progress, what), res.header('content-encoding'), what);
      try {
        return parseAdvertisement(body);
      } catch (err) {
        if (err instanceof AdvertisementError) throw new GitError(scrub(`${what} failed: ${err.message}`));
        throw err;
      }
    }
  } catch (err) {
    if (err instanceof GitError || err instanceof TransientError || err instanceof NotSmartHttp || err instanceof AuthFailure) throw err;
    throw failed(err);
  } finally {
    clearTimeout(deadlineTimer);
    clearTimeout(stallTimer);
  }
}

/**
 * We ask for no compression (no Accept-Encoding), but a proxy or forge may compress all the same; gzip and
 * deflate, which curl accepts for git, are undone here, anything else is a clear error.
 */
function decoded(body: Uint8Array, encoding: string | undefined, what: string): Uint8Array {
  const e = (encoding ?? '').trim().toLowerCase();
  try {
    if (e === '' || e === 'identity') return body;
    if (e === 'gzip' || e === 'x-gzip') return gunzipSync(body, { maxOutputLength: MAX_BODY_BYTES });
    if (e === 'deflate') return inflateSync(body, { maxOutputLength: MAX_BODY_BYTES });
  } catch (err) {
    throw new GitError(`${what} failed: the ${e} reply could not be decompressed (${(err as Error).message})`);
  }
  throw new GitError(`${what} failed: the reply is ${e}-encoded, which is not supported`);
}

async function readBody(res: Reply, progress: () => void, what: string): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    progress();
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      res.destroy();
      throw new GitError(`${what} failed: the ref advertisement is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
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

const CERT_TROUBLE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT/i;

/** A request rejects for network trouble only (refused, reset, DNS, TLS): transient, except a bad certificate. */
function networkError(what: string, err: unknown): Error {
  // Node's http gives the socket's error directly (ECONNREFUSED, CERT_HAS_EXPIRED...); some wrap it in `cause`.
  const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
  const why = scrub(String(e.cause?.code ?? e.code ?? e.cause?.message ?? e.message ?? err));
  if (CERT_TROUBLE.test(why)) return new GitError(`${what} failed: TLS certificate not accepted (${why})`);
  return new TransientError(`${what} failed: ${why}`);
}
