// A loopback HTTP proxy for the proxy tests: it tunnels CONNECT and, with `forward`, also relays plain
// absolute-URL requests; every request is recorded in `seen` as `CONNECT host:port` or `METHOD url`.
// Without `forward` a plain request is refused (405), so a client that skipped the tunnel fails visibly.
// With `auth` (user:password) a request without that `Proxy-Authorization: Basic` is answered 407.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { closeServer } from './http.js';

export interface TestProxy {
  url: string;
  seen: string[];
  close: () => Promise<void>;
}

/** `listen`: the address it listens on (default 127.0.0.1; `::1` for a proxy named by an IPv6 literal); `port` (default any free one). */
export async function startProxy(opts: { forward?: boolean; auth?: string; listen?: string; port?: number } = {}): Promise<TestProxy> {
  const seen: string[] = [];
  const wanted = opts.auth ? `Basic ${Buffer.from(opts.auth).toString('base64')}` : undefined;
  const server = http.createServer((req, res) => {
    if (wanted && req.headers['proxy-authorization'] !== wanted) {
      seen.push(`407 ${req.method} ${req.url}`);
      res.writeHead(407, { 'Proxy-Authenticate': 'Basic realm="test"' }).end();
      return;
    }
    if (!opts.forward) {
      res.writeHead(405).end();
      return;
    }
    seen.push(`${req.method} ${req.url}`);
    const u = new URL(req.url ?? '');
    const { 'proxy-authorization': _, ...headers } = req.headers;
    const up = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: req.method, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  // A tunnel leaves the server's books (closeAllConnections does not see it): kept here to end it on close.
  const tunnels = new Set<net.Socket>();
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    tunnels.add(client);
    client.on('close', () => tunnels.delete(client));
    if (wanted && req.headers['proxy-authorization'] !== wanted) {
      seen.push(`407 CONNECT ${req.url}`);
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    const target = net.connect(Number(port), host, () => {
      client.on('close', () => target.destroy());
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      target.write(head);
      target.pipe(client);
      client.pipe(target);
    });
    target.on('error', () => client.destroy());
    client.on('error', () => target.destroy());
  });
  const listen = opts.listen ?? '127.0.0.1';
  await new Promise<void>((r) => server.listen(opts.port ?? 0, listen, r));
  const shownHost = listen.includes(':') ? `[${listen}]` : listen;
  return { url: `http://${shownHost}:${(server.address() as AddressInfo).port}`, seen, close: () => {
    for (const t of tunnels) t.destroy();
    return closeServer(server);
  } };
}

/**
 * A "proxy" that accepts TCP and then drops every request on it (a CONNECT or a plain one), or, `silent`,
 * never answers at all: counts connections.
 */
export async function dropper(mode: 'drop' | 'silent' = 'drop') {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('error', () => undefined);
    if (mode === 'drop') s.once('data', () => s.destroy());
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as AddressInfo).port,
    connections: () => connections,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      srv.close(() => r());
    }),
  };
}
