// HTTP to the outside, the one stack for every call the sweep makes itself (the upstream ref listing, the
// Gitea API, the CI servers, the notify webhooks): Node's own http/https with keep-alive agents, direct or
// through the proxy the environment names (curl's, so git's, rules: proxyFor, bypassesProxy), trusting the
// CA files git is told of. Every connection attempt belongs to one request and its deadline: a proxy that
// drops or refuses a CONNECT costs one failed request, never a reconnect loop (undici's proxy agent
// reconnected in a hot loop there, thousands of connections a second, until the caller's deadline).
import { readdirSync } from 'node:fs';
import http, { type IncomingHttpHeaders, STATUS_CODES } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { connect as connectTls, createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { ConfigError } from '../core/errors.js';
import { readRegularText } from './fs/read-file.js';
import { scrub } from './log.js';
import { later } from './timers.js';

/** `https://user:pw@host/x` -> `https://***@host/x`: what every message shows (credentials end at the authority's last '@'). */
export function shownUrl(url: string): string {
  return scrub(url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^\s/?#]*@/i, '$1***@'));
}

/**
 * The proxy curl (and so git) would use for `url`: https_proxy/HTTPS_PROXY for https, http_proxy (lower
 * case only: a CGI request can set HTTP_PROXY) for http, then all_proxy/ALL_PROXY for either;
 * no_proxy/NO_PROXY for exceptions. A proxy without a scheme is an HTTP proxy, as for curl.
 */
export function proxyFor(env: NodeJS.ProcessEnv, url: string): { proxy?: string; noProxy: string; from?: string } {
  const names = /^https:/i.test(url) ? ['https_proxy', 'HTTPS_PROXY'] : ['http_proxy'];
  const from = [...names, 'all_proxy', 'ALL_PROXY'].find((n) => env[n] !== undefined && env[n] !== '');
  // git hands curl no_proxy if it is set at all (an empty one too), else NO_PROXY.
  const noProxy = env.no_proxy ?? env.NO_PROXY ?? '';
  if (!from) return { noProxy };
  const raw = env[from]!;
  return { proxy: raw.includes('://') ? raw : `http://${raw}`, noProxy, from };
}

/** The proxy a request for `url` goes through once no_proxy is applied (and the variable that named it), or none. */
export function proxyInEffect(env: NodeJS.ProcessEnv, url: string): { proxy: string; from: string } | undefined {
  const found = proxyFor(env, url);
  if (!found.proxy || !found.from) return undefined;
  try {
    if (bypassesProxy(found.noProxy, new URL(url), url)) return undefined;
  } catch {
    // not a URL: the request itself will say so
  }
  return { proxy: found.proxy, from: found.from };
}

/**
 * What is wrong with the proxy in effect for `url`, if it cannot carry our requests: not an http(s) proxy
 * (socks5://…: git, through curl, can use one; this stack cannot) or not a URL. Undefined when usable.
 */
export function proxyProblem(env: NodeJS.ProcessEnv, url: string): string | undefined {
  const p = proxyInEffect(env, url);
  if (!p) return undefined;
  if (!/^https?:\/\//i.test(p.proxy)) return `${p.from} is not an http(s) proxy (${shownUrl(p.proxy)})`;
  try {
    new URL(p.proxy);
  } catch {
    return `${p.from} is not a valid proxy URL (${shownUrl(p.proxy)})`;
  }
  return undefined;
}

/**
 * At the start of a command: a configured endpoint (`what`, e.g. "the Gitea API") whose proxy this stack
 * cannot use is a configuration error (exit 2) naming the variable and the fix, not a failure per request.
 * A host that no_proxy exempts is reached directly and never refused.
 */
export function refuseUnusableProxy(env: NodeJS.ProcessEnv, url: string, what: string): void {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return; // not a URL: whoever configured it says so, not the proxy check
  }
  const problem = proxyProblem(env, url);
  if (!problem) return;
  // An IPv6 address as written in the URL: what curl's no_proxy compares (bypassesProxy).
  const host = writtenIpv6(url) ?? target.hostname.replace(/^\[(.*)\]$/, '$1');
  const from = proxyInEffect(env, url)!.from;
  const fix = /^all_proxy$/i.test(from)
    ? `set ${target.protocol === 'https:' ? 'https_proxy' : 'http_proxy'} to an http:// or https:// proxy`
    : `make ${from} an http:// or https:// proxy`;
  throw new ConfigError(`${problem}, and ${what} (${shownUrl(target.origin)}) would go through it: ${fix}, or add ${host} to no_proxy`);
}

/**
 * curl's no_proxy rules, as the libcurl git links here (7.88) applies them (checked against `curl` and
 * `git ls-remote` with a recording proxy): `*` exempts every host only as the whole value; entries are
 * separated by commas, spaces or tabs. For a host name an entry matches the name itself or any name under
 * it (`example.org` and `.example.org` match `git.example.org`; `*.example.org` matches nothing); case and
 * one trailing dot do not matter. For an IPv4 address an entry is an address or a CIDR range
 * (`10.0.0.0/8`; no bits, `/0` or `/32`: that address only; over 32: nothing); no suffix match. An IPv6
 * address is compared as the text written in the URL, brackets off (`::1` matches `http://[::1]/`;
 * `[::1]`, `::1/128` and ranges do not: that curl does not parse them). A `:port` in an entry never
 * matches (curl compares host names only). `raw` is the URL as written, for the IPv6 text.
 */
export function bypassesProxy(noProxy: string, target: URL, raw?: string): boolean {
  if (noProxy === '*') return true;
  const v6 = /^\[(.*)\]$/.exec(target.hostname);
  const written = v6 && raw ? writtenIpv6(raw) : undefined;
  const host = (v6 ? written ?? v6[1]! : target.hostname.replace(/\.$/, '')).toLowerCase();
  const v4 = !v6 && isIP(host) === 4 ? ipv4(host) : undefined;
  for (const token of noProxy.split(/[ \t,]+/)) {
    if (token === '') continue;
    if (v4 !== undefined) {
      if (cidr4Matches(v4, token)) return true;
      continue;
    }
    const entry = token.toLowerCase().replace(/\.$/, '').replace(/^\./, '');
    if (entry === '') continue;
    if (host === entry || (host.length > entry.length && host.endsWith(`.${entry}`))) return true;
  }
  return false;
}

/** The IPv6 address of a URL as written (`http://[0:0::1]/` -> `0:0::1`; Node's URL would say `::1`). */
function writtenIpv6(url: string): string | undefined {
  return /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#]*@)?\[([^\]]*)\]/i.exec(url)?.[1];
}

function ipv4(text: string): number {
  return text.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

/** curl's IPv4 check: `a.b.c.d` or `a.b.c.d/bits` (bits as C's atoi reads them). */
function cidr4Matches(address: number, token: string): boolean {
  const slash = token.indexOf('/');
  const net = slash < 0 ? token : token.slice(0, slash);
  const bits = slash < 0 ? 0 : Number(/^\s*([+-]?\d+)/.exec(token.slice(slash + 1))?.[1] ?? 0);
  if (bits < 0 || bits > 32 || isIP(net) !== 4) return false;
  if (bits === 0 || bits === 32) return ipv4(net) === address;
  const shift = 32 - bits;
  return Math.floor(ipv4(net) / 2 ** shift) === Math.floor(address / 2 ** shift);
}

/**
 * The reply bodies all requests in flight hold in memory together (the ref listings of a plan, 16 at a
 * time by default, and the API clients) are bounded by one budget, not only each by its own cap: 16
 * hostile replies would otherwise hold 16 caps. Bytes are counted as they arrive and given back when the
 * body is parsed (synchronously, so at most one decompressed copy exists beyond the budget at a time).
 * When a chunk does not fit, the largest holder is stopped: the reply growing past everyone else's, which
 * normal replies never are (a ref listing of 10 000 tags is under 2 MiB: 16 of them use half the budget).
 */
export class ReplyBudget {
  private readonly holders = new Map<BudgetHold, number>();
  private total = 0;
  private highest = 0;
  constructor(readonly limit: number) {}

  /** Bytes held now, and the most ever held at once (for tests and the benchmark). */
  held(): number {
    return this.total;
  }
  peak(): number {
    return this.highest;
  }

  /** One reply's account; `stop` ends that reply when another needs the room (it then reads `stopped`). */
  open(stop: () => void): BudgetHold {
    const hold: BudgetHold = {
      limit: this.limit,
      size: 0,
      stopped: false,
      take: (n: number): boolean => {
        if (hold.stopped) return false;
        while (this.total + n > this.limit) {
          let largest = hold;
          let largestSize = hold.size + n;
          for (const [h, size] of this.holders) {
            if (h !== hold && size > largestSize) [largest, largestSize] = [h, size];
          }
          if (largest === hold) return false; // the caller fails this reply itself
          this.evict(largest);
        }
        hold.size += n;
        this.holders.set(hold, hold.size);
        this.total += n;
        this.highest = Math.max(this.highest, this.total);
        return true;
      },
      release: () => {
        this.total -= this.holders.get(hold) ?? 0;
        this.holders.delete(hold);
      },
    };
    stops.set(hold, stop);
    return hold;
  }

  private evict(h: BudgetHold): void {
    h.release();
    h.stopped = true;
    stops.get(h)?.();
  }
}

export interface BudgetHold {
  /** The budget's limit, for messages. */
  limit: number;
  size: number;
  /** Stopped to make room for a smaller reply. */
  stopped: boolean;
  /** Counts `n` more bytes; false when they do not fit and this reply is the largest (fail it). */
  take(n: number): boolean;
  release(): void;
}

const stops = new WeakMap<BudgetHold, () => void>();

/** The budget every reply body of this process shares: 64 MiB, also the most one reply may be. */
export const REPLY_BUDGET_BYTES = 64 * 1024 * 1024;
export const replyBudget = new ReplyBudget(REPLY_BUDGET_BYTES);

/** One request's reply: status, headers and the body, read or discarded. */
export interface Reply {
  status: number;
  header(name: string): string | undefined;
  body: AsyncIterable<Buffer>;
  discard(): Promise<void>;
  destroy(): void;
}

export interface SendInit {
  method: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** Sends one request (no redirect followed) and resolves with the reply's head; rejects for network trouble. */
export type Send = (target: URL, init: SendInit, signal: AbortSignal) => Promise<Reply>;

/** The proxy refused or broke a request: `auth` for 407, `final` when retrying cannot help, else transient. */
export class ProxyTrouble extends Error {
  constructor(message: string, readonly kind: 'auth' | 'final' | 'transient') {
    super(message);
  }
}

// One transport per setting for the whole process: its keep-alive connections stay open between requests.
const transports = new Map<string, Send>();

/** The transport for `url` under `env`'s proxy and CA settings, direct or through the proxy in effect. */
export function transportFor(env: NodeJS.ProcessEnv, url: string): Send {
  const target = new URL(url);
  const proxy = proxyInEffect(env, url)?.proxy;
  // The CA files are read only for https: a plain-http forge costs no certificate parsing (time and memory).
  const isHttps = target.protocol === 'https:';
  const proxyIsHttps = proxy !== undefined && /^https:/i.test(proxy);
  const needCas = isHttps || proxyIsHttps;
  const cas = needCas ? CA_FILES.map((k) => env[k]).filter((v): v is string => !!v) : [];
  const caDir = needCas ? env.SSL_CERT_DIR : undefined;
  const key = `${isHttps}\n${proxy ?? ''}\n${cas.join('\n')}\n${caDir ?? ''}`;
  let send = transports.get(key);
  if (!send) {
    const tls = trustedCas(cas, caDir);
    send = proxy ? proxiedSend(isHttps, parseProxy(proxy), tls) : directSend(isHttps, tls);
    transports.set(key, send);
  }
  return send;
}

interface ProxySpec {
  url: URL;
  /** As every message shows it: `http://***@host:port`, never the credentials. */
  shown: string;
  /** The host to connect to: an IPv6 literal without its brackets (URL keeps them; a lookup of `[::1]` fails). */
  host: string;
  port: number;
  /** `Proxy-Authorization` when the proxy URL carries user:password. */
  auth?: string;
}

/**
 * `Basic …` for the user and password of `url` (as a URL parser keeps them, percent-encoded). Each %XX is
 * the byte it names; a % that starts no %XX is sent as written, as git and curl do (decodeURIComponent
 * throws there, and the request failed as if the network had).
 */
export function basicAuth(url: URL): string {
  const bytes = (s: string) => Buffer.concat(s.split(/(%[0-9a-f]{2})/i).map((part) =>
    /^%[0-9a-f]{2}$/i.test(part) ? Buffer.from([parseInt(part.slice(1), 16)]) : Buffer.from(part)));
  return `Basic ${Buffer.concat([bytes(url.username), Buffer.from(':'), bytes(url.password)]).toString('base64')}`;
}

/** curl's (so git's) port for an http proxy named without one (`http://proxy.example`, `proxy.example`): not 80. */
const CURL_PROXY_PORT = 1080;

/** The port as written (URL drops a scheme's default one: `http://proxy:80` has port '' there, 80 for curl). */
function writtenPort(raw: string): number | undefined {
  const port = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#]*@)?(?:\[[^\]]*\]|[^/?#:]*):(\d+)/i.exec(raw)?.[1];
  return port === undefined ? undefined : Number(port);
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
    ? basicAuth(url)
    : undefined;
  const shown = `${url.protocol}//${auth ? '***@' : ''}${url.host}`;
  return { url, shown, host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: writtenPort(raw) ?? (url.protocol === 'https:' ? 443 : CURL_PROXY_PORT), ...(auth ? { auth } : {}) };
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

/** Methods a server must treat alike when sent twice: only those are sent again without asking the caller. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/**
 * One request as a Reply. An idempotent request that fails before any reply on a kept-alive socket the
 * server had already closed (ECONNRESET, EPIPE: the server closed it after its last reply without saying
 * so) is sent once more, at once and quietly, on a fresh connection, as curl does; only a second failure
 * goes to the caller. A POST or PATCH is never sent again here: the caller's retry policy decides.
 */
function send(request: Requester, opts: https.RequestOptions, body: Buffer | undefined, signal: AbortSignal, check?: (status: number) => Error | undefined): Promise<Reply> {
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
    req.end(body);
  });
  return attempt(IDEMPOTENT.has((opts.method ?? 'GET').toUpperCase()));
}

function headersWithLength(init: SendInit): Record<string, string> {
  return init.body !== undefined ? { ...init.headers, 'Content-Length': String(init.body.length) } : init.headers;
}

function directSend(isHttps: boolean, tls: { secureContext: SecureContext } | undefined): Send {
  // Idle sockets are kept for reuse but never hold the process open (Node unrefs them).
  const agent = isHttps ? new https.Agent({ keepAlive: true, ...tls }) : new http.Agent({ keepAlive: true });
  const client = isHttps ? https : http;
  return (target, init, signal) =>
    send((o, s) => client.request(target, { ...o, signal: s }), { agent, headers: headersWithLength(init), method: init.method }, init.body, signal);
}

/**
 * Through a proxy. An http target: the absolute URL is asked of the proxy, over keep-alive connections to
 * it. An https target: a CONNECT tunnel per connection, TLS to the target inside it (its name, the CAs of
 * the direct path); the tunnels are kept alive per origin by an agent that opens them asynchronously.
 */
function proxiedSend(isHttps: boolean, p: ProxySpec, tls: { secureContext: SecureContext } | undefined): Send {
  const toProxy = p.url.protocol === 'https:' ? https : http;
  const proxyTls = p.url.protocol === 'https:' ? { ...tls, ...(isIP(p.host) ? {} : { servername: p.host }) } : {};
  if (!isHttps) {
    const agent = p.url.protocol === 'https:' ? new https.Agent({ keepAlive: true, ...proxyTls }) : new http.Agent({ keepAlive: true });
    return (target, init, signal) => send(
      (o, s) => toProxy.request({ ...o, signal: s }),
      {
        agent, method: init.method, host: p.host, port: p.port, path: target.href,
        headers: { ...headersWithLength(init), Host: target.host, ...(p.auth ? { 'Proxy-Authorization': p.auth } : {}) },
      },
      init.body,
      signal,
      (status) => (status === 407 ? proxyRefusal(p, status, 'request') : undefined),
    ).catch((err: Error & { code?: string }) => {
      // Every socket error here is between us and the proxy: say so.
      if (err instanceof ProxyTrouble || signal.aborted) throw err;
      const why = networkReason(err);
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
      let secured = false;
      // The proxy said 200 and then ended the tunnel before TLS was up: that is the proxy's doing, say so
      // (TLS alone would only say ECONNRESET); the error reaches the request, whose catch below swaps it.
      const cut = () => new ProxyTrouble(`proxy ${p.shown} closed the tunnel to ${host}:${port} right after opening it`, 'transient');
      const secure = connectTls({ socket: raw, host, ...tls, ...(isIP(host) ? {} : { servername: host }) });
      secure.once('secureConnect', () => (secured = true));
      secure.on('error', (err: Error & { code?: string }) => {
        if (!secured && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) Object.assign(err, { tunnelCut: cut() });
      });
      secure.on('close', () => raw.destroy());
      done(null, secure);
    }, (err: Error) => done(err));
    return undefined;
  };
  return (target, init, signal) => send(
    (o, s) => https.request(target, { ...o, signal: s, [TUNNEL_SIGNAL]: s } as https.RequestOptions),
    { agent, headers: headersWithLength(init), method: init.method }, init.body, signal,
  ).catch((err: Error & { tunnelCut?: ProxyTrouble }) => {
    throw err.tunnelCut ?? err;
  });
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
      ...proxyTls, agent: false, host: p.host, port: p.port, method: 'CONNECT', path: authority,
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
      else if (/^HPE_/.test(err.code ?? '')) fail(new ProxyTrouble(`proxy ${p.shown} failed: ${networkReason(err)}`, 'transient'));
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
 * own roots and NODE_EXTRA_CA_CERTS, so a host git can reach through a private CA is reachable here too.
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

export const CERT_TROUBLE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT/i;

/** Why a request failed for network trouble, in one short scrubbed word or phrase (ECONNREFUSED, CERT_HAS_EXPIRED...). */
export function networkReason(err: unknown): string {
  // Node's http gives the socket's error directly; some wrap it in `cause`.
  const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
  const why = scrub(String(e.cause?.code ?? e.code ?? e.cause?.message ?? e.message ?? err));
  // Node's HTTP parser codes (HPE_INVALID_CONSTANT...): the other end is not speaking HTTP (a wrong port, SSH, TLS).
  return /^HPE_/.test(why) ? `the reply is not HTTP (${why})` : why;
}

// ---------------------------------------------------------------------------------------------------------
// A whole request: for the API and webhook clients (Gitea, CI, notify)

export interface HttpRequest {
  method?: string;
  /** Credentials only here (never in the URL): Authorization is dropped on a redirect to another origin. */
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Where the proxy and CA settings are read (the sweep's environment, never process.env). */
  env: NodeJS.ProcessEnv;
  /** Wall-clock deadline of the whole request, redirects and body included (ms); 0: none. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Largest body read (after decompression); default 32 MiB. */
  maxBytes?: number;
  /** Where the body's bytes are counted (default: the budget every reply of the process shares). */
  budget?: ReplyBudget;
  /** The body is not wanted (a webhook's answer): it is drained, never held, and `body` is empty. */
  discardBody?: boolean;
}

export interface HttpResponse {
  status: number;
  ok: boolean;
  header(name: string): string | undefined;
  /** The whole body, decompressed. */
  body: Buffer;
  text(): string;
}

/**
 * Why a request got no answer: `timeout` (our deadline), `stopped` (the caller's signal), `auth` (the
 * proxy refused our credentials, 407), `final` (a bad certificate, an unusable proxy, an endless redirect,
 * a reply too large: asking again cannot help), `transient` (refused, reset, DNS, a dropped tunnel).
 * The message never holds a credential: proxies are shown as `http://***@host:port`.
 */
export class HttpTrouble extends Error {
  override readonly name = 'HttpTrouble';
  constructor(message: string, readonly kind: 'timeout' | 'stopped' | 'auth' | 'final' | 'transient') {
    super(message);
  }
}

/** git has curl follow at most 20 redirects (CURLOPT_MAXREDIRS), as fetch does. */
export const MAX_REDIRECTS = 20;
const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

/**
 * One request with its whole reply, through the transport of its URL. Redirects are followed as fetch
 * does (at most 20; 303, and 301/302 after a POST, become a GET without body; Authorization is not sent
 * to another origin). One attempt: no retry here, the caller's policy decides.
 */
export async function httpRequest(url: string, r: HttpRequest): Promise<HttpResponse> {
  const deadline = new AbortController();
  const timer = r.timeoutMs > 0 ? later(() => deadline.abort(), r.timeoutMs) : undefined;
  const signal = r.signal ? AbortSignal.any([deadline.signal, r.signal]) : deadline.signal;
  const failed = (err: unknown): HttpTrouble => {
    if (err instanceof HttpTrouble) return err;
    if (r.signal?.aborted) return new HttpTrouble('stopped', 'stopped');
    if (deadline.signal.aborted) return new HttpTrouble(`timed out after ${r.timeoutMs} ms`, 'timeout');
    if (err instanceof ProxyTrouble) return new HttpTrouble(err.message, err.kind);
    const why = networkReason(err);
    if (CERT_TROUBLE.test(why)) return new HttpTrouble(`TLS certificate not accepted (${why})`, 'final');
    return new HttpTrouble(why, 'transient');
  };
  const maxBytes = r.maxBytes ?? DEFAULT_MAX_BYTES;
  try {
    if (r.signal?.aborted) throw new HttpTrouble('stopped', 'stopped');
    let target = new URL(url);
    const firstOrigin = target.origin;
    let method = (r.method ?? 'GET').toUpperCase();
    let body = typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
    let headers: Record<string, string> = { 'Accept-Encoding': 'gzip, deflate', ...r.headers };
    // user:password written in the URL go as a header (never in a request line a proxy sees), to that origin only.
    if (target.username || target.password) {
      if (!Object.keys(headers).some((k) => k.toLowerCase() === 'authorization')) {
        headers.Authorization = basicAuth(target);
      }
      target.username = '';
      target.password = '';
    }
    for (let hop = 0; ; hop++) {
      const problem = proxyProblem(r.env, target.href);
      if (problem) throw new HttpTrouble(`${problem}; use an http(s) proxy or add the host to no_proxy`, 'final');
      const sent = target.origin === firstOrigin ? headers : withoutHeader(headers, 'authorization');
      const res = await transportFor(r.env, target.href)(target, { method, headers: sent, ...(body ? { body } : {}) }, signal);
      const location = res.header('location');
      if (res.status >= 300 && res.status < 400 && res.status !== 304 && location) {
        await res.discard();
        if (hop >= MAX_REDIRECTS) throw new HttpTrouble(`more than ${MAX_REDIRECTS} redirects`, 'final');
        let next: URL;
        try {
          next = new URL(location, target);
        } catch {
          throw new HttpTrouble('redirected to an invalid URL', 'final');
        }
        if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new HttpTrouble(`redirected to a ${next.protocol} URL`, 'final');
        next.username = ''; // never credentials a redirect hands us
        next.password = '';
        if (res.status === 303 ? method !== 'GET' && method !== 'HEAD' : (res.status === 301 || res.status === 302) && method === 'POST') {
          method = 'GET';
          body = undefined;
          headers = withoutHeader(withoutHeader(headers, 'content-type'), 'content-length');
        }
        target = next;
        continue;
      }
      let decoded: Buffer = Buffer.alloc(0);
      if (r.discardBody) await res.discard();
      else {
        const hold = (r.budget ?? replyBudget).open(() => res.destroy());
        try {
          decoded = decompress(await readAll(res, maxBytes, hold), res.header('content-encoding'), maxBytes);
        } finally {
          hold.release();
        }
      }
      return {
        status: res.status,
        ok: res.status >= 200 && res.status < 300,
        header: (name) => res.header(name),
        body: decoded,
        text: () => decoded.toString('utf8'),
      };
    }
  } catch (err) {
    throw failed(err);
  } finally {
    clearTimeout(timer);
  }
}

function withoutHeader(headers: Record<string, string>, name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== name));
}

async function readAll(res: Reply, maxBytes: number, hold: BudgetHold): Promise<Buffer> {
  return readWithin(res, maxBytes, hold, (size, over) => new HttpTrouble(over === 'reply'
    ? `the reply is larger than ${mib(maxBytes)} MiB`
    : `the reply is too large (over ${mib(size)} MiB, while the replies in flight may hold ${mib(hold.limit)} MiB together)`, 'final'));
}

/**
 * Every byte of a reply, within `maxBytes` for this reply and within what `hold` may take of the budget all
 * replies in flight share. Beyond either, the reply is destroyed and `tooLarge` says which (`size`: bytes
 * read so far), also when the budget stopped this reply to let another go on. `progress` sees each chunk.
 */
export async function readWithin(
  res: Reply, maxBytes: number, hold: BudgetHold, tooLarge: (size: number, over: 'reply' | 'budget') => Error, progress?: (n: number) => void,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let refused: Error | null = null;
  try {
    for await (const chunk of res.body) {
      progress?.(chunk.length);
      size += chunk.length;
      const over = size > maxBytes ? 'reply' : hold.take(chunk.length) ? null : 'budget';
      if (over) {
        res.destroy();
        throw (refused = tooLarge(size, over));
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err !== refused && hold.stopped) throw tooLarge(size, 'budget');
    throw err;
  }
  if (hold.stopped) throw tooLarge(size, 'budget');
  return Buffer.concat(chunks);
}

/** Bytes in MiB for a message: whole, or one decimal below 10. */
export function mib(bytes: number): string {
  const m = bytes / 1024 / 1024;
  return m >= 10 ? String(Math.round(m)) : String(Math.round(m * 10) / 10);
}

/** The content codings a reply may come in, and how each is undone. */
const DECODERS = { gzip: gunzipSync, 'x-gzip': gunzipSync, deflate: inflateSync, br: brotliDecompressSync } as const;
export type Coding = keyof typeof DECODERS;

/**
 * `body` with its content coding undone (at most `maxBytes` out) when `accepted` holds it; an identity
 * coding returns it as it came, another coding null. A body that is not what its coding says throws.
 */
export function undoCoding(body: Buffer, encoding: string | undefined, maxBytes: number, accepted: readonly Coding[]): Buffer | null {
  const e = (encoding ?? '').trim().toLowerCase();
  if (e === '' || e === 'identity') return body;
  return accepted.includes(e as Coding) ? DECODERS[e as Coding](body, { maxOutputLength: maxBytes }) : null;
}

/** gzip, deflate and br are undone (as fetch does); an unknown coding is passed on as it came. */
function decompress(body: Buffer, encoding: string | undefined, maxBytes: number): Buffer {
  try {
    return undoCoding(body, encoding, maxBytes, ['gzip', 'x-gzip', 'deflate', 'br']) ?? body;
  } catch (err) {
    throw new HttpTrouble(`the ${(encoding ?? '').trim().toLowerCase()} reply could not be decompressed (${(err as Error).message})`, 'final');
  }
}
